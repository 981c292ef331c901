"""Benchmark (not a test): the policy engine on N synthetic households, side by side with two other ways of
writing the same 低保 rules, in one run.

    .venv/bin/python bench/rules.py --size 1000000

Figures (seconds unless named _ms), each the best of --repeat runs (the machine is shared and noisy):
  full_set_s               every programme, from columns in memory to results in memory (parameter resolution,
                           simulation building and all formulas included)
  dibao_s                  the 低保 programme alone, same path
  numpy_dibao_s            the same 低保 rules written by hand in numpy over the same columns and parameters
                           (its amounts are checked equal to the engine's, household by household)
  openfisca_idiom_dibao_s  the engine's 低保 with every parameter read through OpenFisca's documented idiom
                           for region-keyed parameters (``parameters(period).node[area_enum_array]``) instead
                           of the vectorised lookup table
  single_trace_p95_ms      one household, JSON in → explained result with a full trace, p95 over --singles runs
The last line of output is one JSON object with these and the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jiuzhu.policy import divisions  # noqa: E402
from jiuzhu.policy.engine import evaluate, evaluate_columns  # noqa: E402
from jiuzhu.policy.inputs import PERSON_FIELDS, Columns  # noqa: E402
from jiuzhu.policy.money import mul_ratio, round_fen  # noqa: E402
from jiuzhu.policy.parameters.store import load_packs  # noqa: E402
from jiuzhu.policy.rules import PROGRAMMES  # noqa: E402
from jiuzhu.policy.rules import common as C  # noqa: E402
from jiuzhu.policy.rules import dibao as D  # noqa: E402

ON = dt.date(2025, 7, 1)


def synth_columns(n_households: int, seed: int = 7) -> Columns:
    """A province-like population: ~2.6 persons per household over ~3,000 villages of Ankang (611 townships'
    worth of codes are not needed: 139 townships × 22 villages)."""
    rng = np.random.default_rng(seed)
    townships = sorted(c for c in divisions._names() if len(c) == 9 and c.startswith("6109"))
    villages = np.asarray([f"{t}{v:03d}" for t in townships for v in range(1, 23)], dtype="U12")
    m = n_households
    sizes = rng.choice([1, 2, 3, 4, 5], size=m, p=[0.25, 0.27, 0.22, 0.17, 0.09])
    n = int(sizes.sum())
    hh_of = np.repeat(np.arange(m), sizes)
    starts = np.cumsum(sizes) - sizes
    pos = np.arange(n) - starts[hh_of]
    head_age = rng.integers(22, 95, size=m)
    rel = np.where(pos == 0, 0, np.where(pos == 1, np.where(rng.random(n) < 0.7, 1, 2), np.where(rng.random(n) < 0.85, 2, 3)))
    age = np.where(pos == 0, head_age[hh_of], 0)
    age = np.where(rel == 1, np.clip(head_age[hh_of] + rng.integers(-6, 7, size=n), 18, 100), age)
    age = np.where(rel == 2, np.clip(head_age[hh_of] - rng.integers(20, 36, size=n), 0, 80), age)
    age = np.where(rel == 3, np.clip(head_age[hh_of] + rng.integers(20, 30, size=n), 40, 105), age)
    birth_year = ON.year - age - (rng.random(n) < 0.5)
    birth = birth_year * 10000 + rng.integers(1, 13, size=n) * 100 + rng.integers(1, 29, size=n)
    p: dict[str, np.ndarray] = {f.name: np.zeros(n, dtype=np.bool_ if f.kind == "bool" else np.int64) for f in PERSON_FIELDS}
    p["relation"] = rel.astype(np.int64)
    p["birth_ymd"] = birth.astype(np.int64)
    p["sex"] = rng.integers(1, 3, size=n)
    p["lives_together"] = rng.random(n) < 0.95
    disabled = rng.random(n) < 0.08
    p["disability_category"] = np.where(disabled, rng.integers(1, 8, size=n), 0)
    p["disability_grade"] = np.where(disabled, rng.integers(1, 5, size=n), 0)
    p["serious_illness"] = rng.random(n) < 0.05
    p["self_care_failed"] = np.where(age >= 70, rng.integers(0, 7, size=n), 0)
    p["schooling"] = np.where((age >= 6) & (age < 22), np.clip((age - 3) // 4, 1, 5), 0)
    p["labour_capacity"] = np.where(disabled & (p["disability_grade"] <= 2), 2, 0)
    working = (age >= 18) & (age < 60) & ~disabled
    p["income_wage"] = np.where(working & (rng.random(n) < 0.55), rng.integers(300, 3500, size=n) * 100, 0)
    p["income_employment_cost"] = np.where(p["income_wage"] > 0, rng.integers(0, 400, size=n) * 100, 0)
    p["income_basic_pension"] = np.where(age >= 60, rng.integers(150, 260, size=n) * 100, 0)
    p["income_other_pension"] = np.where((age >= 60) & (rng.random(n) < 0.1), rng.integers(1500, 3500, size=n) * 100, 0)
    p["income_business"] = np.where(rng.random(n) < 0.05, rng.integers(100, 2000, size=n) * 100, 0)
    p["income_transfer"] = np.where(rng.random(n) < 0.2, rng.integers(10, 100, size=n) * 100, 0)
    p["income_support"] = np.where((age >= 60) & (rng.random(n) < 0.3), rng.integers(100, 600, size=n) * 100, 0)
    p["income_elderly_allowance"] = np.where(age >= 80, 5000, 0)
    p["tekun_recipient"] = (sizes[hh_of] == 1) & (age >= 60) & (rng.random(n) < 0.2)
    p["obligor_for"] = np.full(n, -1, dtype=np.int64)
    u = rng.random(n)  # some minors are orphans (both parents dead) or 事实无人抚养 (one dead, one detained)
    p["parent1_status"] = np.where((age < 18) & (u < 0.015), 1, 0)
    p["parent2_status"] = np.where((age < 18) & (u < 0.005), 1, np.where((age < 18) & (u < 0.015), 5, 0))
    h: dict[str, np.ndarray] = {
        "urban": rng.random(m) < 0.2,
        "assets_financial": np.where(rng.random(m) < 0.7, rng.integers(0, 20000, size=m), rng.integers(20000, 200000, size=m)) * 100,
        "assets_houses": rng.choice([0, 1, 2], size=m, p=[0.1, 0.8, 0.1]),
        "assets_housing_area_x100": rng.integers(20, 200, size=m) * 100 * 100,
        "assets_vehicles": (rng.random(m) < 0.04).astype(np.int64),
        "rigid_medical": np.where(rng.random(m) < 0.2, rng.integers(1000, 60000, size=m) * 100, 0),
        "rigid_education": np.where(rng.random(m) < 0.1, rng.integers(1000, 20000, size=m) * 100, 0),
        "rigid_rehabilitation": np.zeros(m, dtype=np.int64),
        "rigid_living": rng.integers(3000, 12000, size=m) * 100,
        "rigid_other": np.zeros(m, dtype=np.int64),
        "temp_type": np.where(rng.random(m) < 0.03, rng.integers(1, 3, size=m), 0),
        "temp_tier": np.zeros(m, dtype=np.int64),
        "temp_one_matter": rng.random(m) < 0.002,
        "current_dibao": rng.random(m) < 0.3,
        "current_dibao_amount": rng.integers(100, 2000, size=m) * 100,
        "gradual_exit_used": rng.integers(0, 13, size=m),
    }
    h["temp_tier"] = np.where(h["temp_type"] > 0, rng.integers(1, 4, size=m), 0)
    for k, v in list(h.items()):
        h[k] = v.astype(np.bool_ if v.dtype == np.bool_ else np.int64)
    # areas as int64 division codes (natural-length codes have no leading zero): what a Parquet batch carries
    area = villages.astype(np.int64)[rng.integers(0, len(villages), size=m)]
    return Columns(person=p, household=h, household_of=hh_of.astype(np.int64), area=area)


def numpy_dibao(cols: Columns, pset, area_index: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The rules of rules/common.py + rules/dibao.py, written directly in numpy (no OpenFisca)."""
    P = {k: pset.column(k) for k in D.PARAMS}
    hh, pa = area_index, area_index[cols.household_of]
    p, h, of = cols.person, cols.household, cols.household_of
    m = cols.n_households
    age = (ON.year * 10000 + ON.month * 100 + ON.day - p["birth_ymd"]) // 10000
    rel = p["relation"]
    R = C.R
    together = p["lives_together"]
    school = np.isin(p["schooling"], C.IN_SCHOOL_TO_BACHELOR)
    always = (rel == R["applicant"]) | (rel == R["spouse"])
    child_in = (rel == R["child"]) & ((age < 18) | p["dependent"] | school | together)
    kin = np.isin(rel, [R["parent"], R["grandparent"], R["grandchild"], R["sibling"], R["child"]])
    no_duty = np.isin(rel, [R["other_relative"], R["non_relative"]])
    excl = np.where(always | child_in, 0, np.where(no_duty, 5, np.where(kin & ~together, 4, 0)))
    excl = np.where(p["missing"], 3, excl)
    excl = np.where(p["detained"], 2, excl)
    clergy = p["clergy_apart_years"]
    excl = np.where((clergy > 0) & (clergy >= P[C.CLERGY_YEARS][pa]), 1, excl)
    in_unit = excl == 0
    n_unit = np.bincount(of, weights=in_unit, minlength=m).astype(np.int64)
    g = p["disability_grade"]
    sev = (g >= 1) & (g <= 2)
    severe = sev | ((g == 3) & np.isin(p["disability_category"], [5, 6]))
    exempt = (P[C.EXEMPT_SUPPORT][pa] == 1) & severe & (age >= 18) & (p["income_wage"] == 0)
    emp = np.minimum(np.minimum(p["income_employment_cost"], p["income_wage"]), P[C.EMPLOYMENT_COST_CAP][pa])
    gross = (p["income_wage"] - emp + p["income_business"] + p["income_property"] + p["income_transfer"]
             + np.where(exempt, 0, p["income_support"])
             + np.where(P[C.EXCLUDE_BASIC_PENSION][pa] == 1, 0, p["income_basic_pension"])
             + np.where(P[C.COUNT_ELDERLY_ALLOWANCE][pa] == 1, p["income_elderly_allowance"], 0)
             + p["income_other_pension"])  # fmt: skip
    counted = np.maximum(gross - p["income_rigid_deduction"], 0)
    income = np.bincount(of, weights=counted * in_unit, minlength=m).astype(np.int64)
    std = np.where(h["urban"], P[D.STANDARD_URBAN][hh], P[D.STANDARD_RURAL][hh])
    nn = np.maximum(n_unit, 1)
    ref = np.where(h["urban"], P[C.DPI_URBAN][hh], P[C.DPI_RURAL][hh])
    fin = h["assets_financial"] > mul_ratio(ref, P[C.FINANCIAL_MULTIPLE][hh]) * nn
    housing = (h["assets_houses"] >= P[C.HOUSE_LIMIT][hh]) & (h["assets_housing_area_x100"] > P[C.AVG_HOUSING][hh] * 100 * nn)
    veh = (h["assets_vehicles"] > 0) & (P[C.VEHICLE_ALLOWED][hh] == 0)
    assets_ok = ~(fin | housing | veh)
    income_test = (n_unit > 0) & (income < std * n_unit)
    whole = income_test & assets_ok
    gap = np.where(whole, np.maximum(std * n_unit - income, 0), 0)
    near = (n_unit > 0) & (income * 10000 < std * n_unit * P[D.NEAR_MULTIPLE][hh]) & assets_ok
    std_p = std[of]
    bits = ((age >= P[D.TOPUP_ELDERLY_AGE][pa]) * 1 + (age < 18) * 2 + sev * 4 + p["serious_illness"] * 8
            + np.isin(p["schooling"], D.STUDENT) * 16 + (p["single_parent"] & (age < 18)) * 32 + p["nursing"] * 64)  # fmt: skip
    total = np.zeros(len(of), dtype=np.int64)
    best = np.zeros(len(of), dtype=np.int64)
    for k, bit, _ in D.CATEGORIES:
        amt = np.where((bits & bit) > 0, mul_ratio(std_p, P[D.TOPUP_PCT[k]][pa]) + P[D.TOPUP_FIXED[k]][pa], 0)
        total += amt
        best = np.maximum(best, amt)
    topup_raw = np.where(P[D.TOPUP_STACK][pa] == 1, total, best)
    cat = p["disability_category"]
    disab = sev | ((g == 3) & np.isin(cat, [5, 6]))
    adult_sev = (P[D.SINGLE_ADULT_SEVERE][pa] == 1) & sev & (age >= 18) & (p["income_wage"] == 0)
    basis = np.where(excl == 1, 3, 0)
    basis = np.where(in_unit & near[of] & disab, 1, basis)
    basis = np.where(in_unit & near[of] & ~disab & p["serious_illness"], 2, basis)
    basis = np.where(in_unit & (basis == 0) & adult_sev, 4, basis)
    basis = np.where(whole[of] & (excl != 1), 0, basis)
    single = (basis > 0) & (counted < std_p)
    topup = np.where((whole[of] & in_unit) | single, topup_raw, 0)
    single_amt = np.where(single, round_fen(np.maximum(std_p - counted + topup, 0), P[C.ROUNDING][pa]), 0)
    employed = np.bincount(of, weights=(p["income_wage"] * in_unit) > 0, minlength=m) > 0
    gradual = h["current_dibao"] & ~income_test & assets_ok & employed & (h["gradual_exit_used"] < P[D.GRADUAL_MONTHS][hh])
    any_single = np.bincount(of, weights=single, minlength=m) > 0
    mode = np.where(whole, 1, np.where(gradual, 3, np.where(any_single, 2, 0)))
    topups = np.bincount(of, weights=topup, minlength=m).astype(np.int64)
    whole_amt = np.maximum(round_fen(gap + topups, P[C.ROUNDING][hh]), P[D.MINIMUM_PAYMENT][hh])
    singles = np.bincount(of, weights=single_amt, minlength=m).astype(np.int64)
    return np.select([mode == 1, mode == 3, mode == 2], [whole_amt + singles, h["current_dibao_amount"], singles], 0)


