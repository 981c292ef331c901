"""Registry households straight into the policy engine's columns (``policy.inputs.Columns``), for the jobs that
evaluate many households at once (the monthly payroll: a million).

``registry.policy_input.household_inputs`` builds the JSON contract of docs/policy-input.md and
``policy.inputs.columns_from_json`` validates and converts it: right for one household or a few thousand, but
about a millisecond a household. Here two SQL statements give the same columns as integers — the database codes
every choice, turns amounts into 分 and dates into YYYYMMDD — and numpy assembles them; on PostgreSQL the rows
come by ``COPY … TO STDOUT (FORMAT csv)`` parsed by Arrow, so no Python object is made per person.

The result must equal the JSON path's exactly (``tests/test_columns.py`` compares them on random registries):
the same members (in the household on the day, not dead before it, born by it) in the same order, the same
defaults for a member or household without its economy row. A household the JSON path would reject (no or two
applicants, a disability without grade, a choice the engine does not know, an implausible number, a supporter
pointing at themself…) is not decided here: it is returned in ``fallback`` for the caller to put through the
JSON path, which names the field at fault."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection

from jiuzhu.policy import inputs as pin

from .models import INCOME_FIELDS, PERSON_FLAGS, RIGID_FIELDS

# GB/T 4761 relation code's first digit → index in policy.inputs.RELATIONS (as policy_input.RELATION)
_REL = {"0": "applicant", "1": "spouse", "2": "child", "3": "child", "4": "grandchild", "5": "parent",
        "6": "grandparent", "7": "sibling", "8": "other_relative", "9": "non_relative"}  # fmt: skip
_DISABILITY = {"": "none", "1": "visual", "2": "hearing", "3": "speech", "4": "limb", "5": "intellectual",
               "6": "mental", "7": "multiple"}  # fmt: skip
_SELF_CARE = {"full": 0, "partial": 2, "none": 5}  # policy_input.SELF_CARE_FAILED
BAD = -1  # a code for a value the engine does not know: the household goes to the JSON path

PERSON_COLUMNS = ("household_id", "pk", "has_econ", "relation", "birth_ymd", "sex", "lives_together", "dependent",
                  "schooling", "disability_category", "disability_grade", "serious_illness", "self_care_failed",
                  "labour_capacity", "clergy_apart_years", *PERSON_FLAGS, "parent1_status", "parent2_status",
                  *(f"income_{f}" for f in INCOME_FIELDS), "obligor_pk")  # fmt: skip
HOUSEHOLD_COLUMNS = ("pk", "has_econ", "urban", "assets_financial", "assets_houses", "assets_housing_area_x100",
                     "assets_vehicles", *RIGID_FIELDS, "current_dibao", "current_dibao_amount", "gradual_exit_used")  # fmt: skip


def _case(expr: str, mapping: dict[str, int], default: int = BAD) -> str:
    arms = " ".join(f"WHEN '{k}' THEN {v}" for k, v in mapping.items())
    return f"CASE {expr} {arms} ELSE {default} END"


def _fen(expr: str) -> str:
    return f"CAST(ROUND({expr} * 100) AS BIGINT)"


def _flag(expr: str, default: int) -> str:
    return f"COALESCE(CAST({expr} AS INTEGER), {default})"


def _ymd(expr: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(to_char({expr}, 'YYYYMMDD') AS INTEGER)"
    return f"CAST(replace({expr}, '-', '') AS INTEGER)"


def _ids_filter(column: str) -> str:
    """``column`` among the ids bound as one parameter (an array on PostgreSQL, JSON text on SQLite)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])"
    return f"{column} IN (SELECT value FROM json_each(%s))"  # noqa: S608 - a column name of ours


def _ids_param(ids: Sequence[int]) -> Any:
    if connection.vendor == "postgresql":
        return list(ids)
    return "[" + ",".join(map(str, ids)) + "]"


def _person_sql() -> str:
    idx = pin._index
    rel = {k: idx(pin.RELATIONS)[v] for k, v in _REL.items()}
    cols = [
        "p.household_id", "p.id", "CASE WHEN pe.id IS NULL THEN 0 ELSE 1 END",
        _case("substr(p.relation, 1, 1)", rel, idx(pin.RELATIONS)["other_relative"]),
        _ymd("p.birth_date"),
        _case("p.sex", idx(pin.SEXES)),
        _flag("pe.lives_together", 1), _flag("pe.dependent", 0),
        _case("p.schooling", idx(pin.SCHOOLING)),
        _case("p.disability_category", {k: idx(pin.DISABILITY)[v] for k, v in _DISABILITY.items()}),
        # the grade counts with a category only (policy_input leaves it out otherwise); none with a category: bad
        f"CASE WHEN p.disability_category = '' THEN 0 ELSE COALESCE(p.disability_grade, {BAD}) END",
        _flag("p.serious_illness", 0),
        f"CASE WHEN pe.id IS NULL THEN {_case('p.self_care', _SELF_CARE, 0)} ELSE pe.self_care_failed END",
        _case("p.labour_capacity", idx(pin.LABOUR)),
        "COALESCE(pe.clergy_apart_years, 0)",
        *(_flag(f"pe.{f}", 0) for f in PERSON_FLAGS),
        f"CASE WHEN pe.id IS NULL THEN 0 ELSE {_case('pe.parent1_status', idx(pin.PARENT_STATUS))} END",
        f"CASE WHEN pe.id IS NULL THEN 0 ELSE {_case('pe.parent2_status', idx(pin.PARENT_STATUS))} END",
        *(f"COALESCE({_fen(f'pe.{f}')}, 0)" for f in INCOME_FIELDS),
        "COALESCE(pe.obligor_for_id, 0)",
    ]  # fmt: skip
    return (f"SELECT {', '.join(cols)} FROM registry_person p "  # noqa: S608 - constants only
            "LEFT JOIN registry_personeconomy pe ON pe.person_id = p.id "
            f"WHERE {_ids_filter('p.household_id')} AND p.birth_date <= %s "
            "AND (p.death_date IS NULL OR p.death_date >= %s) "
            "ORDER BY p.household_id, p.relation, p.birth_date, p.id")  # fmt: skip


