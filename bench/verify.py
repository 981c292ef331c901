"""Benchmark (not a test): bulk re-verification's core — the per-person aggregates and per-household differences
of ``jiuzhu.verification.bulk.compute`` — on N synthetic persons and six departmental feeds of N rows each, side
by side with the same joins and aggregations written as one plain DuckDB SQL statement, in one run.

    .venv/bin/python bench/verify.py --size 1000000

The inputs are Parquet files in a temporary directory (not the database: this measures the join and
aggregation engine): the persons (32-hex blind-index keys, households of 1–5, declared incomes), the
households' declared assets, and six files of N rows — 人社 contribution bases, pensions and benefits with
公积金 contribution bases; 税务 wages; 不动产 dwellings with 市场监管 businesses; 车辆; 银行 deposits,
securities and insurance; 公安户籍 statuses and deaths with 殡葬 deaths — each about a share of the persons
(25–70 %), some of them on several rows, the others on none, plus rows about persons outside the registry
(10 %; 60 % of the 户籍/殡葬 file, nearly all its deaths), rows dated after the day and incomes older than the
lookback. The rows exercise the rules of ``assess.py``: wages of several employers (``ref``) in one month,
holdings (unit, plate, business, account) with several snapshots and some without ref, ending records
(``ended``, ``closed``) and 户籍 moves and cancellations, and "twins" — a record repeated for the same
person, source, ref and month, as a correction (another amount: the first stored counts) or an ending record
of the same date (it wins).

Figures (seconds, each the best of --repeat runs; the machine is shared and noisy):
  jiuzhu_s      ``bulk.compute`` reading the Parquet files: what the job computes (per-member aggregates and
                assessed incomes, every difference as a row, the household summary), as Arrow tables
  duckdb_sql_s  one plain DuckDB SQL statement over the same files (``plain_sql``: the same rules written the
                obvious way, independently of ``bulk._sql``) giving the household summary alone
  *_cpu_s       the CPU seconds of the same runs (every DuckDB thread): steadier than wall time when other work
                shares the cores
Neither sorts its output; both use every core (DuckDB threads = cores). The two household summaries (finding
counts by kind and severity, needs_look, found and assessed assets, members dropped) are checked equal,
household by household: a rule implemented differently shows as mismatches and a non-zero exit. The last line
of output is one JSON object with these, the ratios and the sizes.
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
FEEDS = ("hrss", "tax", "real_estate", "vehicle", "bank", "hukou")  # files, each of one or two sources


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


def _pick(rng: np.random.Generator, n: int, values: list[str], p: list[float]) -> np.ndarray:
    """n strings drawn from ``values``, as a numpy array (so that rows can be repeated by index: the twins)."""
    return np.asarray(values)[rng.choice(len(values), size=n, p=p)]


# Small sets of refs, so that persons have records of two employers in one month and several snapshots of one
# dwelling, vehicle, business or account; "" is a record without ref (a holding of its own).
EMPLOYERS = ["", "91610902MA70A0001X", "91610902MA70A0002X", "91610902MA70A0003X", "91610902MA70A0004X"]
UNITS = ["", "610902001001GB00001F00010001", "610902001001GB00001F00010002", "610902001001GB00002F00020001"]
PLATES = ["", "陕G12345", "陕G23456", "陕GD67890"]
BUSINESSES = ["", "92610902MA70B0001Y", "92610902MA70B0002Y"]
ACCOUNTS = ["", "6217000010000001", "6217000010000002", "6217000010000003", "6217000010000004"]
TWINS = 0.08  # of the rows about registry persons: a second record of the row before (same person, ref, month)


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
        "d_wage": _money(np.where(u < 0.35, rng.integers(500, 6000, size=n) * 100, 0)),
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

    def feed(i: int, name: str, covered: float, matched: float) -> pa.Table:
        """N rows: ``matched`` of them about a random ``covered`` share of the persons (so some persons have several
        rows, most of the others none), the rest about persons outside the registry. Of the rows about registry
        persons, a share (TWINS) repeats the row before — the same person, source, kind, ref and month: a
        correction (another amount; the first stored counts), a second employer in the month, an ending record
        (deregistered, moved out, closed) dated like the snapshot."""
        k = int(n * matched)
        people = rng.choice(n, size=max(1, int(n * covered)), replace=False)
        who = pc.take(keys, pa.array(people[rng.integers(0, len(people), size=k)]))
        bi = pa.concat_arrays([who, _keys(rng, n - k)])
        twin = np.zeros(n, dtype=bool)  # (odd rows only: a twin never repeats a twin)
        twin[1:k:2] = rng.random(len(range(1, k, 2))) < 2 * TWINS
        src = np.arange(n) - twin  # the row whose person, source, kind, ref and month the row repeats
        ends = twin & (rng.random(n) < 0.5)  # a twin that is an ending record (on one date the ending one wins)
        months = np.minimum(rng.geometric(0.12, size=n) - 1, 40)  # mostly recent months, a tail of old ones
        months = np.where(rng.random(n) < 0.02, -rng.integers(1, 3, size=n), months)  # reported after the day
        source, category = np.full(n, name), np.full(n, "")
        quantity, event_date = pa.nulls(n, pa.decimal128(10, 2)), pa.nulls(n, pa.date32())
        if name == "hrss":  # 人社 contribution bases, pensions and benefits; 公积金 contribution bases
            fund = (rng.random(n) < 0.2)[src]
            source = np.where(fund, "housing_fund", "hrss")
            kind = np.where(fund, 0, rng.choice(3, size=n, p=[0.55, 0.40, 0.05])[src])
            kinds = np.asarray(["wage", "pension", "unemployment"])[kind]
            category = np.where(kind == 1, np.where(rng.random(n) < 0.6, "basic", "employee")[src], "")
            ref = np.where(kind == 0, _pick(rng, n, EMPLOYERS, [0.05, 0.45, 0.25, 0.15, 0.10]), "")
            fen = np.select([kind == 0, kind == 2], [rng.integers(1800, 12000, size=n) * 100 + rng.integers(0, 100, size=n),
                                                     rng.integers(800, 1500, size=n) * 100],
                            np.where(rng.random(n) < 0.6, rng.integers(150, 260, size=n), rng.integers(1500, 4500, size=n)) * 100)  # fmt: skip
            amount = _money(fen, pa.decimal128(14, 2), null=rng.random(n) < 0.01)
        elif name == "tax":  # 税务 wage income, one row per withholding employer and month
            kinds = np.full(n, "wage")
            ref = _pick(rng, n, EMPLOYERS, [0.05, 0.45, 0.25, 0.15, 0.10])
            fen = rng.integers(3000, 25000, size=n) * 100 + rng.integers(0, 100, size=n)
            amount = _money(fen, pa.decimal128(14, 2))
        elif name == "real_estate":  # 不动产 dwellings, and 市场监管 businesses
            business = (rng.random(n) < 0.15)[src]
            source = np.where(business, "market", "real_estate")
            kinds = np.where(business, "business", "house")
            months = rng.integers(0, 300, size=n)
            ref = np.where(business, _pick(rng, n, BUSINESSES, [0.05, 0.6, 0.35]),
                           _pick(rng, n, UNITS, [0.05, 0.55, 0.25, 0.15]))  # fmt: skip
            category = np.where(business, np.where(ends | (rng.random(n) < 0.15), "closed", "active"),
                                np.where(ends | (rng.random(n) < 0.08), "ended", ""))  # fmt: skip
            quantity = _money(rng.integers(2000, 20000, size=n), pa.decimal128(10, 2), null=rng.random(n) < 0.02)
            amount = _money(rng.integers(50_000, 1_500_000, size=n) * 100, pa.decimal128(14, 2))
        elif name == "vehicle":  # 车辆 registrations
            kinds = np.full(n, "vehicle")
            months = rng.integers(0, 180, size=n)
            ref = _pick(rng, n, PLATES, [0.05, 0.55, 0.25, 0.15])
            category = _pick(rng, n, ["car", "truck", "motorcycle", "tricycle", "adapted", "", "ended"],
                             [0.34, 0.07, 0.29, 0.14, 0.03, 0.03, 0.10])[src]  # fmt: skip
            category = np.where(ends, "ended", category)
            amount = _money(rng.integers(2_000, 300_000, size=n) * 100, pa.decimal128(14, 2))
        elif name == "bank":  # 银行、证券、保险 balances, one row per account and month
            kinds = _pick(rng, n, ["deposit", "securities", "insurance"], [0.7, 0.1, 0.2])[src]
            ref = _pick(rng, n, ACCOUNTS, [0.05, 0.45, 0.25, 0.15, 0.10])
            # (the bank layout has no closing status; assess.py ends any holding whose latest record has one)
            category = np.where(ends | (rng.random(n) < 0.05), "closed", "")
            amount = _money((rng.lognormal(8.5, 1.6, size=n) * 100).astype(np.int64), pa.decimal128(14, 2))
        else:  # 公安户籍 statuses (and deaths), and 殡葬 deaths of a province, few of them in this registry
            death = np.ones(n, dtype=bool)
            death[:k] = rng.random(k) < 0.05
            death = death[src]
            source = np.where(death & (rng.random(n) < np.where(np.arange(n) < k, 0.5, 0.8)), "funeral", "hukou")
            kinds = np.where(death, "death", "registration")
            status = _pick(rng, n, ["normal", "moved_out", "cancelled"], [0.88, 0.08, 0.04])
            moves = np.where(rng.random(n) < 0.7, "moved_out", "cancelled")
            category = np.where(death, "", np.where(ends, moves, status))
            ref = np.full(n, "")
            died = ((ON - EPOCH).days - rng.integers(-60, 3650, size=n))[src]
            month = _month(months[src]).astype(np.int64)
            day = np.where(death, died, month).astype(np.int32)  # a status: its month; a death: its day
            moved = ~death & (category != "normal")
            event_date = pa.array(np.where(death, died, month + rng.integers(0, 28, size=n)).astype(np.int32),
                                  pa.date32(), mask=~death & ~moved)  # fmt: skip
            amount = pa.nulls(n, pa.decimal128(14, 2))
        period = pa.array(day if name == "hukou" else _month(months[src]), pa.date32())
        # a wage twin: the same employer (a correction) or, as often, another employer of the month
        ref = np.where(twin & (kinds == "wage") & (rng.random(n) < 0.5), ref, ref[src])
        cols: dict[str, object] = {
            "id": np.arange(n, dtype=np.int64) + i * n, "source": pa.array(source), "kind": pa.array(kinds),
            "person_bi": pc.take(bi, pa.array(src)), "period": period, "amount": amount, "quantity": quantity,
            "category": pa.array(category), "event_date": event_date, "ref": pa.array(ref),
        }  # fmt: skip
        return pa.table({f.name: cols[f.name] for f in RECORDS_SCHEMA}, schema=RECORDS_SCHEMA)

    shape = {"hrss": (0.55, 0.9), "tax": (0.30, 0.9), "real_estate": (0.5, 0.9), "vehicle": (0.25, 0.9),
             "bank": (0.7, 0.9), "hukou": (0.3, 0.4)}  # fmt: skip
    paths["feeds"] = []
    for i, name in enumerate(FEEDS):
        t = feed(i, name, *shape[name])
        p = tmp / f"feed_{name}.parquet"
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
    """The rules of ``assess.py`` as one DuckDB statement written the obvious way (struct keys for "the latest,
    ending first, then the first stored"; constants written out), independently of ``bulk._sql``."""
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
               r.event_date, coalesce(r.ref, '') AS ref
        FROM read_parquet([{feeds}]) r JOIN m ON r.person_bi = m.bi
        WHERE r.period <= {on}
    ),
    -- incomes within the lookback: one amount per person, source, category, employer and month (the first stored)
    slot AS (
        SELECT pid, source, cat, employer, period, arg_min(amount, id) AS amount
        FROM (SELECT *, CASE kind WHEN 'wage' THEN 'w' WHEN 'unemployment' THEN 'u'
                                  ELSE (CASE WHEN category = 'basic' THEN 'b' ELSE 'o' END) END AS cat,
                        CASE WHEN kind = 'wage' THEN ref ELSE '' END AS employer
              FROM r WHERE kind IN ('wage', 'pension', 'unemployment') AND amount IS NOT NULL AND period >= {since})
        GROUP BY ALL
    ),
    month AS (SELECT pid, source, cat, period, sum(amount) AS amount FROM slot GROUP BY ALL),
    -- per person, source and category: the latest month
    latest AS (
        SELECT pid, source, cat, max(period) AS period, arg_max(amount, period) AS amount FROM month GROUP BY ALL
    ),
    inc AS (
        SELECT pid,
               coalesce(max(amount) FILTER (WHERE cat = 'w' AND period >= {fresh} AND source = 'tax'),
                        max(amount) FILTER (WHERE cat = 'w' AND period >= {fresh})) AS gross,
               coalesce(bool_or(cat = 'w' AND period >= {fresh} AND source = 'housing_fund'), false) AS fund,
               max(period) FILTER (WHERE cat = 'w' AND period < {fresh}) AS stale,
               greatest(coalesce(max(amount) FILTER (WHERE cat = 'b' AND period >= {fresh}), 0), 0) AS basic,
               greatest(coalesce(max(amount) FILTER (WHERE cat = 'o' AND period >= {fresh}), 0), 0)
               + greatest(coalesce(max(amount) FILTER (WHERE cat = 'u' AND period >= {fresh}), 0), 0) AS other
        FROM latest GROUP BY pid
    ),
    -- the net wage: minus 10.5 % insurance, 12 % housing fund (when 公积金 reports), the monthly income tax
    contrib AS (
        SELECT *, round(gross * 0.105, 2) + CASE WHEN fund THEN round(gross * 0.12, 2) ELSE 0 END AS contributions
        FROM inc
    ),
    net AS (
        SELECT *, gross - contributions - CASE
                   WHEN taxable <= 0 THEN 0
                   WHEN taxable <= 3000 THEN round(taxable * 0.03, 2)
                   WHEN taxable <= 12000 THEN round(taxable * 0.10 - 210, 2)
                   WHEN taxable <= 25000 THEN round(taxable * 0.20 - 1410, 2)
                   WHEN taxable <= 35000 THEN round(taxable * 0.25 - 2660, 2)
                   WHEN taxable <= 55000 THEN round(taxable * 0.30 - 4410, 2)
                   WHEN taxable <= 80000 THEN round(taxable * 0.35 - 7160, 2)
                   ELSE round(taxable * 0.45 - 15160, 2) END AS wage
        FROM (SELECT *, gross - contributions - 5000 AS taxable FROM contrib)
    ),
    -- holdings: one per person, source, kind and ref (a record without ref its own); the latest record decides,
    -- on one date an ending one, then the first stored
    hold AS (
        SELECT pid, kind,
               arg_max({{'category': category, 'quantity': quantity, 'amount': amount}},
                       (period, category IN ('ended', 'closed'), -id)) AS last
        FROM r
        WHERE kind IN ('house', 'vehicle', 'business')
           OR kind IN ('deposit', 'securities', 'insurance') AND amount IS NOT NULL AND period >= {since}
        GROUP BY pid, source, kind, ref, CASE WHEN ref = '' THEN id END
    ),
    assets AS (
        SELECT pid, count(*) FILTER (WHERE kind = 'house') AS houses,
               coalesce(sum(last.quantity) FILTER (WHERE kind = 'house'), 0) AS area,
               count(*) FILTER (WHERE kind = 'vehicle' AND last.category NOT IN ('adapted', 'motorcycle', 'tricycle'))
                   AS vehicles,
               coalesce(sum(last.amount) FILTER (WHERE kind IN ('deposit', 'securities', 'insurance')), 0) AS fin,
               bool_or(kind = 'business') AS business
        FROM hold WHERE last.category NOT IN ('ended', 'closed') GROUP BY pid
    ),
    -- the latest 户籍 status (on one date a move or cancellation, then the first stored); the earliest death
    reg AS (
        SELECT pid, arg_max(category, (period, category IN ('moved_out', 'cancelled'), -id)) AS status
        FROM r WHERE kind = 'registration' GROUP BY pid
    ),
    death AS (
        SELECT pid, min(event_date) FILTER (WHERE kind = 'death' AND event_date <= {on}) AS death FROM r GROUP BY pid
    ),
    p AS (
        SELECT m.hh, m.d_wage, m.d_other, m.d_basic, m.d_business, n.wage,
               CASE WHEN n.gross IS NULL THEN n.stale END AS stopped, coalesce(n.basic, 0) AS basic,
               coalesce(n.other, 0) AS other, coalesce(a.houses, 0) AS houses, coalesce(a.area, 0) AS area,
               coalesce(a.vehicles, 0) AS vehicles, coalesce(a.fin, 0) AS fin, coalesce(a.business, false) AS business,
               x.death, x.death IS NULL AND g.status IN ('moved_out', 'cancelled') AS moved,
               coalesce(x.death < {on}, false) AS dead
        FROM death x JOIN m USING (pid) LEFT JOIN net n USING (pid) LEFT JOIN assets a USING (pid)
             LEFT JOIN reg g USING (pid)
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
               {flag("moved")} AS registration_event,
               sum(vehicles) AS vehicles, sum(houses) AS houses, sum(area) AS area, sum(fin) AS fin,
               {flag("dead")} AS dropped
        FROM p GROUP BY hh
    ),
    y AS (
        SELECT h.hh, coalesce(x.wage_undeclared, 0) AS wage_undeclared, coalesce(x.wage_higher, 0) AS wage_higher,
               coalesce(x.wage_lower, 0) AS wage_lower, coalesce(x.pension_undeclared, 0) AS pension_undeclared,
               coalesce(x.pension_higher, 0) AS pension_higher,
               coalesce(x.business_undeclared, 0) AS business_undeclared, coalesce(x.death_event, 0) AS death_event,
               coalesce(x.registration_event, 0) AS registration_event,
               (coalesce(x.vehicles, 0) > h.d_vehicles)::INT AS vehicle_undeclared,
               (coalesce(x.houses, 0) > h.d_houses)::INT AS house_undeclared,
               ({fin} AND h.d_fin = 0)::INT AS financial_undeclared,
               ({fin} AND h.d_fin <> 0)::INT AS financial_higher,
               coalesce(x.vehicles, 0) AS f_vehicles, coalesce(x.houses, 0) AS f_houses,
               coalesce(x.area, 0) AS f_area, coalesce(x.fin, 0) AS f_fin,
               -- the assessed assets: every member with records, dead or alive (an estate passes to the family)
               greatest(h.d_vehicles, coalesce(x.vehicles, 0)) AS a_vehicles,
               greatest(h.d_houses, coalesce(x.houses, 0)) AS a_houses,
               greatest(h.d_area, coalesce(x.area, 0)) AS a_area, greatest(h.d_fin, coalesce(x.fin, 0)) AS a_fin,
               coalesce(x.dropped, 0) AS dropped
        FROM read_parquet('{paths["households"]}') h LEFT JOIN x USING (hh)
    )
    SELECT hh, wage_undeclared + wage_higher + wage_lower + pension_undeclared + pension_higher
               + business_undeclared + death_event + registration_event + vehicle_undeclared + house_undeclared
               + financial_undeclared + financial_higher AS findings,
           wage_undeclared, wage_higher, wage_lower, pension_undeclared, pension_higher, business_undeclared,
           death_event, registration_event, vehicle_undeclared, house_undeclared, financial_undeclared,
           financial_higher, business_undeclared + wage_lower + registration_event > 0 AS needs_look,
           f_vehicles, f_houses, f_area, f_fin, a_vehicles, a_houses, a_area, a_fin, dropped
    FROM y
    """  # noqa: S608 - the benchmark's own paths and dates


def run_sql(paths: dict[str, object]) -> pa.Table:
    con = connect()
    try:
        return con.sql(plain_sql(paths)).to_arrow_table()
    finally:
        con.close()


def timed(fn):  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds of the process — every DuckDB thread — , result) of one call."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


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

        sql_times, jz_times, sql_cpu, jz_cpu = [], [], [], []
        comp = table = None
        for _ in range(args.repeat):  # alternate, so that both see the same machine
            s, c, comp = timed(lambda: run_jiuzhu(paths))
            jz_times.append(s)
            jz_cpu.append(c)
            print(f"jiuzhu bulk.compute: {s:.2f} s ({c:.2f} s CPU)", flush=True)
            s, c, table = timed(lambda: run_sql(paths))
            sql_times.append(s)
            sql_cpu.append(c)
            print(f"plain DuckDB SQL: {s:.2f} s ({c:.2f} s CPU)", flush=True)
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
            "jiuzhu_cpu_s": round(min(jz_cpu), 2), "duckdb_sql_cpu_s": round(min(sql_cpu), 2),
            "cpu_ratio": round(min(jz_cpu) / min(sql_cpu), 2),
            "mismatches": bad, "differences": diffs, "differences_by_kind": by_kind,
            "members_with_records": comp.members.num_rows, "threads": os.cpu_count(),
        }, ensure_ascii=False))  # fmt: skip
        if bad:
            sys.exit(1)


if __name__ == "__main__":
    main()
