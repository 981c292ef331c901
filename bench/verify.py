"""Benchmark (not a test): bulk re-verification's core — the per-person aggregates and per-household differences
of ``jiuzhu.verification.bulk.compute`` — on N synthetic persons and six departmental feeds of N rows each, side
by side with the same joins and aggregations written as one plain DuckDB SQL statement, in one run.

    .venv/bin/python bench/verify.py --size 1000000

The inputs are Parquet files in a temporary directory (not the database: this measures the join and
aggregation engine): the persons (32-hex blind-index keys, households of 1–5, declared incomes), the
households' declared assets, and six feeds — 人社 wages/pensions, 税务 wages, 不动产 houses, 车辆, 银行
deposits/securities/insurance, 殡葬 deaths — each about a share of the persons (3–70 %), some of them on
several rows, the others on none, plus rows about persons outside the registry (10 %; 98 % of the deaths),
rows dated after the day and incomes older than the lookback.

Figures (seconds, each the best of --repeat runs; the machine is shared and noisy):
  jiuzhu_s      ``bulk.compute`` reading the Parquet files: what the job computes (per-member aggregates and
                assessed incomes, every difference as a row, the household summary), as Arrow tables
  duckdb_sql_s  one plain DuckDB SQL statement over the same files giving the household summary alone
Neither sorts its output; both use every core (DuckDB threads = cores). The two household summaries are checked equal, household by household. The last line of output is one JSON
object with these, the ratio and the sizes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ON = dt.date(2025, 12, 15)
EPOCH = dt.date(1970, 1, 1)
FEEDS = ("hrss", "tax", "real_estate", "vehicle", "bank", "funeral")


def _setup(tmp: Path) -> None:
    """``bulk`` imports Django models: a throw-away settings environment (no database is used)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiuzhu.settings")
    os.environ["JIUZHU_VAR_DIR"] = str(tmp / "var")
    os.environ["JIUZHU_MODE"] = "demo"
    os.environ["JIUZHU_KEY_FILE"] = str(tmp / "keys.json")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    import django

    django.setup()


# --- synthetic inputs ------------------------------------------------------------------------------------------