def _household_sql() -> str:
    cols = [
        "h.id", "CASE WHEN he.id IS NULL THEN 0 ELSE 1 END",
        _case("h.urban_rural", {"urban": 1, "rural": 0}),
        f"COALESCE({_fen('he.financial')}, 0)", "COALESCE(he.houses, 0)", f"COALESCE({_fen('he.housing_area_m2')}, 0)",
        "COALESCE(he.vehicles, 0)", *(f"COALESCE({_fen(f'he.{f}')}, 0)" for f in RIGID_FIELDS),
        _flag("he.current_dibao", 0), f"COALESCE({_fen('he.current_dibao_amount')}, 0)",
        "COALESCE(he.gradual_exit_months_used, 0)",
    ]  # fmt: skip
    return (f"SELECT {', '.join(cols)}, h.area_code FROM registry_household h "  # noqa: S608 - constants only
            f"LEFT JOIN registry_householdeconomy he ON he.household_id = h.id "
            f"WHERE {_ids_filter('h.id')} ORDER BY h.id")  # fmt: skip


def _fetch(
    sql: str, params: list[Any], names: tuple[str, ...], text: tuple[str, ...] = ()
) -> dict[str, np.ndarray]:
    """The statement's rows as one array per column (int64; ``text`` columns as str)."""
    all_names = (*names, *text)
    if connection.vendor == "postgresql":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        buf = io.BytesIO()
        with connection.cursor() as cur:
            # A chunk's few thousand households are index lookups; the planner, overestimating ``= ANY`` fivefold,
            # would hash the whole economy table instead (0.7 s a chunk of 5,000 against 0.1 s at 1M persons),
            # compile the plan (JIT) every time, and start two parallel workers per statement for lookups that
            # gain nothing from them (taking cores from the payroll's concurrent write).
            cur.execute("SET enable_hashjoin = off; SET enable_mergejoin = off; SET jit = off; "
                        "SET max_parallel_workers_per_gather = 0")
            try:
                with cur.cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as cp:
                    for block in cp:
                        buf.write(block)
            finally:
                cur.execute("RESET enable_hashjoin; RESET enable_mergejoin; RESET jit; "
                            "RESET max_parallel_workers_per_gather")
        if not buf.tell():
            return {n: np.zeros(0, dtype=np.int64) for n in names} | {
                n: np.zeros(0, dtype="U12") for n in text
            }
        buf.seek(0)
        types = {n: pa.int64() for n in names} | {n: pa.string() for n in text}
        table = pacsv.read_csv(buf, read_options=pacsv.ReadOptions(column_names=list(all_names)),
                               convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False))  # fmt: skip
        out = {n: table.column(n).to_numpy() for n in names}
        out |= {n: np.asarray(table.column(n).to_pylist(), dtype="U12") for n in text}
        return out
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    if not rows:
        return {n: np.zeros(0, dtype=np.int64) for n in names} | {n: np.zeros(0, dtype="U12") for n in text}
    columns = list(zip(*rows, strict=True))
    out = {n: np.asarray(columns[i], dtype=np.int64) for i, n in enumerate(names)}
    out |= {n: np.asarray(columns[len(names) + i], dtype="U12") for i, n in enumerate(text)}
    return out


@dataclass
class RegistryColumns:
    """The engine's columns for the households that could be built here, and what became of the others."""

    columns: pin.Columns
    households: np.ndarray  # household pk per household row of ``columns`` (ascending)
    missing_facts: list[int] = field(default_factory=list)  # no economy row for the household or a member
    no_members: list[int] = field(default_factory=list)  # nobody in the household on the day
    fallback: list[int] = field(default_factory=list)  # the JSON path must decide (and name the error)


