"""The engine's own guarantees: no Django, the parameter store and its files, exact money, vectorised evaluation
equal to one-by-one evaluation, and every parameter a programme reads declared in its closure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiuzhu.policy import divisions
from jiuzhu.policy.engine import evaluate_columns, explain_household
from jiuzhu.policy.errors import ParameterFileError, ParameterMissing, PolicyError, PolicyInputError
from jiuzhu.policy.inputs import columns_from_json
from jiuzhu.policy.money import ROUNDING_MODES, mul_ratio, parse_yuan, round_fen
from jiuzhu.policy.parameters.schema import SPECS
from jiuzhu.policy.parameters.store import CONFIDENCE, PACKS, ParameterStore, ParamValue, load_packs
from jiuzhu.policy.rules import PROGRAMMES, closure

ROOT = Path(__file__).resolve().parents[3]
CASES = Path(__file__).resolve().parent.parent / "cases"
STORE = load_packs()
HYP = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# --- (a) no Django ----------------------------------------------------------------------------------------

_NO_DJANGO = r"""
import datetime as dt, json, sys
import jiuzhu.policy
from jiuzhu.policy.engine import evaluate, evaluate_columns
from jiuzhu.policy.errors import PolicyError
from jiuzhu.policy.inputs import columns_from_json
from jiuzhu.policy.parameters.store import load_packs

on = dt.date(2024, 7, 1)
store = load_packs()
household = json.loads(sys.argv[1])
outcome = "ok"
try:
    result = evaluate(household, store, on=on, allow_unconfirmed=True, trace=True, programmes=["dibao"])
    assert result["programmes"]["dibao"]["status"] == "ok", result
    columns = columns_from_json([household, household], on)
    evaluate_columns(columns, store, on=on, allow_unconfirmed=False)  # every programme, production mode
except PolicyError as e:
    outcome = type(e).__name__
print(json.dumps({"outcome": outcome,
                  "django": sorted(m for m in sys.modules if m == "django" or m.startswith("django."))}))