def _keys(rng: np.random.Generator, n: int) -> pa.Array:
    """n random 32-hex keys (like the HMAC blind index), built as one buffer."""
    data = rng.bytes(16 * n).hex().encode()
    offsets = np.arange(0, 32 * n + 1, 32, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


MONEY = pa.decimal128(18, 2)


def _money(fen: np.ndarray, type_: pa.DataType = MONEY, null: np.ndarray | None = None) -> pa.Array:
    """Non-negative int64 fen → decimal(…, 2) without a Python object per value."""
    fen = np.asarray(fen, dtype=np.int64)
    assert (fen >= 0).all()
    buf = np.stack([fen, np.zeros_like(fen)], axis=1).ravel()
    arr = pa.Array.from_buffers(type_, len(fen), [None, pa.py_buffer(buf.tobytes())])
    if null is not None:
        arr = pc.if_else(pa.array(null), pa.scalar(None, type_), arr)
    return arr


def _month(offsets: np.ndarray) -> np.ndarray:
    """First days of the months ``offsets`` months before ON's month, as days since 1970 (date32)."""
    ym = ON.year * 12 + ON.month - 1 - np.asarray(offsets, dtype=np.int64)
    months = (ym - 1970 * 12).astype("datetime64[M]")
    return months.astype("datetime64[D]").astype(np.int64).astype(np.int32)


def _choice(rng: np.random.Generator, n: int, values: list[str], p: list[float]) -> pa.Array:
    return pa.array(np.asarray(values)[rng.choice(len(values), size=n, p=p)])


def synth(size: int, tmp: Path, seed: int = 11) -> dict[str, object]:
    from jiuzhu.verification.bulk import HOUSEHOLDS_SCHEMA, MEMBERS_SCHEMA, RECORDS_SCHEMA

    rng = np.random.default_rng(seed)
    n = size
    sizes = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.25, 0.27, 0.22, 0.17, 0.09])
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), n)) + 1]
    sizes[-1] -= int(sizes.sum()) - n
    m = len(sizes)
    hh = np.repeat(np.arange(m, dtype=np.int64), sizes)
    pos = (np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)).astype(np.int32)
    keys = _keys(rng, n)
    u = rng.random(n)
    members = pa.table({
        "pid": np.arange(n, dtype=np.int64), "hh": hh, "pos": pos,
        "member": pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string()), "bi": keys,
        "d_wage": _money(np.where(u < 0.35, rng.integers(500, 3500, size=n) * 100, 0)),
        "d_other": _money(np.where(rng.random(n) < 0.05, rng.integers(1500, 3500, size=n) * 100, 0)),
        "d_basic": _money(np.where(u > 0.8, rng.integers(150, 260, size=n) * 100, 0)),
        "d_business": _money(np.where(rng.random(n) < 0.03, rng.integers(200, 2000, size=n) * 100, 0)),
    }, schema=MEMBERS_SCHEMA)  # fmt: skip
    households = pa.table({
        "hh": np.arange(m, dtype=np.int64), "d_vehicles": (rng.random(m) < 0.05).astype(np.int64),
        "d_houses": rng.choice([0, 1, 2], size=m, p=[0.15, 0.75, 0.10]).astype(np.int64),
        "d_area": _money(rng.integers(20, 200, size=m) * 100),
        "d_fin": _money(np.where(rng.random(m) < 0.7, rng.integers(0, 20000, size=m), rng.integers(20000, 300000, size=m)) * 100),
    }, schema=HOUSEHOLDS_SCHEMA)  # fmt: skip
    paths: dict[str, object] = {"members": tmp / "members.parquet", "households": tmp / "households.parquet"}
    pq.write_table(members, paths["members"])  # type: ignore[arg-type]
    pq.write_table(households, paths["households"])  # type: ignore[arg-type]

    def feed(i: int, source: str, covered: float, matched: float) -> pa.Table:
        """N rows: ``matched`` of them about a random ``covered`` share of the persons (so some persons have several
        rows, most of the others none), the rest about persons outside the registry."""
        k = int(n * matched)
        people = rng.choice(n, size=max(1, int(n * covered)), replace=False)
        who = pc.take(keys, pa.array(people[rng.integers(0, len(people), size=k)]))
        bi = pa.concat_arrays([who, _keys(rng, n - k)])
        months = np.minimum(rng.geometric(0.12, size=n) - 1, 40)  # mostly recent months, a tail of old ones
        months = np.where(rng.random(n) < 0.02, -rng.integers(1, 3, size=n), months)  # reported after the day
        cols: dict[str, object] = {"id": np.arange(n, dtype=np.int64) + i * n, "source": pa.array([source] * n),
                                   "person_bi": bi, "period": pa.array(_month(months), pa.date32()),
                                   "quantity": pa.nulls(n, pa.decimal128(10, 2)), "category": pa.array([""] * n),
                                   "event_date": pa.nulls(n, pa.date32())}  # fmt: skip
        if source == "hrss":
            kind = rng.choice(3, size=n, p=[0.55, 0.40, 0.05])
            cols["kind"] = pa.array(np.asarray(["wage", "pension", "unemployment"])[kind])
            cols["category"] = pa.array(np.where(kind == 1, np.where(rng.random(n) < 0.6, "basic", "employee"), ""))
            fen = np.select([kind == 0, kind == 2], [rng.integers(1800, 9000, size=n) * 100 + rng.integers(0, 100, size=n),
                                                     rng.integers(800, 1500, size=n) * 100],
                            np.where(rng.random(n) < 0.6, rng.integers(150, 260, size=n), rng.integers(1500, 4500, size=n)) * 100)  # fmt: skip
            cols["amount"] = _money(fen, pa.decimal128(14, 2), null=rng.random(n) < 0.01)
        elif source == "tax":
            cols["kind"] = pa.array(["wage"] * n)
            cols["amount"] = _money(rng.integers(3000, 20000, size=n) * 100 + rng.integers(0, 100, size=n), pa.decimal128(14, 2))
        elif source == "real_estate":
            cols["kind"] = pa.array(["house"] * n)
            cols["period"] = pa.array(_month(rng.integers(0, 300, size=n)), pa.date32())
            cols["quantity"] = _money(rng.integers(2000, 20000, size=n), pa.decimal128(10, 2), null=rng.random(n) < 0.02)
            cols["amount"] = _money(rng.integers(50_000, 1_500_000, size=n) * 100, pa.decimal128(14, 2))
        elif source == "vehicle":
            cols["kind"] = pa.array(["vehicle"] * n)
            cols["period"] = pa.array(_month(rng.integers(0, 180, size=n)), pa.date32())
            cols["category"] = _choice(rng, n, ["car", "truck", "motorcycle", "tricycle", "adapted", ""],
                                       [0.38, 0.08, 0.32, 0.15, 0.04, 0.03])  # fmt: skip
            cols["amount"] = _money(rng.integers(2_000, 300_000, size=n) * 100, pa.decimal128(14, 2))
        elif source == "bank":
            cols["kind"] = _choice(rng, n, ["deposit", "securities", "insurance"], [0.7, 0.1, 0.2])
            cols["amount"] = _money((rng.lognormal(8.5, 1.6, size=n) * 100).astype(np.int64), pa.decimal128(14, 2))
        else:  # funeral: the deaths of a province, few of them in this registry
            cols["kind"] = pa.array(["death"] * n)
            days = (ON - EPOCH).days - rng.integers(-60, 3650, size=n)
            cols["event_date"] = pa.array(days.astype(np.int32), pa.date32())
            cols["period"] = cols["event_date"]
            cols["amount"] = pa.nulls(n, pa.decimal128(14, 2))
        return pa.table({f.name: cols[f.name] for f in RECORDS_SCHEMA}, schema=RECORDS_SCHEMA)

    shape = {"hrss": (0.55, 0.9), "tax": (0.30, 0.9), "real_estate": (0.5, 0.9), "vehicle": (0.25, 0.9),
             "bank": (0.7, 0.9), "funeral": (0.03, 0.02)}  # fmt: skip
    paths["feeds"] = []
    for i, source in enumerate(FEEDS):
        t = feed(i, source, *shape[source])
        p = tmp / f"feed_{source}.parquet"
        pq.write_table(t, p)
        paths["feeds"].append(p)  # type: ignore[attr-defined]
    paths["households_n"] = m
    return paths


