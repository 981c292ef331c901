"""Runs every YAML case in jiuzhu/policy/cases (see its README): inputs → expected outputs, intermediate values
included, exact to the fen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from jiuzhu.policy import errors
from jiuzhu.policy.engine import evaluate_columns, explain_household
from jiuzhu.policy.inputs import columns_from_json
from jiuzhu.policy.money import parse_yuan
from jiuzhu.policy.parameters.store import ParamValue, load_packs
from jiuzhu.policy.rules import PROGRAMMES

CASES = Path(__file__).resolve().parent.parent / "cases"
_STORE = load_packs()


def _load() -> list[Any]:
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        for i, case in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")) or []):
            out.append(pytest.param(case, id=f"{path.stem}:{i}:{case.get('name', '')}"))
    return out


def _store(case: dict[str, Any]):  # type: ignore[no-untyped-def]
    if not case.get("parameters"):
        return _STORE
    store = _STORE.copy()
    for p in case["parameters"]:
        scope = str(p.get("scope", "000000"))
        from jiuzhu.policy import divisions

        store.add(ParamValue(key=p["key"], scope="" if scope == "000000" else divisions.normalise(scope),
                             effective_from=dt.date.fromisoformat(str(p["from"])), value=p["value"],
                             source=p.get("source", "case"), confidence=p.get("confidence", "H"),
                             origin="case"))  # fmt: skip
    return store


def _expected(var: str, value: Any, res: Any) -> Any:
    variable = res.simulation.tax_benefit_system.variables[var]
    if getattr(variable, "unit", None) == "fen":
        return parse_yuan(value)
    return value


@pytest.mark.parametrize("case", _load())
def test_case(case: dict[str, Any]) -> None:
    on = dt.date.fromisoformat(str(case["period"]))
    store = _store(case)
    allow = case.get("mode", "demo") == "demo"
    if "error" in case:
        exc_type = getattr(errors, case["error"]["type"])
        with pytest.raises(exc_type) as info:
            cols = columns_from_json([case["input"]], on)
            res = evaluate_columns(cols, store, on=on, allow_unconfirmed=allow)
            explain_household(res, 0)
        if "field" in case["error"]:
            fields = [f for f, _ in info.value.errors]
            assert case["error"]["field"] in fields, fields
        if "key" in case["error"]:
            assert info.value.key == case["error"]["key"]
        return
    cols = columns_from_json([case["input"]], on)
    progs = list(case.get("programmes", {}) or PROGRAMMES)
    res = evaluate_columns(cols, store, on=on, allow_unconfirmed=allow, programmes=progs, trace=True)
    ids = cols.member_ids[0]
    failures = []
    for var, want in (case.get("output") or {}).items():
        got = res.get(var)
        variable = res.simulation.tax_benefit_system.variables[var]
        if variable.entity.is_person:
            assert isinstance(want, dict), f"{var} is a person variable: give {{member id: value}}"
            for mid, w in want.items():
                g = got[ids.index(str(mid))]
                if _expected(var, w, res) != (bool(g) if isinstance(w, bool) else int(g)):
                    failures.append(f"{var}[{mid}]: expected {w!r}, got {g!r}")
        else:
            g = got[0]
            if _expected(var, want, res) != (bool(g) if isinstance(want, bool) else int(g)):
                failures.append(f"{var}: expected {want!r}, got {g!r}")
    explained = explain_household(res, 0, with_trace=True)
    for prog, want in (case.get("programmes") or {}).items():
        got = explained["programmes"][prog]
        for k, w in want.items():
            if k == "reasons_contain":
                text = "\n".join(got["reasons"] + [r for p in got.get("persons", []) for r in p["reasons"]])
                failures += [f"{prog}.reasons lacks {x!r}:\n{text}" for x in w if x not in text]
            elif got.get(k) != w:
                failures.append(f"{prog}.{k}: expected {w!r}, got {got.get(k)!r}")
    assert not failures, "\n".join(failures)