"""


def _run_clean(household: dict[str, Any]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")}
    proc = subprocess.run([sys.executable, "-c", _NO_DJANGO, json.dumps(household)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _household(id_number: str) -> dict[str, Any]:
    return {"area": "610902001001", "urban_rural": "rural",
            "members": [{"id": "p1", "relation": "applicant", "birth_date": "1980-01-01", "id_number": id_number,
                         "income": {"wage": "100.00"}},
                        {"id": "p2", "relation": "child", "birth_date": "2012-05-01"}]}  # fmt: skip


def test_evaluating_a_household_imports_no_django() -> None:
    got = _run_clean(_household("610902198001011230"))  # a valid ID number, checked against birth_date
    assert got["outcome"] == "ok"
    assert got["django"] == []


def test_rejecting_an_invalid_id_number_imports_no_django() -> None:
    """The input check of ``id_number`` calls jiuzhu.core.idnumber, whose message helper imports django.conf."""
    got = _run_clean(_household("610902198001011231"))  # wrong check character
    assert got["outcome"] == "PolicyInputError"
    assert got["django"] == []


# --- (b) parameters ---------------------------------------------------------------------------------------

RURAL = "dibao.standard.rural"


def _pv(value: str, scope: str, start: str, *, to: str | None = None, key: str = RURAL, conf: str = "H",
        source: str = "测试") -> ParamValue:  # fmt: skip
    return ParamValue(key=key, scope=scope, effective_from=dt.date.fromisoformat(start), value=value, source=source,
                      confidence=conf, effective_to=dt.date.fromisoformat(to) if to else None, origin="test")  # fmt: skip


@pytest.fixture
def store() -> ParameterStore:
    s = ParameterStore()
    for value, scope in (("500.00", ""), ("550.00", "61"), ("580.00", "6109"), ("600.00", "610902"),
                         ("610.00", "610902001")):  # fmt: skip
        s.add(_pv(value, scope, "2024-01-01"))
    s.add(_pv("620.00", "6109", "2025-07-01"))
    return s


AREAS = {  # area → (value on 2024-07-01, value on 2025-07-01)
    "610902001001": ("610.00", "610.00"),  # village → its township's value
    "610902002": ("600.00", "600.00"),  # another township of 汉滨区 → the county's value
    "610921100": ("580.00", "620.00"),  # 汉阴县 → 安康市 (dated change)
    "610102001": ("550.00", "550.00"),  # 西安 → 陕西
    "440103001": ("500.00", "500.00"),  # 广州 → national
}


@pytest.mark.parametrize("on,col", [(dt.date(2024, 7, 1), 0), (dt.date(2025, 7, 1), 1)])
def test_most_specific_scope_wins(store: ParameterStore, on: dt.date, col: int) -> None:
    pset = store.parameter_set(on, list(AREAS), allow_unconfirmed=True)
    want = [parse_yuan(v[col]) for v in AREAS.values()]
    assert pset.column(RURAL).tolist() == want
    for i, area in enumerate(AREAS):
        assert store.resolve(RURAL, area, on).encoded == want[i]
        assert pset.value(RURAL, i).encoded == want[i]


def test_dated_values_switch_on_effective_from(store: ParameterStore) -> None:
    for on, want in ((dt.date(2025, 6, 30), "580.00"), (dt.date(2025, 7, 1), "620.00"), (dt.date(2030, 1, 1), "620.00")):
        assert store.resolve(RURAL, "6109", on).value == want
        assert store.parameter_set(on, ["6109"], allow_unconfirmed=True).value(RURAL).value == want
    assert store.resolve(RURAL, "6109", dt.date(2023, 12, 31)) is None


def test_effective_to_is_inclusive_then_falls_back(store: ParameterStore) -> None:
    store.add(_pv("700.00", "610921", "2024-01-01", to="2024-06-30"))
    assert store.resolve(RURAL, "610921100", dt.date(2024, 6, 30)).value == "700.00"
    assert store.resolve(RURAL, "610921100", dt.date(2024, 7, 1)).value == "580.00"  # the city's value
    pset = store.parameter_set(dt.date(2024, 7, 1), ["610921100"], allow_unconfirmed=True)
    assert pset.column(RURAL).tolist() == [58000]
    only = ParameterStore()
    only.add(_pv("700.00", "610921", "2024-01-01", to="2024-06-30"))
    with pytest.raises(ParameterMissing) as info:
        only.parameter_set(dt.date(2024, 7, 1), ["610921100"], allow_unconfirmed=True).column(RURAL)
    assert info.value.key == RURAL and info.value.area == "610921100"


def test_replacement_keeps_the_superseded_value(store: ParameterStore) -> None:
    old = store.resolve(RURAL, "6109", dt.date(2024, 7, 1))
    store.add(_pv("590.00", "6109", "2024-01-01", conf="H", source="安康市 确认"))
    assert store.resolve(RURAL, "6109", dt.date(2024, 7, 1)).value == "590.00"
    assert old in store.superseded
    assert [v.value for v in store.values(RURAL) if v.scope == "6109"] == ["590.00", "620.00"]


def test_parameter_set_is_immutable_and_a_snapshot(store: ParameterStore) -> None:
    pset = store.parameter_set(dt.date(2024, 7, 1), ["610921100"], allow_unconfirmed=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pset.on = dt.date(2025, 1, 1)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        pset.areas = ("61",)  # type: ignore[misc]
    with pytest.raises(TypeError):
        pset._values[RURAL] = {}  # type: ignore[index]
    store.add(_pv("999.00", "610921", "2024-01-01"))  # a later change to the store does not reach the set
    assert pset.column(RURAL).tolist() == [58000]
    assert store.parameter_set(dt.date(2024, 7, 1), ["610921100"], allow_unconfirmed=False).column(RURAL).tolist() == [99900]


def test_unconfirmed_flags_l_values_per_area(store: ParameterStore) -> None:
    store.add(_pv("581.00", "6109", "2024-01-01", conf="L"))
    pset = store.parameter_set(dt.date(2024, 7, 1), ["610921100", "610102001"], allow_unconfirmed=False)
    assert pset.unconfirmed([RURAL]).tolist() == [True, False]


@pytest.mark.parametrize("value,message", [("abc", "not an amount"), ("1.234", "more than two decimal places"),
                                           ("-5.00", "cannot be negative")])  # fmt: skip
def test_store_refuses_bad_values(value: str, message: str) -> None:
    with pytest.raises(ParameterFileError, match=message):
        ParameterStore().add(_pv(value, "61", "2024-01-01"))


def test_store_refuses_unknown_key_missing_source_bad_confidence() -> None:
    with pytest.raises(ParameterFileError, match="unknown parameter key no.such.key"):
        ParameterStore().add(_pv("1.00", "61", "2024-01-01", key="no.such.key"))
    with pytest.raises(ParameterFileError, match="source"):
        ParameterStore().add(_pv("1.00", "61", "2024-01-01", source="  "))
    with pytest.raises(ParameterFileError, match="confidence"):
        ParameterStore().add(_pv("1.00", "61", "2024-01-01", conf="X"))


PACK_ERRORS = {
    "unknown key": ("no.such.key", {"from": "2024-01-01", "value": "1.00", "source": "s", "confidence": "H"},
                    "unknown parameter key"),
    "bad money": (RURAL, {"from": "2024-01-01", "value": "5.555", "source": "s", "confidence": "H"}, "decimal"),
    "bad enum": ("general.rounding", {"from": "2024-01-01", "value": "nearest", "source": "s", "confidence": "H"},
                 "must be one of"),
    "bad int": ("dibao.gradual_exit_months", {"from": "2024-01-01", "value": "six", "source": "s", "confidence": "H"},
                "integer"),
    "missing source": (RURAL, {"from": "2024-01-01", "value": "1.00", "confidence": "H"}, "source"),
    "empty source": (RURAL, {"from": "2024-01-01", "value": "1.00", "source": "", "confidence": "H"}, "source"),
    "yaml float": ("near_dibao.income_multiple", {"from": "2024-01-01", "value": 1.5, "source": "s", "confidence": "H"},
                   "YAML float"),
    "bad date": (RURAL, {"from": "2024-13-01", "value": "1.00", "source": "s", "confidence": "H"}, "not a date"),
    "unknown field": (RURAL, {"from": "2024-01-01", "value": "1.00", "source": "s", "confidence": "H", "x": 1},
                      "unknown fields"),
}


@pytest.mark.parametrize("problem", list(PACK_ERRORS))
def test_pack_file_errors_name_file_and_key(tmp_path: Path, problem: str) -> None:
    key, entry, message = PACK_ERRORS[problem]
    fine = {"scope": "000000", "values": {RURAL: [{"from": "2024-01-01", "value": "500.00", "source": "s",
                                                   "confidence": "H"}]}}  # fmt: skip
    (tmp_path / "a-fine.yaml").write_text(yaml.safe_dump(fine, allow_unicode=True), encoding="utf-8")
    bad = tmp_path / "610000-shaanxi" / "broken.yaml"
    bad.parent.mkdir()
    bad.write_text(yaml.safe_dump({"scope": "610000", "values": {key: [entry]}}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ParameterFileError) as info:
        load_packs(tmp_path)
    text = str(info.value)
    assert "broken.yaml" in text and key in text and message in text, text


def test_pack_file_structure_errors(tmp_path: Path) -> None:
    (tmp_path / "noscope.yaml").write_text("values: {}\n", encoding="utf-8")
    with pytest.raises(ParameterFileError, match="noscope.yaml.*scope"):
        load_packs(tmp_path)
    (tmp_path / "noscope.yaml").write_text("scope: '000000'\nvalues: {dibao.standard.rural: {from: 2024-01-01}}\n",
                                           encoding="utf-8")  # fmt: skip
    with pytest.raises(ParameterFileError, match="noscope.yaml: dibao.standard.rural"):
        load_packs(tmp_path)
    (tmp_path / "noscope.yaml").write_text("scope: '000000'\nvalues: [\n", encoding="utf-8")
    with pytest.raises(ParameterFileError, match="noscope.yaml"):
        load_packs(tmp_path)


def test_every_shipped_pack_loads_with_source_and_confidence() -> None:
    files = sorted(PACKS.rglob("*.yaml"))
    assert files
    values = list(load_packs().all_values())
    assert {v.origin.removeprefix("yaml:") for v in values} == {str(f.relative_to(PACKS)) for f in files}
    for v in values:
        where = f"{v.origin} {v.key} from {v.effective_from}"
        assert v.key in SPECS, where
        assert v.source.strip(), where
        assert v.confidence in CONFIDENCE, where
        assert v.effective_to is None or v.effective_to >= v.effective_from, where
        SPECS[v.key].encode(v.value)
        assert v.display, where


@pytest.mark.parametrize("area", ["610902001001", "610102001", "442000001", "440103001"])
@pytest.mark.parametrize("on", [dt.date(2024, 7, 1), dt.date(2025, 7, 1), dt.date(2026, 1, 1)])
def test_every_dibao_parameter_has_a_value(area: str, on: dt.date) -> None:
    pset = STORE.parameter_set(on, [area], allow_unconfirmed=True)
    for key in sorted(closure("dibao")):
        pset.column(key)  # raises ParameterMissing naming the key


# --- (c) money --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.125, 1.005, 0.1 + 0.2, 12.3456, float("nan"), float("inf"), -float("inf"),
                                   "NaN", "nan", "Infinity", "sNaN", True, False, None, "", "abc", "1.234", "1,000",
                                   [1], {"yuan": 1}])  # fmt: skip
def test_parse_yuan_refuses(value: object) -> None:
    with pytest.raises(ValueError):
        parse_yuan(value)


@pytest.mark.parametrize("value", ["1e30", "99999999999999999999999999999", 1e300])
def test_parse_yuan_refuses_huge_values_with_value_error(value: object) -> None:
    """Callers (inputs, parameter packs) catch ValueError: a decimal.InvalidOperation from quantize() must not escape."""
    with pytest.raises(ValueError):
        parse_yuan(value)


@pytest.mark.parametrize("value,fen", [("760.00", 76000), (" 12.3 ", 1230), (1.5, 150), (0.1, 10), (10, 1000),
                                       (Decimal("0.01"), 1), ("0", 0), ("-1.00", -100), (1e3, 100000)])  # fmt: skip
def test_parse_yuan_accepts(value: object, fen: int) -> None:
    assert parse_yuan(value) == fen


@HYP
@given(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_parse_yuan_exact_on_two_places(d: Decimal) -> None:
    assert parse_yuan(str(d)) == int(d * 100)
    assert parse_yuan(d) == int(d * 100)


@HYP
@given(st.one_of(st.floats(-1e12, 1e12), st.sampled_from([float("nan"), float("inf"), -float("inf")])))
def test_parse_yuan_floats_only_as_written(f: float) -> None:
    d = Decimal(repr(f)) if f == f and abs(f) != float("inf") else None
    if d is not None and d == d.quantize(Decimal("0.01")):
        assert parse_yuan(f) == int(d * 100)
    else:
        with pytest.raises(ValueError):
            parse_yuan(f)


ROUND_TABLE = {  # fen → expected per mode
    0: (0, 0, 0, 0),
    1: (1, 10, 100, 0),
    10: (10, 10, 100, 0),
    11: (11, 20, 100, 0),
    49: (49, 50, 100, 0),
    50: (50, 50, 100, 100),
    99: (99, 100, 100, 100),
    100: (100, 100, 100, 100),
    101: (101, 110, 200, 100),
    149: (149, 150, 200, 100),
    150: (150, 150, 200, 200),
    47999: (47999, 48000, 48000, 48000),
    48001: (48001, 48010, 48100, 48000),
}


@pytest.mark.parametrize("mode", range(len(ROUNDING_MODES)))
def test_round_fen_modes(mode: int) -> None:
    amounts = np.asarray(list(ROUND_TABLE), dtype=np.int64)
    want = [w[mode] for w in ROUND_TABLE.values()]
    assert round_fen(amounts, mode).tolist() == want
    assert round_fen(amounts, np.full(len(amounts), mode)).tolist() == want


_DEC_MODE = {"fen": (Decimal("0.01"), ROUND_CEILING), "jiao_up": (Decimal("0.1"), ROUND_CEILING),
             "yuan_up": (Decimal("1"), ROUND_CEILING), "yuan_half_up": (Decimal("1"), ROUND_HALF_UP)}  # fmt: skip


@HYP
@given(st.lists(st.tuples(st.integers(0, 10**13), st.integers(0, len(ROUNDING_MODES) - 1)), min_size=1, max_size=20))
def test_round_fen_matches_decimal(rows: list[tuple[int, int]]) -> None:
    amounts = np.asarray([a for a, _ in rows], dtype=np.int64)
    modes = np.asarray([m for _, m in rows], dtype=np.int64)
    got = round_fen(amounts, modes).tolist()
    for (a, m), g in zip(rows, got, strict=True):
        step, how = _DEC_MODE[ROUNDING_MODES[m]]
        assert g == int((Decimal(a) / 100).quantize(step, rounding=how) * 100), (a, ROUNDING_MODES[m])


def _dec_ratio(fen: int, bp: int) -> int:
    return int((Decimal(fen) * Decimal(bp) / Decimal(10000)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@HYP
@given(st.lists(st.tuples(st.integers(-10**13, 10**13), st.integers(0, 100_000)), min_size=1, max_size=30))
def test_mul_ratio_exact(rows: list[tuple[int, int]]) -> None:
    fen = np.asarray([f for f, _ in rows], dtype=np.int64)
    bp = np.asarray([b for _, b in rows], dtype=np.int64)
    assert mul_ratio(fen, bp).tolist() == [_dec_ratio(f, b) for f, b in rows]


@pytest.mark.parametrize("fen,bp,want", [(5, 5000, 3), (-5, 5000, -3), (58000, 1000, 5800), (1, 4999, 0),
                                         (1, 5000, 1), (174000, 15000, 261000), (0, 99999, 0)])  # fmt: skip
def test_mul_ratio_half_up(fen: int, bp: int, want: int) -> None:
    assert int(mul_ratio(np.int64(fen), np.int64(bp))) == want


# --- cases as data ----------------------------------------------------------------------------------------


def _cases() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        for i, case in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
            if "error" not in case:
                out.append((f"{path.stem}:{i}:{case.get('name', '')}", case))
    return out


def _store_for(case: dict[str, Any]) -> ParameterStore:
    if not case.get("parameters"):
        return STORE
    store = STORE.copy()
    for p in case["parameters"]:
        scope = str(p.get("scope", "000000"))
        store.add(ParamValue(key=p["key"], scope="" if scope == "000000" else divisions.normalise(scope),
                             effective_from=dt.date.fromisoformat(str(p["from"])), value=p["value"],
                             source=p.get("source", "case"), confidence=p.get("confidence", "H"), origin="case"))  # fmt: skip
    return store


def _programmes(case: dict[str, Any]) -> list[str]:
    return list(case.get("programmes") or PROGRAMMES)


CASE_LIST = _cases()


# --- (d) vectorised = one by one --------------------------------------------------------------------------


def _vars(programmes: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    out: list[str] = []
    for p in programmes:
        prog = PROGRAMMES[p]
        out += [prog.eligible, prog.amount, *prog.outputs]
    return list(dict.fromkeys([*out, *extra]))


def _per_household(res: Any, var: str, h: int) -> list[int]:
    arr = res.get(var)
    variable = res.simulation.tax_benefit_system.variables[var]
    if variable.entity.is_person:
        return [int(x) for x in arr[res.columns.household_of == h]]
    return [int(arr[h])]


def _compare_batch(households: list[dict[str, Any]], store: ParameterStore, on: dt.date, programmes: list[str],
                   allow: bool, extra: tuple[str, ...] = ()) -> None:  # fmt: skip
    names = _vars(programmes, extra)
    singles = []
    for hh in households:
        res = evaluate_columns(columns_from_json([hh], on), store, on=on, programmes=programmes, allow_unconfirmed=allow)
        singles.append(({v: _per_household(res, v, 0) for v in names}, {p: bool(res.blocked[p][0]) for p in programmes}))
    batch = evaluate_columns(columns_from_json(households, on), store, on=on, programmes=programmes,
                             allow_unconfirmed=allow)  # fmt: skip
    for h, (want, blocked) in enumerate(singles):
        got = {v: _per_household(batch, v, h) for v in names}
        assert got == want, (h, households[h])
        assert {p: bool(batch.blocked[p][h]) for p in programmes} == blocked


def _groups() -> list[Any]:
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, case in CASE_LIST:
        key = json.dumps([str(case["period"]), case.get("mode", "demo"), case.get("parameters") or [],
                          _programmes(case)], default=str, sort_keys=True)  # fmt: skip
        groups.setdefault(key, []).append((name, case))
    return [pytest.param(g, id=f"{g[0][0]}+{len(g) - 1}") for g in groups.values()]


@pytest.mark.parametrize("group", _groups())
def test_batch_of_repeated_case_inputs_equals_single_evaluations(group: list[tuple[str, dict[str, Any]]]) -> None:
    case = group[0][1]
    on = dt.date.fromisoformat(str(case["period"]))
    store, programmes = _store_for(case), _programmes(case)
    for name, c in group:
        try:
            evaluate_columns(columns_from_json([c["input"]], on), store, on=on, programmes=programmes,
                             allow_unconfirmed=True)  # fmt: skip
        except PolicyError as e:
            pytest.skip(f"{name} does not evaluate ({e}); test_cases reports it")
    inputs = [c["input"] for _, c in group]
    households = [inputs[(i * 7) % len(inputs)] for i in range(len(inputs))] * 3  # repeated, shuffled
    extra = tuple(sorted({v for _, c in group for v in (c.get("output") or {})}))
    _compare_batch(households, store, on, programmes, case.get("mode", "demo") == "demo", extra)


AREA_CHOICES = ["610902001001", "610902001", "610921100", "610102001", "442000001", "442000101", "440103001"]
RELATION_CHOICES = ["spouse", "child", "child", "parent", "grandparent", "grandchild", "sibling", "other_relative",
                    "non_relative"]  # fmt: skip
ON_CHOICES = [dt.date(2024, 7, 1), dt.date(2025, 6, 30), dt.date(2025, 7, 1)]
MONEY = st.one_of(st.just("0"), st.integers(0, 400_000).map(lambda f: f"{f // 100}.{f % 100:02d}"))


@st.composite
def _member(draw: Any, i: int, on: dt.date) -> dict[str, Any]:
    age_days = draw(st.integers(0, 95 * 366))
    birth = on - dt.timedelta(days=age_days)
    m: dict[str, Any] = {"id": f"m{i}", "relation": "applicant" if i == 0 else draw(st.sampled_from(RELATION_CHOICES)),
                         "birth_date": birth.isoformat()}  # fmt: skip
    if draw(st.booleans()):
        m["lives_together"] = draw(st.booleans())
    m["schooling"] = draw(st.sampled_from(["none", "none", "primary", "senior", "tertiary", "postgraduate"]))
    if draw(st.integers(0, 3)) == 0:
        m["disability"] = {"category": draw(st.sampled_from(["hearing", "limb", "intellectual", "mental", "visual"])),
                           "grade": draw(st.integers(1, 4))}  # fmt: skip
    m["serious_illness"] = draw(st.integers(0, 5)) == 0
    m["dependent"] = draw(st.integers(0, 5)) == 0
    m["self_care_failed"] = draw(st.integers(0, 6))
    m["labour_capacity"] = draw(st.sampled_from(["full", "partial", "none"]))
    flags = {}
    if draw(st.integers(0, 6)) == 0:
        flags["clergy_apart_years"] = draw(st.integers(1, 4))
    for fl in ("detained", "missing", "single_parent", "nursing"):
        if draw(st.integers(0, 12)) == 0:
            flags[fl] = True
    m["flags"] = flags
    items = draw(st.lists(st.sampled_from(["wage", "business", "property", "support", "basic_pension", "other_pension",
                                           "elderly_allowance", "employment_cost", "rigid_deduction", "transfer"]),
                          max_size=4, unique=True))  # fmt: skip
    m["income"] = {k: draw(MONEY) for k in items}
    return m


@st.composite
def _households(draw: Any) -> tuple[dt.date, list[dict[str, Any]]]:
    on = draw(st.sampled_from(ON_CHOICES))
    out = []
    for _ in range(draw(st.integers(1, 5))):
        n = draw(st.integers(1, 5))
        hh: dict[str, Any] = {
            "area": draw(st.sampled_from(AREA_CHOICES)),
            "urban_rural": draw(st.sampled_from(["urban", "rural"])),
            "members": [draw(_member(i, on)) for i in range(n)],
            "assets": {"financial": draw(st.sampled_from(["0", "20000.00", "43382.00", "60000.00"])),
                       "houses": draw(st.integers(0, 3)), "housing_area_m2": draw(st.sampled_from(["0", "60", "120.5"])),
                       "vehicles": draw(st.sampled_from([0, 0, 0, 1]))},
        }  # fmt: skip
        if draw(st.booleans()):
            hh["current"] = {"dibao": True, "dibao_amount": draw(MONEY),
                             "gradual_exit_months_used": draw(st.integers(0, 13))}  # fmt: skip
        out.append(hh)
    return on, out


@pytest.mark.parametrize("programme", list(PROGRAMMES))
def test_vectorised_equals_one_by_one_on_random_households(programme: str) -> None:
    extra = ("unit_size", "household_income", "counted_income", "in_unit")
    if programme == "dibao":
        extra += ("dibao_topup", "dibao_single_basis", "dibao_single_amount", "dibao_gap", "dibao_gradual_exit",
                  "asset_failures", "age")  # fmt: skip

    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_households())
    def check(drawn: tuple[dt.date, list[dict[str, Any]]]) -> None:
        on, households = drawn
        try:
            for hh in households:
                evaluate_columns(columns_from_json([hh], on), STORE, on=on, programmes=[programme],
                                 allow_unconfirmed=True)  # fmt: skip
        except ParameterMissing as e:  # the same household must fail the same way in a batch
            with pytest.raises(ParameterMissing):
                evaluate_columns(columns_from_json(households, on), STORE, on=on, programmes=[programme],
                                 allow_unconfirmed=True)  # fmt: skip
            assert e.key in closure(programme)
            return
        _compare_batch(households, STORE, on, [programme], True, extra)
        _compare_batch(households, STORE, on, [programme], False)

    check()


def test_columns_from_json_reports_every_problem_with_its_path() -> None:
    bad = [{"area": "61090200100", "urban_rural": "town", "members": [
        {"id": "a", "relation": "applicant", "birth_date": "1980-02-30", "income": {"wage": "1.001", "tips": "1"}},
        {"id": "a", "relation": "cousin", "birth_date": "1990-01-01", "disability": {"grade": 2}}]}]  # fmt: skip
    with pytest.raises(PolicyInputError) as info:
        columns_from_json(bad * 2, dt.date(2024, 7, 1))
    fields = [f for f, _ in info.value.errors]
    for h in (0, 1):
        for f in ("area", "urban_rural", "members[0].birth_date", "members[0].income.wage", "members[0].income.tips",
                  "members[1].id", "members[1].relation", "members[1].disability.category"):
            assert f"households[{h}].{f}" in fields, fields


# --- (e) every parameter read is declared -----------------------------------------------------------------


@pytest.mark.parametrize("programme", list(PROGRAMMES))
def test_parameter_reads_are_declared(programme: str) -> None:
    allowed = closure(programme)
    undeclared: dict[str, set[str]] = {}
    ran = 0
    for name, case in CASE_LIST:
        if programme not in _programmes(case):
            continue
        on = dt.date.fromisoformat(str(case["period"]))
        cols = columns_from_json([case["input"]], on)
        try:
            res = evaluate_columns(cols, _store_for(case), on=on, programmes=[programme], trace=True,
                                   allow_unconfirmed=case.get("mode", "demo") == "demo")  # fmt: skip
            explain_household(res, 0, with_trace=True)
        except ParameterMissing as e:
            if e.key not in allowed:
                undeclared.setdefault(name, set()).add(e.key)
            continue
        ran += 1
        extra = res.ctx.accessed - allowed
        if extra:
            undeclared[name] = extra
    assert not undeclared, f"{programme} reads parameters outside closure({programme!r}): {undeclared}"
    if programme == "dibao":
        assert ran >= 50


def test_columns_skip_mode_leaves_out_invalid_households_in_one_pass() -> None:
    """A batch (the 调标 preview) can leave out the households the engine refuses and say why, instead of failing."""
    import datetime as _dt

    from jiuzhu.policy.inputs import columns_from_json as _cfj

    good = {"id": "g", "area": "610902100001", "urban_rural": "rural",
            "members": [{"id": "a", "relation": "applicant", "birth_date": "1950-01-01", "income": {"wage": "10.00"}},
                        {"id": "b", "relation": "spouse", "birth_date": "1951-01-01"}]}  # fmt: skip
    bad = {"id": "x", "area": "610902100001", "urban_rural": "rural",
           "members": [{"id": "a", "relation": "applicant", "birth_date": "2030-01-01"}]}  # fmt: skip
    skipped: dict[int, list[tuple[str, str]]] = {}
    cols = _cfj([good, bad, good | {"id": "g2"}] * 150, _dt.date(2025, 7, 1), prefix="households", skipped=skipped)
    assert sorted(skipped) == list(range(1, 450, 3))
    assert skipped[1] == [("households[1].members[0].birth_date", "is after the evaluation date 2025-07-01")]
    assert cols.n_households == 300 and cols.n_persons == 600
    assert cols.ids[:2] == ["g", "g2"] and int(cols.household_of.max()) == 299
    assert int(cols.person["income_wage"].sum()) == 300 * 1000