# --- the two ways ----------------------------------------------------------------------------------------------


def connect():  # type: ignore[no-untyped-def]
    import duckdb

    return duckdb.connect(config={"threads": os.cpu_count() or 2})


def run_jiuzhu(paths: dict[str, object]):  # type: ignore[no-untyped-def]
    from jiuzhu.verification import bulk

    con = connect()
    try:
        feeds = [str(p) for p in paths["feeds"]]  # type: ignore[attr-defined]
        return bulk.compute(con.read_parquet(str(paths["members"])), con.read_parquet(str(paths["households"])),
                            con.read_parquet(feeds), ON, con=con)  # fmt: skip
    finally:
        con.close()


def plain_sql(paths: dict[str, object]) -> str:
    from jiuzhu.verification import assess

    def d(x: dt.date) -> str:
        return f"DATE '{x.isoformat()}'"

    on, since = d(ON), d(assess.months_before(ON, assess.LOOKBACK_MONTHS))
    fresh = d(assess.months_before(ON, assess.WAGE_FRESH_MONTHS))
    feeds = ", ".join(f"'{p}'" for p in paths["feeds"])  # type: ignore[attr-defined]
    beyond = "({f}) - ({d}) > greatest(50, ({d}) * 0.10)"

    def flag(cond: str) -> str:
        return f"count(*) FILTER (WHERE {cond})"

    w = beyond.format(f="wage", d="d_wage")
    o = beyond.format(f="other", d="d_other")
    b = beyond.format(f="basic", d="d_basic")
    fin = beyond.format(f="coalesce(x.fin, 0)", d="h.d_fin")
    return f"""
    WITH m AS (SELECT * FROM read_parquet('{paths["members"]}')),
    r AS (
        SELECT m.pid, r.id, r.source, r.kind, r.period, r.amount, r.quantity, coalesce(r.category, '') AS category,
               r.event_date
        FROM read_parquet([{feeds}]) r JOIN m ON r.person_bi = m.bi
        WHERE r.period <= {on}
    ),
    latest AS (
        SELECT pid, source,
               CASE kind WHEN 'wage' THEN 'w' WHEN 'unemployment' THEN 'u'
                         ELSE (CASE WHEN category = 'basic' THEN 'b' ELSE 'o' END) END AS cat,
               max(period) AS period, arg_max(amount, (period, -id)) AS amount
        FROM r WHERE kind IN ('wage', 'pension', 'unemployment') AND amount IS NOT NULL AND period >= {since}
        GROUP BY ALL
    ),
    inc AS (
        SELECT pid, max(amount) FILTER (WHERE cat = 'w' AND period >= {fresh}) AS wage,
               max(period) FILTER (WHERE cat = 'w' AND period < {fresh}) AS stale,
               greatest(coalesce(max(amount) FILTER (WHERE cat = 'b' AND period >= {fresh}), 0), 0) AS basic,
               greatest(coalesce(max(amount) FILTER (WHERE cat = 'o' AND period >= {fresh}), 0), 0)
               + greatest(coalesce(max(amount) FILTER (WHERE cat = 'u' AND period >= {fresh}), 0), 0) AS other
        FROM latest GROUP BY pid
    ),
    assets AS (
        SELECT pid, count(*) FILTER (WHERE kind = 'house') AS houses,
               coalesce(sum(coalesce(quantity, 0)) FILTER (WHERE kind = 'house'), 0) AS area,
               count(*) FILTER (WHERE kind = 'vehicle' AND category NOT IN ('adapted', 'motorcycle', 'tricycle')) AS vehicles,
               coalesce(sum(amount) FILTER (WHERE kind IN ('deposit', 'securities', 'insurance')), 0) AS fin,
               coalesce(bool_or(kind = 'business' AND category <> 'closed'), false) AS business,
               min(event_date) FILTER (WHERE kind = 'death' AND event_date <= {on}) AS death
        FROM r GROUP BY pid
    ),
    p AS (
        SELECT m.hh, m.d_wage, m.d_other, m.d_basic, m.d_business, i.wage,
               CASE WHEN i.wage IS NULL THEN i.stale END AS stopped, coalesce(i.basic, 0) AS basic,
               coalesce(i.other, 0) AS other, a.houses, a.area, a.vehicles, a.fin, a.business, a.death,
               coalesce(a.death < {on}, false) AS dead
        FROM assets a JOIN m USING (pid) LEFT JOIN inc i USING (pid)
    ),
    x AS (
        SELECT hh,
               {flag(f"wage IS NOT NULL AND {w} AND d_wage = 0")} AS wage_undeclared,
               {flag(f"wage IS NOT NULL AND {w} AND d_wage <> 0")} AS wage_higher,
               {flag("stopped IS NOT NULL AND d_wage > 0")} AS wage_lower,
               {flag(f"{o} AND d_other = 0")} + {flag(f"{b} AND d_basic = 0")} AS pension_undeclared,
               {flag(f"{o} AND d_other <> 0")} + {flag(f"{b} AND d_basic <> 0")} AS pension_higher,
               {flag("business AND d_business = 0")} AS business_undeclared,
               {flag("death IS NOT NULL")} AS death_event,
               sum(vehicles) AS vehicles, sum(houses) AS houses, sum(area) AS area, sum(fin) AS fin,
               sum(vehicles) FILTER (WHERE NOT dead) AS k_vehicles, sum(houses) FILTER (WHERE NOT dead) AS k_houses,
               sum(area) FILTER (WHERE NOT dead) AS k_area, sum(fin) FILTER (WHERE NOT dead) AS k_fin,
               {flag("dead")} AS dropped
        FROM p GROUP BY hh
    ),
    y AS (
        SELECT h.hh, coalesce(x.wage_undeclared, 0) AS wage_undeclared, coalesce(x.wage_higher, 0) AS wage_higher,
               coalesce(x.wage_lower, 0) AS wage_lower, coalesce(x.pension_undeclared, 0) AS pension_undeclared,
               coalesce(x.pension_higher, 0) AS pension_higher,
               coalesce(x.business_undeclared, 0) AS business_undeclared, coalesce(x.death_event, 0) AS death_event,
               (coalesce(x.vehicles, 0) > h.d_vehicles)::INT AS vehicle_undeclared,
               (coalesce(x.houses, 0) > h.d_houses)::INT AS house_undeclared,
               ({fin} AND h.d_fin = 0)::INT AS financial_undeclared,
               ({fin} AND h.d_fin <> 0)::INT AS financial_higher,
               coalesce(x.vehicles, 0) AS f_vehicles, coalesce(x.houses, 0) AS f_houses,
               coalesce(x.area, 0) AS f_area, coalesce(x.fin, 0) AS f_fin,
               greatest(h.d_vehicles, coalesce(x.k_vehicles, 0)) AS a_vehicles,
               greatest(h.d_houses, coalesce(x.k_houses, 0)) AS a_houses,
               greatest(h.d_area, coalesce(x.k_area, 0)) AS a_area, greatest(h.d_fin, coalesce(x.k_fin, 0)) AS a_fin,
               coalesce(x.dropped, 0) AS dropped
        FROM read_parquet('{paths["households"]}') h LEFT JOIN x USING (hh)
    )
    SELECT hh, wage_undeclared + wage_higher + wage_lower + pension_undeclared + pension_higher
               + business_undeclared + death_event + vehicle_undeclared + house_undeclared + financial_undeclared
               + financial_higher AS findings,
           wage_undeclared, wage_higher, wage_lower, pension_undeclared, pension_higher, business_undeclared,
           death_event, vehicle_undeclared, house_undeclared, financial_undeclared, financial_higher,
           business_undeclared + wage_lower > 0 AS needs_look,
           f_vehicles, f_houses, f_area, f_fin, a_vehicles, a_houses, a_area, a_fin, dropped
    FROM y
    """  # noqa: S608 - the benchmark's own paths and dates