def registry_columns(household_pks: Sequence[int], on: dt.date) -> RegistryColumns:
    """The engine's columns of these households (pks) on ``on``; see the module's docstring. Two queries."""
    pks = np.unique(np.asarray(list(household_pks), dtype=np.int64))
    ids = _ids_param(pks.tolist())
    h = _fetch(_household_sql(), [ids], HOUSEHOLD_COLUMNS, ("area_code",))
    p = _fetch(_person_sql(), [ids, on, on], PERSON_COLUMNS)
    n_h = len(h["pk"])
    row = np.searchsorted(h["pk"], p["household_id"])  # persons come ordered by household
    members = np.bincount(row, minlength=n_h)
    econ_members = np.bincount(row, weights=p["has_econ"], minlength=n_h)
    # as evaluate_households: unknown facts first, then nobody there, then the contract's own checks
    missing = (h["has_econ"] == 0) | (econ_members < members)
    no_members = (members == 0) & ~missing

    bad = np.zeros(n_h, dtype=bool)

    def flag(mask: np.ndarray) -> None:
        if mask.any():
            np.logical_or.at(bad, row[mask], True)

    applicants = np.bincount(row, weights=p["relation"] == 0, minlength=n_h)
    headless = (applicants == 0) & (members > 0)  # the first member stands in (policy_input)
    if headless.any():
        first = np.concatenate([[0], np.cumsum(members)[:-1]])
        p["relation"] = p["relation"].copy()  # Arrow's arrays are read-only
        p["relation"][first[headless]] = 0
    bad |= applicants > 1
    for name in ("relation", "sex", "schooling", "disability_category", "labour_capacity", "parent1_status",
                 "parent2_status"):  # fmt: skip
        flag(p[name] < 0)
    flag(p["birth_ymd"] < 18800101)
    flag((p["disability_category"] > 0) & ((p["disability_grade"] < 1) | (p["disability_grade"] > 4)))
    flag((p["self_care_failed"] < 0) | (p["self_care_failed"] > 6))
    flag((p["clergy_apart_years"] < 0) | (p["clergy_apart_years"] > 200))
    for f in INCOME_FIELDS:
        flag((p[f"income_{f}"] < 0) | (p[f"income_{f}"] > pin.MAX_MONEY_FEN))
    money = ("assets_financial", "assets_housing_area_x100", *RIGID_FIELDS, "current_dibao_amount")
    for name in money:
        bad |= (h[name] < 0) | (h[name] > pin.MAX_MONEY_FEN)
    bad |= (h["assets_housing_area_x100"] > 10**9) | (h["urban"] < 0) | (h["gradual_exit_used"] > 1200)
    bad |= (h["assets_houses"] > 10_000) | (h["assets_vehicles"] > 10_000)
    # a supporter is a current member of the same household, not the person themself
    obligor = np.full(len(row), -1, dtype=np.int64)
    has = np.flatnonzero(p["obligor_pk"] > 0)
    if len(has):
        order = np.argsort(p["pk"], kind="stable")
        at = np.searchsorted(p["pk"], p["obligor_pk"][has], sorter=order)
        at = np.minimum(at, len(order) - 1)
        target = order[at]
        found = (p["pk"][target] == p["obligor_pk"][has]) & (row[target] == row[has])
        flag_self = np.zeros(len(row), dtype=bool)
        flag_self[has[found & (target == has)]] = True
        flag(flag_self)
        keep = found & (target != has)
        obligor[has[keep]] = target[keep]
    areas: dict[str, str] = {}
    for code in set(h["area_code"].tolist()):
        try:
            areas[code] = pin.divisions.normalise(code)
        except ValueError:
            areas[code] = ""
    area = np.asarray([areas[c] for c in h["area_code"].tolist()], dtype="U12")
    bad |= area == ""

    keep_h = ~(no_members | missing | bad)
    every = _columns(p, h, row, obligor, area)
    columns = every if keep_h.all() else pin.take(every, np.flatnonzero(keep_h))
    return RegistryColumns(
        columns=columns,
        households=h["pk"][keep_h],
        missing_facts=h["pk"][missing].tolist(),
        no_members=h["pk"][no_members].tolist(),
        fallback=h["pk"][bad & ~missing & ~no_members].tolist(),
    )


def _columns(p: dict[str, np.ndarray], h: dict[str, np.ndarray], row: np.ndarray, obligor: np.ndarray,
             area: np.ndarray) -> pin.Columns:  # fmt: skip
    """Every household read, as the engine's columns (the caller keeps the good ones with ``policy.inputs.take``)."""
    person: dict[str, np.ndarray] = {}
    for f in pin.PERSON_FIELDS:
        col = obligor if f.name == "obligor_for" else p[f.name]
        person[f.name] = col.astype(np.bool_ if f.kind == "bool" else np.int64)
    household: dict[str, np.ndarray] = {}
    n = len(h["pk"])
    for f in pin.HOUSEHOLD_FIELDS:
        if f.name in ("temp_type", "temp_tier", "temp_one_matter"):  # no temporary assistance in a payroll
            household[f.name] = np.zeros(n, dtype=np.bool_ if f.kind == "bool" else np.int64)
        else:
            household[f.name] = h[f.name].astype(np.bool_ if f.kind == "bool" else np.int64)
    return pin.Columns(person=person, household=household, household_of=row.astype(np.int64), area=area)
