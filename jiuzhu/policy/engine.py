"""Evaluation: columns in, results out — one household with a trace, or millions.

``evaluate_columns`` builds an OpenFisca simulation directly from arrays (no per-entity Python loop), attaches the
resolved parameters, and computes the requested programmes. ``evaluate`` is the one-household JSON form used by
the CLI, the API and the pages: it validates, evaluates, and explains each programme in Chinese, citing every
parameter used with its source and confidence."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from openfisca_core import periods
from openfisca_core.simulations import Simulation

from jiuzhu.policy import divisions
from jiuzhu.policy.errors import ParameterMissing, PolicyInputError
from jiuzhu.policy.inputs import Columns, columns_from_json
from jiuzhu.policy.money import yuan_str
from jiuzhu.policy.parameters.schema import spec
from jiuzhu.policy.parameters.store import ParameterSet, ParameterStore, ParamValue
from jiuzhu.policy.system import tax_benefit_system


@dataclass
class EvalContext:
    pset: ParameterSet
    hh_area: np.ndarray  # area index per household
    person_area: np.ndarray  # area index per person
    on_ymd: int
    tracing: bool = False
    accessed: set[str] = field(default_factory=set)
    _cols: dict[str, np.ndarray] = field(default_factory=dict)
    # Benchmarks only: replace the lookup (e.g. by OpenFisca's parameter-node idiom) to compare like with like.
    lookup: Callable[[str, np.ndarray], np.ndarray] | None = None

    _gathered: dict[tuple[str, bool], np.ndarray] = field(default_factory=dict)

    def column(self, key: str) -> np.ndarray:
        """The per-area column of a parameter (index it with ``area_index``)."""
        col = self._cols.get(key)
        if col is None:
            col = self._cols[key] = self.pset.column(key)
        if self.tracing:
            self.accessed.add(key)
        return col

    def area_index(self, population: Any) -> np.ndarray:
        return self.person_area if population.entity.is_person else self.hh_area

    def param(self, key: str, population: Any) -> np.ndarray:
        is_person = population.entity.is_person
        if self.lookup is not None:
            return self.lookup(key, self.person_area if is_person else self.hh_area)
        hit = self._gathered.get((key, is_person))
        if hit is None:
            col = self.column(key)
            if len(col) == 1 or not col.any() or (col == col[0]).all():  # one value everywhere: no gather
                # a read-only broadcast view: no memory, no time; arithmetic on it yields ordinary arrays
                hit = np.broadcast_to(col[:1], (len(self.person_area if is_person else self.hh_area),))
            else:
                hit = col[self.person_area if is_person else self.hh_area]
            self._gathered[(key, is_person)] = hit
        elif self.tracing:
            self.accessed.add(key)
        return hit


@functools.lru_cache(maxsize=256)
def _period(on: dt.date) -> periods.Period:
    return periods.period(f"{on.year:04d}-{on.month:02d}")


class _Simulation(Simulation):
    """Every variable is computed for one month: keep a plain dict of computed arrays in front of OpenFisca's
    holders, so that the many repeated reads of a variable by later formulas cost a dict lookup."""

    def __init__(self, *args: Any, period: periods.Period, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._month = period
        self._computed: dict[str, np.ndarray] = {}

    def calculate(self, variable_name: str, period: Any) -> Any:
        if period is self._month or period == self._month:
            hit = self._computed.get(variable_name)
            if hit is None:
                hit = self._computed[variable_name] = super().calculate(variable_name, period)
            return hit
        return super().calculate(variable_name, period)


@dataclass
class Results:
    """Computed arrays (``values[var]``: per household or per person) with what is needed to read them."""

    columns: Columns
    pset: ParameterSet
    ctx: EvalContext
    values: dict[str, np.ndarray]
    blocked: dict[str, np.ndarray]  # programme → bool per household
    programmes: tuple[str, ...]
    simulation: Simulation

    def get(self, var: str) -> np.ndarray:
        if var not in self.values:
            self.values[var] = self.simulation.calculate(var, _period(self.pset.on))
        return self.values[var]


def build_simulation(columns: Columns, pset: ParameterSet, area_index: np.ndarray, *, trace: bool = False) -> Simulation:
    tbs = tax_benefit_system()
    pops = tbs.instantiate_entities()
    persons, households = pops["person"], pops["household"]
    n, m = columns.n_persons, columns.n_households
    persons.count, persons.ids = n, np.arange(n)
    households.count, households.ids = m, np.arange(m)
    households.members_entity_id = columns.household_of
    on = pset.on
    sim = _Simulation(tbs, pops, period=_period(on))
    # The trace is read from the simulation's holders afterwards (every computed variable is cached there);
    # OpenFisca's FullTracer would time every call and triple the cost of one household.
    sim.jz = EvalContext(pset=pset, hh_area=area_index, person_area=area_index[columns.household_of],
                         on_ymd=on.year * 10000 + on.month * 100 + on.day, tracing=trace)  # fmt: skip
    period = _period(on)
    for name, arr in columns.person.items():
        sim.set_input(name, period, arr)
    for name, arr in columns.household.items():
        sim.set_input(name, period, arr)
    return sim


def evaluate_columns(
    columns: Columns,
    store: ParameterStore | None = None,
    *,
    on: dt.date,
    programmes: Sequence[str] | None = None,
    allow_unconfirmed: bool,
    trace: bool = False,
    pset: ParameterSet | None = None,
) -> Results:
    """Evaluate every household in ``columns`` on date ``on``. ``allow_unconfirmed`` (demo mode) lets values
    marked L be used; otherwise programmes that need one are ``blocked`` for the households concerned."""
    from jiuzhu.policy.rules import PROGRAMMES, closure

    names = tuple(programmes or PROGRAMMES)
    unknown = [p for p in names if p not in PROGRAMMES]
    if unknown:
        raise PolicyInputError([("programmes", f"unknown programme(s): {', '.join(unknown)}")])
    # Division codes in natural length have no leading zero, so their integer values are distinct: unique on
    # int64 is an order of magnitude faster than on strings.
    codes = columns.area.astype(np.int64) if columns.area.dtype.kind == "U" else np.asarray(columns.area, dtype=np.int64)
    uniq, area_index = np.unique(codes, return_inverse=True)
    if pset is None:
        if store is None:
            raise ValueError("a ParameterStore or a ParameterSet is needed")
        pset = store.parameter_set(on, [str(a) for a in uniq], allow_unconfirmed=allow_unconfirmed)
    elif tuple(str(a) for a in uniq) != pset.areas:
        raise ValueError("the ParameterSet was resolved for other areas")
    sim = build_simulation(columns, pset, area_index.astype(np.int64), trace=trace)
    period = _period(on)
    values: dict[str, np.ndarray] = {}
    blocked: dict[str, np.ndarray] = {}
    for p in names:
        prog = PROGRAMMES[p]
        for var in (prog.eligible, prog.amount, *prog.outputs):
            if var not in values:
                values[var] = sim.calculate(var, period)
        if allow_unconfirmed:
            blocked[p] = np.zeros(columns.n_households, dtype=bool)
        else:
            blocked[p] = pset.unconfirmed(closure(p))[area_index]
    return Results(columns, pset, sim.jz, values, blocked, names, sim)


# --- one household: JSON in, explained JSON out ----------------------------------------------------------


class View:
    """One household of a Results, read as scalars, for explanations."""

    def __init__(self, res: Results, h: int):
        self.res, self.h = res, h
        self.rows = np.flatnonzero(res.columns.household_of == h)
        self.area_index = int(res.ctx.hh_area[h])
        ids = res.columns.member_ids[h] if res.columns.member_ids else []
        self.ids = ids or [str(i) for i in range(len(self.rows))]

    def hh(self, var: str) -> int:
        return int(self.res.get(var)[self.h])

    def flag(self, var: str) -> bool:
        return bool(self.res.get(var)[self.h])

    def persons(self, var: str) -> list[int]:
        return [int(x) for x in self.res.get(var)[self.rows]]

    def param(self, key: str) -> ParamValue:
        self.res.ctx.accessed.add(key)
        return self.res.pset.value(key, self.area_index)

    def raw(self, key: str) -> int:
        return int(self.res.ctx.pset.column(key)[self.area_index])

    def cite(self, key: str) -> str:
        """``低保标准 760.00 元/人·月（安康市 2024 年起，安政办发〔2024〕1号）``"""
        pv = self.param(key)
        return f"{spec(key).label} {pv.display}（{pv.citation()}）"

    def value(self, key: str) -> str:
        return self.param(key).display

    @staticmethod
    def yuan(fen: int) -> str:
        return f"{yuan_str(fen)} 元"

    def who(self, i: int) -> str:
        from jiuzhu.policy.inputs import RELATIONS

        rel = RELATION_ZH[RELATIONS[int(self.res.columns.person["relation"][self.rows[i]])]]
        return f"成员 {self.ids[i]}（{rel}）"


RELATION_ZH = {"applicant": "申请人", "spouse": "配偶", "child": "子女", "parent": "父母", "grandparent": "祖父母",
               "grandchild": "孙子女", "sibling": "兄弟姐妹", "other_relative": "其他亲属",
               "non_relative": "非亲属"}  # fmt: skip


def _scalar(v: Any) -> Any:
    if isinstance(v, np.bool_ | bool):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, bytes):
        return v.decode()
    return v


def explain_household(res: Results, h: int, *, with_trace: bool = False) -> dict[str, Any]:
    from jiuzhu.policy.rules import PROGRAMMES, closure
    from jiuzhu.policy.rules.common import exclusion_text

    v = View(res, h)
    in_unit = v.persons("in_unit")
    excl = v.persons("unit_exclusion")
    out: dict[str, Any] = {
        "household": res.columns.ids[h] if res.columns.ids else str(h),
        "date": res.pset.on.isoformat(),
        "area": divisions.six_digit(res.pset.areas[v.area_index]) if len(res.pset.areas[v.area_index]) < 6
        else res.pset.areas[v.area_index],
        "area_name": divisions.name(res.pset.areas[v.area_index][:6]),
        "mode": "demo" if res.pset.allow_unconfirmed else "production",
        "unit": {
            "members": [v.ids[i] for i in range(len(v.rows)) if in_unit[i]],
            "size": v.hh("unit_size"),
            "excluded": [{"id": v.ids[i], "reason": exclusion_text(excl[i])} for i in range(len(v.rows)) if not in_unit[i]],
        },
        "programmes": {},
    }
    unconfirmed: set[str] = set()
    conf: dict[str, str | None] = {}  # key → confidence of the value used for this household
    for p in res.programmes:
        prog = PROGRAMMES[p]
        keys = closure(p)
        for k in keys - conf.keys():
            conf[k] = _confidence(res, k, v.area_index)
        l_keys = sorted(k for k in keys if conf[k] == "L")
        unconfirmed.update(l_keys)
        if res.blocked[p][h]:
            out["programmes"][p] = {
                "label": prog.label, "status": "blocked", "eligible": None, "amount": None,
                "reasons": [f"需经政策管理员确认后方可计算：{spec(k).label}（{k}）当前值为未经确认的示例值（L）" for k in l_keys],
            }  # fmt: skip
            continue
        entry: dict[str, Any] = {
            "label": prog.label, "status": "ok",
            "eligible": bool(res.get(prog.eligible)[h]),
            "amount": yuan_str(int(res.get(prog.amount)[h])),
            "reasons": prog.explain(v),
        }  # fmt: skip
        if prog.explain_persons is not None:
            entry["persons"] = prog.explain_persons(v)
        if prog.details is not None:
            entry.update(prog.details(v))
        if l_keys:
            entry["reasons"].append("注意：使用了未经确认的示例参数（L），仅供演示：" + "、".join(spec(k).label for k in l_keys))
        out["programmes"][p] = entry
    out["unconfirmed"] = sorted(unconfirmed)
    if with_trace:
        out["trace"] = trace_of(res, h, v)
    return out


def _confidence(res: Results, key: str, area_index: int) -> str | None:
    try:
        return res.pset.value(key, area_index).confidence
    except ParameterMissing:
        return None


def trace_of(res: Results, h: int, v: View) -> dict[str, Any]:
    """Every variable computed for this household (inputs included), and every parameter read with its value,
    source, article and confidence."""
    variables: dict[str, Any] = {}
    person_rows = v.rows
    period = _period(res.pset.on)
    sim = res.simulation
    for population in (sim.persons, sim.populations["household"]):
        for name, holder in sorted(population._holders.items()):
            arr = holder.get_array(period)
            if arr is None:
                continue
            var = holder.variable
            if var.entity.is_person:
                variables[name] = {v.ids[i]: _money_or(var, _scalar(x)) for i, x in enumerate(arr[person_rows])}
            else:
                variables[name] = _money_or(var, _scalar(arr[h]))
    params = []
    for key in sorted(res.ctx.accessed):
        try:
            pv = res.pset.value(key, v.area_index)
        except ParameterMissing:  # read by a branch not taken for this household's area
            continue
        params.append(pv.as_dict() | {"label": spec(key).label})
    return {"variables": variables, "parameters": params}


def _money_or(var: Any, x: Any) -> Any:
    if getattr(var, "unit", None) == "fen" and isinstance(x, int):
        return yuan_str(x)
    return x


def evaluate(
    household: Mapping[str, Any],
    store: ParameterStore,
    *,
    on: dt.date,
    allow_unconfirmed: bool,
    trace: bool = False,
    programmes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """One household (docs/policy-input.md) → explained result. Raises PolicyInputError / ParameterMissing."""
    cols = columns_from_json([household], on)
    res = evaluate_columns(cols, store, on=on, programmes=programmes, allow_unconfirmed=allow_unconfirmed, trace=trace)
    return explain_household(res, 0, with_trace=trace)


def evaluate_many(households: Iterable[Mapping[str, Any]], store: ParameterStore, *, on: dt.date,
                  allow_unconfirmed: bool) -> list[dict[str, Any]]:  # fmt: skip
    hs = list(households)
    cols = columns_from_json(hs, on, prefix="households")
    res = evaluate_columns(cols, store, on=on, allow_unconfirmed=allow_unconfirmed)
    return [explain_household(res, h) for h in range(len(hs))]