def run_sql(paths: dict[str, object]) -> pa.Table:
    con = connect()
    try:
        return con.sql(plain_sql(paths)).to_arrow_table()
    finally:
        con.close()


def timed(fn, repeat: int):  # type: ignore[no-untyped-def]
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def mismatches(a: pa.Table, b: pa.Table) -> int:
    """Households whose summaries differ (the plain statement's columns, compared as the core types them)."""
    if a.num_rows != b.num_rows:
        return abs(a.num_rows - b.num_rows) or -1
    a = a.select(b.column_names).sort_by("hh")
    b = b.cast(a.schema).sort_by("hh")
    if a.equals(b):
        return 0
    import duckdb

    con = duckdb.connect()
    con.register("a", a)
    con.register("b", b)
    n = con.execute("SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)").fetchone()
    return int(n[0]) if n else -1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1_000_000, help="persons; each of the six feeds has as many rows")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="jiuzhu-bench-verify-") as tmpdir:
        tmp = Path(tmpdir)
        _setup(tmp)
        t = time.perf_counter()
        paths = synth(args.size, tmp)
        size_mb = sum(p.stat().st_size for p in tmp.glob("*.parquet")) / 1e6
        print(f"synthesized {args.size:,} persons in {paths['households_n']:,} households, six feeds of "
              f"{args.size:,} rows ({size_mb:.0f} MB of Parquet) in {time.perf_counter() - t:.1f} s", flush=True)  # fmt: skip

        sql_times, jz_times = [], []
        comp = table = None
        for _ in range(args.repeat):  # alternate, so that both see the same machine
            s, comp = timed(lambda: run_jiuzhu(paths), 1)
            jz_times.append(s)
            print(f"jiuzhu bulk.compute: {s:.2f} s", flush=True)
            s, table = timed(lambda: run_sql(paths), 1)
            sql_times.append(s)
            print(f"plain DuckDB SQL: {s:.2f} s", flush=True)
        assert comp is not None and table is not None
        bad = mismatches(comp.households, table)
        jz, sql = min(jz_times), min(sql_times)
        diffs = comp.diffs.num_rows
        print(f"household summaries: {comp.households.num_rows:,} households, {bad} mismatches; "
              f"{diffs:,} differences, {comp.members.num_rows:,} members with records; ratio {jz / sql:.2f}", flush=True)  # fmt: skip
        by_kind = {k: int(v) for k, v in zip(*np.unique(comp.diffs.column("kind").to_numpy(zero_copy_only=False),
                                                        return_counts=True), strict=True)}  # fmt: skip
        print(json.dumps({
            "persons": args.size, "households": comp.households.num_rows, "feed_rows": args.size * len(FEEDS),
            "jiuzhu_s": round(jz, 2), "duckdb_sql_s": round(sql, 2), "ratio": round(jz / sql, 2),
            "mismatches": bad, "differences": diffs, "differences_by_kind": by_kind,
            "members_with_records": comp.members.num_rows, "threads": os.cpu_count(),
        }, ensure_ascii=False))  # fmt: skip
        if bad:
            sys.exit(1)


if __name__ == "__main__":
    main()