def idiom_lookup(pset):  # type: ignore[no-untyped-def]
    """Parameter reads through OpenFisca's parameter tree: one node per key with one child per area, indexed by
    an enum array of areas — the documented idiom for region-keyed parameters."""
    from openfisca_core.indexed_enums import Enum
    from openfisca_core.parameters import ParameterNode
    from openfisca_core.periods import instant

    # Keyed by county, the finest level at which the shipped packs vary (keyed by village the idiom is another
    # ~300x slower: it compares the whole array once per enum member).
    counties = sorted({a[:6] for a in pset.areas})
    county_of_area = np.asarray([counties.index(a[:6]) for a in pset.areas], dtype=np.int16)
    first_area = [next(i for i, a in enumerate(pset.areas) if a[:6] == c) for c in counties]
    names = [f"a{c}" for c in counties]
    area_enum = Enum("County", [(nm, nm) for nm in names])  # type: ignore[misc]
    data = {}
    for key in PROGRAMMES["dibao"].params:
        col = pset.column(key)
        assert all(col[i] == col[first_area[county_of_area[i]]] for i in range(len(col))), f"{key} varies below county"
        data[key.replace(".", "__")] = {nm: {"values": {"2000-01-01": int(col[first_area[j]])}} for j, nm in enumerate(names)}
    at = ParameterNode("bench", data=data).get_at_instant(instant(ON))

    def lookup(key: str, idx: np.ndarray) -> np.ndarray:
        arr = area_enum.encode(county_of_area[idx])
        return np.asarray(at[key.replace(".", "__")][arr]).astype(np.int64)

    return lookup


def timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


SINGLE = {
    "id": "bench", "area": "610902100001", "urban_rural": "rural", "assets": {"financial": "5000.00"},
    "members": [
        {"id": "p1", "relation": "applicant", "birth_date": "1950-03-01", "income": {"basic_pension": "180.00"}},
        {"id": "p2", "relation": "spouse", "birth_date": "1953-05-01", "disability": {"category": "limb", "grade": 2},
         "self_care_failed": 4},
        {"id": "p3", "relation": "child", "birth_date": "2010-09-01", "schooling": "junior"},
        {"id": "p4", "relation": "child", "birth_date": "1985-01-01", "lives_together": False,
         "income": {"wage": "3000.00"}, "obligor_for": "p1"},
    ],
    "temporary": {"type": "emergency", "tier": 2},
}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--singles", type=int, default=200)
    ap.add_argument("--skip-idiom", action="store_true", help="the idiom run is the slow one")
    args = ap.parse_args()

    store = load_packs()
    t = time.perf_counter()
    cols = synth_columns(args.size)
    print(f"synthesized {cols.n_households:,} households / {cols.n_persons:,} persons in {time.perf_counter() - t:.1f} s", flush=True)

    evaluate_columns(synth_columns(1000), store, on=ON, allow_unconfirmed=True)  # warm-up: builds the system once
    full_s, full = timed(lambda: evaluate_columns(cols, store, on=ON, allow_unconfirmed=True), args.repeat)
    print(f"full programme set: {full_s:.3f} s", flush=True)
    dibao_s, res = timed(lambda: evaluate_columns(cols, store, on=ON, allow_unconfirmed=True, programmes=["dibao"]), args.repeat)
    print(f"dibao alone: {dibao_s:.3f} s", flush=True)

    area_index = res.ctx.hh_area  # type: ignore[attr-defined]
    pset = res.pset  # type: ignore[attr-defined]
    np_s, np_amount = timed(lambda: numpy_dibao(cols, pset, area_index), args.repeat)
    engine_amount = res.values["dibao_amount"]  # type: ignore[attr-defined]
    mismatches = int(np.count_nonzero(np_amount != engine_amount))
    print(f"hand-written numpy dibao: {np_s:.3f} s (mismatches vs engine: {mismatches})", flush=True)

    idiom_s = None
    if not args.skip_idiom:
        def run_idiom():  # type: ignore[no-untyped-def]
            from jiuzhu.policy.engine import _period, build_simulation

            sim = build_simulation(cols, pset, area_index)
            sim.jz.lookup = idiom_lookup(pset)
            return sim.calculate("dibao_amount", _period(ON))

        idiom_s, idiom_amount = timed(run_idiom, 1)
        assert np.array_equal(idiom_amount, engine_amount), "idiom run disagrees with the engine"
        print(f"OpenFisca idiom dibao: {idiom_s:.3f} s", flush=True)

    times = []
    for _ in range(args.singles):
        t = time.perf_counter()
        evaluate(SINGLE, store, on=ON, allow_unconfirmed=True, trace=True)
        times.append((time.perf_counter() - t) * 1000)
    p95 = statistics.quantiles(times, n=20)[-1]
    print(f"one household with trace: p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms", flush=True)
    amounts = {p: int(full.values[PROGRAMMES[p].amount].sum()) for p in full.programmes}  # type: ignore[attr-defined]
    eligible = {p: int(full.values[PROGRAMMES[p].eligible].sum()) for p in full.programmes}  # type: ignore[attr-defined]
    print(json.dumps({
        "households": cols.n_households, "persons": cols.n_persons, "programmes": list(full.programmes),  # type: ignore[attr-defined]
        "full_set_s": round(full_s, 3), "dibao_s": round(dibao_s, 3), "numpy_dibao_s": round(np_s, 3),
        "openfisca_idiom_dibao_s": round(idiom_s, 3) if idiom_s is not None else None,
        "single_trace_p95_ms": round(p95, 2),
        "dibao_vs_numpy": round(dibao_s / np_s, 2),
        "idiom_vs_dibao": round(idiom_s / dibao_s, 1) if idiom_s is not None else None,
        "numpy_mismatches": mismatches, "eligible_households": eligible, "amount_fen_total": amounts,
    }, ensure_ascii=False))  # fmt: skip


if __name__ == "__main__":
    main()
