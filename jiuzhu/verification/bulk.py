"""Bulk re-verification for 动态管理 (REFERENCE §2.4): every household of an area that receives 低保 now, or has
an open case, verified against the stored departmental records as one ``batch.JobRun``.

The per-household path (``services._run``) asks each source for a few persons and applies the rules of
``assess.py`` in Python. Here the same rules run once over the whole area, column by column:

1. read (Django cursor, in chunks) the declared picture of the households (``registry.policy_input``), the
   members' blind indexes and names, and the ``FeedRecord`` rows of those persons dated on or before the day,
   into Arrow tables;
2. ``compute`` — the core, Arrow tables (or DuckDB relations) in, Arrow tables out, no database: the
   per-person aggregates of ``assess.aggregate``, the differences of ``assess.compare`` and the assessed values
   of ``assess.assessed_input``, in DuckDB SQL. ``bench/verify.py`` times this core on Parquet files;
3. the assessed engine inputs of all households evaluated in one vectorised call of the policy engine;
4. one ``VerificationRun`` (purpose ``review``) per household with its ``Finding`` rows, written in batches,
   each batch in its own transaction, ``job.done`` advanced after each.

``engine="python"`` runs step 2 with ``assess.aggregate/compare/assessed_input`` themselves, household by
household (the reference the SQL is tested against; no DuckDB needed).

Authorisation. Dynamic management of current recipients relies on the 核对授权书 the family signed when it
applied. Each run records as ``authorisation`` the latest authorisation signature a family member (applicant or
member, as ``services.authorisation_for``) signed on any of the household's cases — the household's latest case
that carries one; a later case without one (a 求助, a 临时救助 at the window) does not hide it. A current
recipient with no signature on file (registered before the platform, or migrated) is verified as "recipient
under management", which the run's assessment says. A household that is not a current recipient and has no
signed authorisation (an open case still waiting for it) is not verified: its run is written as ``refused``
and none of its persons' records are read.

What differs from the interactive run, on purpose: the records are the stored ones (file drops and what the
HTTP sources returned earlier), not asked again person by person, so no ``SourceQuery`` rows are written — the
job has one audit event with the area, date, sources and counts; the assessment is smaller (members with
departmental records only, without the per-person lists of answering sources and vehicle kinds; the engine
result without its reasons).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from jiuzhu.batch.models import JobRun

from . import assess
from .models import FeedRecord, Finding, VerificationRun
from .sources import SOURCES

log = logging.getLogger(__name__)

KIND = "verification_bulk"
BATCH = 500  # households per write transaction (runs and their findings)
READ_CHUNK = 10_000
UNDER_MANAGEMENT = "recipient under management"
ENGINES = ("duckdb", "python")

MONEY = pa.decimal128(18, 2)
MEMBERS_SCHEMA = pa.schema([
    ("pid", pa.int64()), ("hh", pa.int64()), ("pos", pa.int32()), ("member", pa.string()), ("bi", pa.string()),
    ("d_wage", MONEY), ("d_other", MONEY), ("d_basic", MONEY), ("d_business", MONEY),
])  # fmt: skip
HOUSEHOLDS_SCHEMA = pa.schema([
    ("hh", pa.int64()), ("d_vehicles", pa.int64()), ("d_houses", pa.int64()), ("d_area", MONEY), ("d_fin", MONEY),
])  # fmt: skip
RECORDS_SCHEMA = pa.schema([
    ("id", pa.int64()), ("source", pa.string()), ("kind", pa.string()), ("person_bi", pa.string()),
    ("period", pa.date32()), ("amount", pa.decimal128(14, 2)), ("quantity", pa.decimal128(10, 2)),
    ("category", pa.string()), ("event_date", pa.date32()), ("ref", pa.string()),
])  # fmt: skip
# The (kind, severity) pairs ``assess.compare`` can produce: one count column each in the household summary.
FINDING_KINDS = (("wage", "undeclared"), ("wage", "higher"), ("wage", "lower"), ("pension", "undeclared"),
                 ("pension", "higher"), ("business", "undeclared"), ("death", "event"), ("registration", "event"),
                 ("vehicle", "undeclared"),
                 ("house", "undeclared"), ("financial", "undeclared"), ("financial", "higher"))  # fmt: skip
HOUSEHOLD_ORD = 1 << 30  # household-level differences come after every member's, as in ``compare``


# --- the core: per-person aggregates and per-household differences, Arrow in, Arrow out ----------------------


@dataclass
class Computed:
    """``members``: one row per member with departmental records, by ``pid`` (aggregates, assessed incomes,
    ``dropped`` when dead before the day); ``diffs``: one row per difference (``compare``'s order is ``hh``,
    ``ord``; ``pid`` is null for the household's own);
    ``households``: one row per household (counts by kind and severity, what was found, assessed assets).
    No table is sorted: the job groups the rows by household anyway."""

    members: pa.Table
    diffs: pa.Table
    households: pa.Table


def _date(d: dt.date) -> str:
    return f"DATE '{d.isoformat()}'"  # a date object's ISO form: safe to inline


def _mask_sql(column: str) -> str:
    """A SOURCES bit mask as a Python-decodable integer: bit i is the i-th source of SOURCES."""
    return f"bit_or(1::BIGINT << (list_position([{', '.join(repr(s) for s in SOURCES)}], {column}) - 1))"


def _sources(mask: int | None) -> list[str]:
    return sorted(s for i, s in enumerate(SOURCES) if (mask or 0) >> i & 1)


def _sql(on: dt.date) -> tuple[str, str, str]:
    """The three queries of ``compute``: per member (read back as ``jz_mf``), per household (``jz_hs``: sums,
    assessed assets and the number of differences of each kind and severity), the differences one per row.
    Every rule is ``assess.py``'s; the comments say which. No aggregate is ordered and no list is built where an
    integer will do (an ordered aggregate, or a list per group, costs more than all the sums together); each
    of ``compare``'s rules is decided once per member, as a small integer the later queries count or unfold."""
    day, since = _date(on), _date(assess.months_before(on, assess.LOOKBACK_MONTHS))
    fresh = _date(assess.months_before(on, assess.WAGE_FRESH_MONTHS))
    exempt = ", ".join(f"'{c}'" for c in sorted(assess.EXEMPT_VEHICLES))
    order = ", ".join(f"'{s}'" for s in SOURCES)  # services._run asks the sources in this order
    death = f"kind = 'death' AND event_date <= {day}"
    current = f"cat = 'w' AND period >= {fresh}"
    ended = ", ".join(f"'{c}'" for c in sorted(assess.ENDED))
    moved = ", ".join(f"'{c}'" for c in sorted(assess.MOVED))
    balances = ", ".join(f"'{k}'" for k in assess.BALANCE_KINDS)
    tax_cases = "WHEN taxable <= 0 THEN 0 " + " ".join(
        f"WHEN taxable <= {upper} THEN round(taxable * {rate} - {quick}, 2)" if upper is not None
        else f"ELSE round(taxable * {rate} - {quick}, 2)" for upper, rate, quick in assess.TAX_TABLE)
    first_wage_source = "CASE " + " ".join(f"WHEN wage_mask & {1 << i} <> 0 THEN '{s}'" for s, i in
                                           sorted((s, i) for i, s in enumerate(SOURCES))) + " END"  # fmt: skip

    def beyond(found: str, declared: str) -> str:  # assess._beyond
        return f"({found}) - ({declared}) > greatest({assess.TOLERANCE}, ({declared}) * 0.10)"

    def graded(cond: str, declared: str) -> str:  # 0 no difference, 1 undeclared, 2 higher
        return f"(CASE WHEN {cond} THEN (CASE WHEN {declared} = 0 THEN 1 ELSE 2 END) ELSE 0 END)::UTINYINT"

    def flag(cond: str) -> str:  # 0 no difference, 1 the rule's one severity
        return f"(CASE WHEN {cond} THEN 1 ELSE 0 END)::UTINYINT"

    graded_severities = ("undeclared", "higher")
    # compare's rules in its order: (column, kind, severity of code 1, 2…, code, source, wage sources, declared,
    # found, date or area)
    member_rules = [
        ("r_wage", "wage", graded_severities, graded(f"wage IS NOT NULL AND {beyond('wage', 'd_wage')}", "d_wage"),
         first_wage_source, "wage_mask", "d_wage", "wage", "NULL::DATE"),
        ("r_stopped", "wage", ("lower",), flag("stopped IS NOT NULL AND d_wage > 0"), "NULL", "stopped_mask", "d_wage",
         "0", "stopped"),
        ("r_other", "pension", graded_severities, graded(beyond("pension_all", "d_other"), "d_other"), "'hrss'",
         "NULL", "d_other", "pension_other + unemployment", "NULL"),
        ("r_basic", "pension", graded_severities, graded(beyond("pension_basic", "d_basic"), "d_basic"), "'hrss'",
         "NULL", "d_basic", "pension_basic", "NULL"),
        ("r_business", "business", ("undeclared",), flag("business AND d_business = 0"), "'market'", "NULL", "NULL",
         "NULL", "NULL"),
        ("r_death", "death", ("event",), flag("death IS NOT NULL"), "death_source", "NULL", "NULL", "NULL", "death"),
        ("r_registration", "registration", ("event",), flag("registration IS NOT NULL"), "'hukou'", "NULL", "NULL",
         "NULL", "registration_date"),
    ]  # fmt: skip
    household_rules = [  # the household's sums over every member with records, dead or alive
        ("r_vehicle", "vehicle", ("undeclared",), flag("f_vehicles > d_vehicles"), "'vehicle'", "NULL", "d_vehicles",
         "f_vehicles", "NULL"),
        ("r_house", "house", ("undeclared",), flag("f_houses > d_houses"), "'real_estate'", "NULL", "d_houses",
         "f_houses", "f_area"),
        ("r_financial", "financial", graded_severities, graded(beyond("f_fin", "d_fin"), "d_fin"), "'bank'", "NULL",
         "d_fin", "f_fin", "NULL"),
    ]  # fmt: skip

    members = f"""
    WITH r AS (
        SELECT m.pid, r.id, r.source, r.kind, r.period, r.amount, r.quantity, coalesce(r.category, '') AS category,
               r.event_date, coalesce(r.ref, '') AS ref
        FROM jz_records r JOIN jz_members m ON r.person_bi = m.bi
        WHERE r.period <= {day}  -- aggregate: later records are ignored
    ), slot AS (  -- incomes within the lookback: per person, source, category, employer (wages) and month, the
        -- first stored record (the key (day number, -id) packed in one integer (× 2^40: ids below 2^40) is far
        -- cheaper than a struct)
        SELECT pid, source, cat, period, arg_min(amount, id) AS amount
        FROM (SELECT pid, id, source, period, amount,
                     CASE kind WHEN 'wage' THEN 'w' WHEN 'unemployment' THEN 'u'
                               ELSE (CASE WHEN category = 'basic' THEN 'b' ELSE 'o' END) END AS cat,
                     CASE WHEN kind = 'wage' THEN ref ELSE '' END AS employer
              FROM r
              WHERE kind IN ('wage', 'pension', 'unemployment') AND amount IS NOT NULL AND period >= {since})
        GROUP BY pid, source, cat, employer, period
    ), latest AS (  -- per person, source and category: the latest month, its employers added up
        SELECT pid, source, cat, max(period) AS period, arg_max(amount, period) AS amount
        FROM (SELECT pid, source, cat, period, sum(amount)::DECIMAL(18, 2) AS amount FROM slot GROUP BY ALL)
        GROUP BY ALL
    ), inc AS (
        SELECT pid,
               -- the wage: 税务's when current, else the highest current contribution base
               coalesce(max(amount) FILTER (WHERE {current} AND source = 'tax'),
                        max(amount) FILTER (WHERE {current} AND source <> 'tax')) AS wage_gross,
               {_mask_sql("source")} FILTER (WHERE {current}) AS wage_mask,
               coalesce(bool_or(source = 'housing_fund') FILTER (WHERE {current}), false) AS fund,
               -- no current wage: the sources whose last report is older than WAGE_FRESH_MONTHS have stopped
               max(period) FILTER (WHERE cat = 'w' AND period < {fresh}) AS stopped,
               {_mask_sql("source")} FILTER (WHERE cat = 'w' AND period < {fresh}) AS stopped_mask,
               greatest(coalesce(max(amount) FILTER (WHERE cat = 'b' AND period >= {fresh}), 0), 0) AS pension_basic,
               greatest(coalesce(max(amount) FILTER (WHERE cat = 'o' AND period >= {fresh}), 0), 0) AS pension_other,
               greatest(coalesce(max(amount) FILTER (WHERE cat = 'u' AND period >= {fresh}), 0), 0) AS unemployment
        FROM latest GROUP BY pid
    ), hold AS (  -- holdings: one per person, source, kind and ref (a record without ref alone); the latest
        -- record decides, on one date an ending one; of two alike the first stored
        SELECT pid, kind, arg_max_null(category, k) AS category, arg_max_null(quantity, k) AS quantity,
               arg_max_null(amount, k) AS amount
        FROM (SELECT pid, source, kind, ref, CASE WHEN ref = '' THEN id END AS own, category, quantity, amount,
                     (period - DATE '1970-01-01')::BIGINT * 2199023255552
                     + (category IN ({ended}))::BIGINT * 1099511627776 - id AS k
              FROM r
              WHERE kind IN ('house', 'vehicle', 'business')
                 OR kind IN ({balances}) AND amount IS NOT NULL AND period >= {since})
        GROUP BY pid, source, kind, ref, own
    ), h AS (
        SELECT pid,
               count(*) FILTER (WHERE kind = 'house') AS houses,
               coalesce(sum(coalesce(quantity, 0)) FILTER (WHERE kind = 'house'), 0)::DECIMAL(18, 2) AS house_area,
               count(*) FILTER (WHERE kind = 'vehicle' AND category NOT IN ({exempt})) AS vehicles,
               coalesce(sum(amount) FILTER (WHERE kind IN ({balances})), 0)::DECIMAL(18, 2) AS financial,
               coalesce(bool_or(kind = 'business'), false) AS business
        FROM hold WHERE category NOT IN ({ended}) GROUP BY pid
    ), reg AS (  -- the latest 户籍 status (on one date a move or cancellation; of two alike the first stored)
        SELECT pid, arg_max(category, k) AS status, arg_max(day, k) AS day
        FROM (SELECT pid, category, coalesce(event_date, period) AS day,
                     (period - DATE '1970-01-01')::BIGINT * 2199023255552
                     + (category IN ({moved}))::BIGINT * 1099511627776 - id AS k
              FROM r WHERE kind = 'registration')
        GROUP BY pid
    ), f AS (  -- every person with records: the death
        SELECT pid,
               min(event_date) FILTER (WHERE {death}) AS death,
               -- the earliest death (dates before 1970 too); on a tie the source first in SOURCES (its rank
               -- packed under the day number)
               arg_min(source, (event_date - DATE '1970-01-01') * 32 + list_position([{order}], source))
                   FILTER (WHERE {death}) AS death_source
        FROM r GROUP BY pid
    ), mf AS (
        SELECT m.pid, m.hh, m.pos, m.d_wage, m.d_other, m.d_basic, m.d_business,
               i.wage_gross, i.wage_mask, coalesce(i.fund, false) AS fund,
               CASE WHEN i.wage_gross IS NULL THEN i.stopped END AS stopped,
               CASE WHEN i.wage_gross IS NULL THEN i.stopped_mask END AS stopped_mask,
               coalesce(i.pension_basic, 0) AS pension_basic, coalesce(i.pension_other, 0) AS pension_other,
               coalesce(i.unemployment, 0) AS unemployment,
               coalesce(i.pension_other, 0) + coalesce(i.unemployment, 0) AS pension_all,
               coalesce(h.houses, 0) AS houses, coalesce(h.house_area, 0)::DECIMAL(18, 2) AS house_area,
               coalesce(h.vehicles, 0) AS vehicles, coalesce(h.financial, 0)::DECIMAL(18, 2) AS financial,
               coalesce(h.business, false) AS business, f.death, f.death_source,
               CASE WHEN g.status IN ({moved}) AND f.death IS NULL THEN g.status END AS registration,
               CASE WHEN g.status IN ({moved}) AND f.death IS NULL THEN g.day END AS registration_date,
               coalesce(f.death < {day}, false) AS dropped  -- assessed_input: died before the day
        FROM f JOIN jz_members m USING (pid) LEFT JOIN inc i USING (pid) LEFT JOIN h USING (pid)
             LEFT JOIN reg g USING (pid)
    ), w AS (  -- assess.net_of: the gross wage minus the employee's contributions, then the income tax
        SELECT *, wage_gross - contributions - (CASE {tax_cases} END) AS wage
        FROM (SELECT *, wage_gross - contributions - {assess.TAX_THRESHOLD} AS taxable
              FROM (SELECT *, round(wage_gross * {assess.PERSONAL_INSURANCE_RATE}, 2)
                              + (CASE WHEN fund THEN round(wage_gross * {assess.FUND_PERSONAL_RATE}, 2) ELSE 0 END)
                              AS contributions
                    FROM mf))
    )
    SELECT * EXCLUDE (d_business, pension_all, contributions, taxable),  -- (the narrower, the cheaper its Arrow copy)
           -- assessed_input: the higher of declared and found
           CASE WHEN wage > d_wage THEN wage END AS a_wage,
           CASE WHEN pension_all > d_other THEN pension_all END AS a_other,
           CASE WHEN pension_basic > d_basic THEN pension_basic END AS a_basic,
           {", ".join(f"{code} AS {col}" for col, _k, _s, code, *_ in member_rules)}
    FROM w
    """  # noqa: S608 - constants and dates only

    def count(rules: list[tuple[Any, ...]], kind: str, severity: str, agg: bool) -> str:
        terms = [f"{col} = {sevs.index(severity) + 1}" for col, k, sevs, *_ in rules if k == kind and severity in sevs]
        if agg:
            return " + ".join(f"count(*) FILTER (WHERE {t})" for t in terms) or "0"
        return " + ".join(f"({t})::BIGINT" for t in terms) or "0"

    households = f"""
    WITH x AS (  -- compare and assessed_input: sums over every member with records, dead or alive (an estate)
        SELECT hh, sum(vehicles) AS vehicles, sum(houses) AS houses, sum(house_area) AS house_area,
               sum(financial) AS financial,
               count(*) FILTER (WHERE dropped) AS dropped,
               {", ".join(f"{count(member_rules, k, s, True)} AS m_{k}_{s}" for k, s in FINDING_KINDS)}
        FROM jz_mf GROUP BY hh
    ), h AS (
        SELECT h.hh, h.d_vehicles, h.d_houses, h.d_fin,
               coalesce(x.vehicles, 0)::BIGINT AS f_vehicles, coalesce(x.houses, 0)::BIGINT AS f_houses,
               coalesce(x.house_area, 0)::DECIMAL(18, 2) AS f_area,
               coalesce(x.financial, 0)::DECIMAL(18, 2) AS f_fin,
               greatest(h.d_vehicles, coalesce(x.vehicles, 0))::BIGINT AS a_vehicles,
               greatest(h.d_houses, coalesce(x.houses, 0))::BIGINT AS a_houses,
               greatest(h.d_area, coalesce(x.house_area, 0))::DECIMAL(18, 2) AS a_area,
               greatest(h.d_fin, coalesce(x.financial, 0))::DECIMAL(18, 2) AS a_fin,
               coalesce(x.dropped, 0)::BIGINT AS dropped,
               {", ".join(f"coalesce(x.m_{k}_{s}, 0) AS m_{k}_{s}" for k, s in FINDING_KINDS)}
        FROM jz_households h LEFT JOIN x USING (hh)
    ), c AS (
        SELECT * EXCLUDE ({", ".join(f"m_{k}_{s}" for k, s in FINDING_KINDS)}),
               {", ".join(f"{code} AS {col}" for col, _k, _s, code, *_ in household_rules)},
               {", ".join(f"m_{k}_{s} + {count(household_rules, k, s, False)} AS {k}_{s}" for k, s in FINDING_KINDS)}
        FROM h
    )
    SELECT *, ({" + ".join(f"{k}_{s}" for k, s in FINDING_KINDS)})::BIGINT AS findings,
           business_undeclared + wage_lower + registration_event > 0 AS needs_look  -- assess.needs_look
    FROM c
    """  # noqa: S608 - constants and dates only

    def unfold(rules: list[tuple[Any, ...]], table: str, household: bool) -> list[str]:
        out = []
        for i, (col, k, sevs, _code, src, srcs, d, f, x) in enumerate(rules):
            sev = f"'{sevs[0]}'" if len(sevs) == 1 else f"CASE {col} WHEN 1 THEN '{sevs[0]}' ELSE '{sevs[1]}' END"
            # ord: 8 × the member's position + the rule; the household's rules after every member's
            ord_, pid, dated, area = ((HOUSEHOLD_ORD + i, "NULL", "NULL", x) if household
                                      else (f"pos * 8 + {i}", "pid", x, "NULL"))  # fmt: skip
            out.append(f"SELECT hh, {ord_}, {pid}, '{k}', {sev}, {src}, {srcs}, {d}, {f}, {dated}, {area} "  # noqa: S608
                       f"FROM {table} WHERE {col} > 0")
        return out

    cols = "hh, ord, pid, kind, severity, source, sources, declared, found, dated, area"
    diffs = f"""
    WITH d({cols}) AS (
        {" UNION ALL ".join(unfold(member_rules, "jz_mf", False) + unfold(household_rules, "jz_hs", True))}
    )
    SELECT hh, ord, pid, kind, severity, source, sources, declared::DECIMAL(18, 2) AS declared,
           found::DECIMAL(18, 2) AS found, dated, area::DECIMAL(18, 2) AS area
    FROM d
    """  # noqa: S608 - constants and dates only
    return members, households, diffs


def _bind(con: Any, name: str, obj: Any) -> bool:
    """Make ``obj`` readable as ``name``; True when it is a relation (a view to drop), else a registration."""
    import duckdb

    if isinstance(obj, duckdb.DuckDBPyRelation):
        obj.create_view(name, replace=True)
        return True
    con.register(name, obj)
    return False


def compute(members: Any, households: Any, records: Any, on: dt.date, *, con: Any = None) -> Computed:
    """The core: ``members`` (MEMBERS_SCHEMA: the declared incomes of each current member), ``households``
    (HOUSEHOLDS_SCHEMA: the declared assets) and ``records`` (RECORDS_SCHEMA: departmental records, any
    persons, any dates) as Arrow tables or as DuckDB relations of ``con``. Records dated after ``on`` are
    ignored. No database, no Python per row."""
    import duckdb

    own = con is None
    con = con or duckdb.connect()
    views: dict[str, bool] = {}
    try:
        for name, obj in (("jz_members", members), ("jz_households", households), ("jz_records", records)):
            views[name] = _bind(con, name, obj)
        # Each result is read back into Arrow and scanned from there by the next query: cheaper than a
        # temporary table, and what the caller gets anyway.
        members_sql, households_sql, diffs_sql = _sql(on)
        m = con.sql(members_sql).to_arrow_table()
        views["jz_mf"] = _bind(con, "jz_mf", m)
        h = con.sql(households_sql).to_arrow_table()
        views["jz_hs"] = _bind(con, "jz_hs", h)
        d = con.sql(diffs_sql).to_arrow_table()
        return Computed(members=m.drop_columns(["d_wage", "d_other", "d_basic"]), diffs=d,
                        households=h.drop_columns(["d_vehicles", "d_houses", "d_fin"]))  # fmt: skip
    finally:
        for name, is_view in views.items():
            if is_view:
                con.execute(f"DROP VIEW IF EXISTS {name}")
            else:
                con.unregister(name)
        if own:
            con.close()


# --- per household: differences explained, assessed input ---------------------------------------------------


@dataclass
class Outcome:
    """One household's verification before the engine: differences (``assess.Difference``, texts included),
    the assessed engine input, the departmental aggregates of its members (for the assessment)."""

    diffs: list[assess.Difference]
    assessed: dict[str, Any]
    found: dict[str, dict[str, Any]]


# ``compute``'s ``ord`` of a member's difference is 8 × the member's position + the rule: 2 other pensions, 3 basic
_PENSION_LABEL = {2: "养老金、失业保险金等社会保险待遇", 3: "城乡居民基础养老金"}


def _text(d: dict[str, Any], who: str, m: dict[str, Any] | None) -> str:
    """``compare``'s sentence for a difference row of ``compute`` (``m``: the member's row, for a member's)."""
    y, k = assess._yuan, d["kind"]
    if k == "wage" and d["severity"] == "lower":
        return assess.stopped_text(who, d["declared"], _sources(d["sources"]), d["dated"])
    if k == "wage" and m is not None:
        return assess.wage_text(who, d["declared"], _sources(d["sources"]), m["wage_gross"], d["found"], m["fund"])
    if k == "pension":
        label = _PENSION_LABEL[d["ord"] % 8]
        return f"{who}：申报{label} {y(d['declared'])} 元/月，人社记录 {y(d['found'])} 元/月"
    if k == "business":
        return f"{who}：名下有存续的市场主体（市场监管登记），未申报经营收入，需入户核实经营情况"
    if k == "death":
        return f"{who}：{SOURCES[d['source']].label}记录于 {d['dated']:%Y-%m-%d} 死亡，应从共同生活家庭成员中减员"
    if k == "registration" and m is not None:
        return assess.registration_text(who, m["registration"], d["dated"])
    if k == "vehicle":
        return f"家庭申报非豁免机动车 {int(d['declared'])} 辆，车辆登记显示 {int(d['found'])} 辆"
    if k == "house":
        return (f"家庭申报住房 {int(d['declared'])} 套，不动产登记显示 {int(d['found'])} 套"
                f"（合计 {d['area']:.2f} 平方米）")  # fmt: skip
    return f"家庭申报金融资产 {y(d['declared'])} 元，银行、证券、保险记录合计 {y(d['found'])} 元"


# ``services._found_json`` without "sources" and "vehicle_kinds" (which sources answered for the person, the
# kinds of their vehicles): lists per person that the rules do not use and that cost the core a tenth of its time.
FOUND_KEYS = ("wage", "wage_sources", "wage_gross", "wage_stopped_since", "wage_stopped_sources", "pension_basic",
              "pension_other", "unemployment", "houses", "house_area", "vehicles", "financial", "business", "death",
              "registration")  # fmt: skip


def _found_json(m: dict[str, Any]) -> dict[str, Any]:
    """A member row of ``Computed.members`` in the shape of ``services._found_json`` (FOUND_KEYS)."""
    return {"wage": str(m["wage"]) if m["wage"] is not None else None, "wage_sources": _sources(m["wage_mask"]),
            "wage_gross": str(m["wage_gross"]) if m["wage_gross"] is not None else None,
            "wage_stopped_since": m["stopped"].isoformat() if m["stopped"] else None,
            "wage_stopped_sources": _sources(m["stopped_mask"]),
            "pension_basic": str(m["pension_basic"]), "pension_other": str(m["pension_other"]),
            "unemployment": str(m["unemployment"]), "houses": m["houses"], "house_area": str(m["house_area"]),
            "vehicles": m["vehicles"], "financial": str(m["financial"]), "business": m["business"],
            "death": m["death"].isoformat() if m["death"] else None, "registration": m["registration"] or ""}  # fmt: skip


def _outcomes_sql(data: dict[int, dict[str, Any]], names: dict[str, str], members: pa.Table,
                  comp: Computed) -> dict[int, Outcome]:  # fmt: skip
    """Apply ``compute``'s results to the declared inputs (``data`` is changed in place into the assessed);
    ``members`` is ``compute``'s input (it names the member of each ``pid``)."""
    member_ids = dict(zip(members.column("pid").to_pylist(), members.column("member").to_pylist(), strict=True))
    by_hh: dict[int, list[dict[str, Any]]] = defaultdict(list)
    by_pid: dict[int, dict[str, Any]] = {}
    for m in comp.members.to_pylist():
        by_hh[m["hh"]].append(m)
        by_pid[m["pid"]] = m
    diffs: dict[int, list[assess.Difference]] = defaultdict(list)
    for d in sorted(comp.diffs.to_pylist(), key=lambda d: (d["hh"], d["ord"])):
        mid = member_ids[d["pid"]] if d["pid"] is not None else ""
        who = names.get(mid, mid)
        diffs[d["hh"]].append(assess.Difference(
            person=mid, member_id=mid, source=",".join(_sources(d["sources"])) if d["sources"] else d["source"],
            kind=d["kind"], severity=d["severity"], declared=d["declared"], found=d["found"],
            text=_text(d, who, by_pid.get(d["pid"]))))  # fmt: skip
    out: dict[int, Outcome] = {}
    for h in comp.households.to_pylist():
        hh = h["hh"]
        found = {member_ids[m["pid"]]: m for m in by_hh.get(hh, ())}
        d = data[hh]
        kept = []
        for m in d["members"]:
            f = found.get(m["id"])
            if f is not None:
                if f["dropped"]:
                    continue
                inc = m.setdefault("income", {})
                for key, col in (("wage", "a_wage"), ("other_pension", "a_other"), ("basic_pension", "a_basic")):
                    if f[col] is not None:
                        inc[key] = f"{f[col]:.2f}"
            kept.append(m)
        d["members"] = assess.without_gone_supported(kept)
        a = d.setdefault("assets", {})
        a["vehicles"], a["houses"] = h["a_vehicles"], h["a_houses"]
        a["housing_area_m2"], a["financial"] = f"{h['a_area']:.2f}", f"{h['a_fin']:.2f}"
        out[hh] = Outcome(diffs[hh], d, {mid: _found_json(f) for mid, f in found.items()})
    return out


def _outcomes_python(data: dict[int, dict[str, Any]], bis: dict[int, dict[str, str]], names: dict[str, str],
                     records: pa.Table, on: dt.date) -> dict[int, Outcome]:  # fmt: skip
    """``assess.py`` itself, household by household, over the same records (the reference for ``compute``)."""
    from .services import _found_json as found_json

    rank = {s: i for i, s in enumerate(SOURCES)}
    rows = sorted(records.to_pylist(), key=lambda r: (rank.get(r["source"], len(rank)), r["id"]))  # _run's order
    by_bi: dict[str, list[assess.Record]] = defaultdict(list)
    for r in rows:
        by_bi[r["person_bi"]].append(assess.Record(r["source"], r["kind"], r["person_bi"], r["period"], r["amount"],
                                                   r["quantity"], r["category"] or "", r["event_date"], r["ref"] or ""))  # fmt: skip
    out: dict[int, Outcome] = {}
    for hh, d in data.items():
        members = bis[hh]
        found = assess.aggregate((r for bi in members.values() for r in by_bi.get(bi, ())), on)
        diffs = assess.compare(d, members, found, names, on)
        for x in diffs:
            x.person = x.member_id
        assessed = assess.assessed_input(d, members, found, on)
        current = [members[m["id"]] for m in d["members"]]  # as the SQL: the current members only
        out[hh] = Outcome(diffs, assessed, {mid: {k: v for k, v in found_json(found[bi]).items() if k in FOUND_KEYS}
                                            for mid, bi in members.items() if bi in found and bi in current})  # fmt: skip
    return out


# --- the engine, all households at once ----------------------------------------------------------------------


def evaluate_all(inputs: list[dict[str, Any]], on: dt.date, programme: str) -> list[dict[str, Any] | None]:
    """``services._engine`` for many households in one vectorised call: ``{"eligible", "amount"}`` per input, or
    None where the interactive run gets None (no member left, invalid input, a missing or unconfirmed
    parameter, the programme ``help``)."""
    import numpy as np

    from jiuzhu.policy.engine import evaluate_columns
    from jiuzhu.policy.errors import ParameterMissing, PolicyInputError
    from jiuzhu.policy.inputs import columns_from_json
    from jiuzhu.policy.money import yuan_str
    from jiuzhu.policy.rules import PROGRAMMES
    from jiuzhu.policyadmin.store import allow_unconfirmed, current_store

    out: list[dict[str, Any] | None] = [None] * len(inputs)
    if programme == "help" or programme not in PROGRAMMES:
        return out
    prog = PROGRAMMES[programme]
    store, allow = current_store(), allow_unconfirmed()

    def run(idx: list[int]) -> None:
        skipped: dict[int, list[tuple[str, str]]] = {}
        try:
            cols = columns_from_json([inputs[i] for i in idx], on, prefix="households", skipped=skipped)
        except PolicyInputError:
            return
        rows = [i for j, i in enumerate(idx) if j not in skipped]
        if not rows:
            return
        try:
            res = evaluate_columns(cols, store, on=on, programmes=[programme], allow_unconfirmed=allow)
        except ParameterMissing:
            if len({inputs[i]["area"] for i in rows}) > 1:  # find the areas at fault: one call per area
                by_area: dict[str, list[int]] = defaultdict(list)
                for i in rows:
                    by_area[inputs[i]["area"]].append(i)
                for group in by_area.values():
                    run(group)
            return
        eligible, amount = res.values[prog.eligible], res.values[prog.amount]
        blocked = res.blocked[programme]
        for j in np.flatnonzero(~blocked):
            out[rows[j]] = {"eligible": bool(eligible[j]), "amount": yuan_str(int(amount[j]))}

    run([i for i, d in enumerate(inputs) if d["members"]])
    return out


# --- the job ------------------------------------------------------------------------------------------------


def households_in_scope(area_code: str) -> QuerySet[Any]:
    """Registered (active) households of the area that receive 低保 now or have an open case."""
    from jiuzhu.cases.models import Case
    from jiuzhu.cases.procedures import OPEN_STATES
    from jiuzhu.registry.models import Household, HouseholdStatus

    open_cases = Case.objects.filter(state__in=OPEN_STATES, household__isnull=False).values("household_id")
    return Household.objects.filter(Q(economy__current_dibao=True) | Q(pk__in=open_cases),
                                    area_code__startswith=area_code, status=HouseholdStatus.ACTIVE)  # fmt: skip


def _signatures(households: QuerySet[Any]) -> QuerySet[Any]:
    """The family's authorisation signatures (as ``services.authorisation_for``) on the households' cases."""
    from jiuzhu.cases.models import Signature

    return Signature.objects.filter(kind=Signature.Kind.AUTHORISATION, signer_role__in=("applicant", "member"),
                                    case__household__in=households.values("pk"))  # fmt: skip


def _authorisations(households: QuerySet[Any]) -> dict[int, int]:
    """household pk → the latest family authorisation signature on any of its cases."""
    return dict(_signatures(households).order_by("pk").values_list("case__household_id", "pk"))


def _read_records(persons: QuerySet[Any], on: dt.date) -> pa.Table:
    """The stored records of these persons dated on or before ``on``, through the Django cursor in chunks."""
    qs = FeedRecord.objects.filter(person_bi__in=persons.values("id_number_bi"), period__lte=on).order_by()
    names = RECORDS_SCHEMA.names
    fields = ["pk", *names[1:]]
    batches: list[pa.RecordBatch] = []
    chunk: list[tuple[Any, ...]] = []

    def flush() -> None:
        if chunk:
            columns = list(zip(*chunk, strict=True))
            batches.append(pa.RecordBatch.from_arrays([pa.array(c, type=RECORDS_SCHEMA.field(i).type)
                                                       for i, c in enumerate(columns)], schema=RECORDS_SCHEMA))  # fmt: skip
            chunk.clear()

    for row in qs.values_list(*fields).iterator(chunk_size=READ_CHUNK):
        chunk.append(row)
        if len(chunk) >= READ_CHUNK:
            flush()
    flush()
    return pa.Table.from_batches(batches, schema=RECORDS_SCHEMA)


def _set_aside(records: pa.Table, households: QuerySet[Any], bis: dict[int, dict[str, str]]) -> pa.Table:
    """``services._set_aside`` for every household at once: the records behind a finding whose objection the
    township upheld are not used again (that kind, for that person — or for every person of the household for a
    household-level finding — up to the objection's date)."""
    from .models import VerificationObjection
    from .sources import FINDING_KINDS

    until: dict[tuple[str, str], dt.date] = {}
    for hid, kind, who, on in (VerificationObjection.objects
                               .filter(run__household__in=households.values("pk"), status="upheld", finding__isnull=False)
                               .values_list("run__household_id", "finding__kind", "finding__person__id_number_bi",
                                            "submitted_on")):  # fmt: skip
        for bi in [who] if who else bis.get(hid, {}).values():
            for k in FINDING_KINDS.get(kind, ("", (kind,)))[1]:
                until[(bi, k)] = max(on, until.get((bi, k), on))  # the latest objection covers the earlier
    if not until:
        return records
    aside = pa.table({"person_bi": [bi for bi, _k in until], "kind": [k for _bi, k in until],
                      "aside_until": pa.array(list(until.values()), pa.date32())})  # fmt: skip
    joined = records.join(aside, keys=["person_bi", "kind"], join_type="left outer")
    keep = pc.or_kleene(pc.is_null(joined["aside_until"]), pc.greater(joined["period"], joined["aside_until"]))
    return joined.filter(keep).select(RECORDS_SCHEMA.names).cast(RECORDS_SCHEMA)


def _dec(v: Any) -> Decimal:
    return Decimal(str(v if v is not None else "0"))


def _declared_tables(data: dict[int, dict[str, Any]], bis: dict[int, dict[str, str]]) -> tuple[pa.Table, pa.Table]:
    m_cols: dict[str, list[Any]] = {n: [] for n in MEMBERS_SCHEMA.names}
    h_cols: dict[str, list[Any]] = {n: [] for n in HOUSEHOLDS_SCHEMA.names}
    for hh, d in data.items():
        a = d.get("assets") or {}
        for k, v in (("hh", hh), ("d_vehicles", int(a.get("vehicles", 0))), ("d_houses", int(a.get("houses", 0))),
                     ("d_area", _dec(a.get("housing_area_m2"))), ("d_fin", _dec(a.get("financial")))):  # fmt: skip
            h_cols[k].append(v)
        for pos, m in enumerate(d["members"]):
            inc = m.get("income") or {}
            row: tuple[tuple[str, Any], ...] = (
                ("pid", len(m_cols["pid"])), ("hh", hh), ("pos", pos), ("member", m["id"]), ("bi", bis[hh][m["id"]]),
                ("d_wage", _dec(inc.get("wage"))), ("d_other", _dec(inc.get("other_pension"))),
                ("d_basic", _dec(inc.get("basic_pension"))), ("d_business", _dec(inc.get("business"))),
            )  # fmt: skip
            for k, v in row:
                m_cols[k].append(v)
    return pa.table(m_cols, schema=MEMBERS_SCHEMA), pa.table(h_cols, schema=HOUSEHOLDS_SCHEMA)


def _conclusion(o: Outcome, result: dict[str, Any] | None) -> str:
    if result is None or assess.needs_look(o.diffs):  # as services._run
        return VerificationRun.Conclusion.INVESTIGATE
    return VerificationRun.Conclusion.MEETS if result["eligible"] else VerificationRun.Conclusion.FAILS


def run_bulk(*, area_code: str, on: dt.date, programme: str = "dibao", actor: Any = None, job: JobRun | None = None,
             engine: str = "duckdb", progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Re-verify every household in scope (``households_in_scope``) on ``on`` as one job (``job``, or a new
    one). ``progress(done, total)`` is called as households are written. Returns the counts, also stored on
    the job. A failure marks the job failed (batches already written stay: each run is complete) and raises."""
    from jiuzhu.accounts import roles
    from jiuzhu.core.audit import audit_record
    from jiuzhu.core.scoping import area_visible

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}")
    if actor is not None and not area_visible(actor, area_code, roles.VERIFY):
        raise PermissionDenied(_("您没有核对该地区的权限"))
    params = {"area": area_code, "on": on.isoformat(), "programme": programme, "engine": engine}
    if job is None:
        job = JobRun.objects.create(kind=KIND, area_code=area_code, created_by=actor, params=params)
    job.status, job.message = JobRun.Status.RUNNING, _("正在读取家庭、成员和部门数据")
    JobRun.objects.filter(pk=job.pk).update(status=job.status, message=job.message)
    try:
        counts = _bulk(area_code=area_code, on=on, programme=programme, actor=actor, job=job, engine=engine,
                       progress=progress)  # fmt: skip
    except Exception:
        log.exception("bulk verification job %s failed", job.pk)
        JobRun.objects.filter(pk=job.pk).update(status=JobRun.Status.FAILED, finished_at=timezone.now(),
                                                message=_("核对出错，已写入的批次保留；请联系系统管理员（任务编号 %(job)s）")
                                                % {"job": job.pk})  # fmt: skip
        raise
    job.status, job.counts, job.done = JobRun.Status.SUCCEEDED, counts, job.total
    JobRun.objects.filter(pk=job.pk).update(status=job.status, counts=counts, done=job.total, finished_at=timezone.now(),
                                            message=_("核对完成"))  # fmt: skip
    audit_record(action="verification.bulk", actor=actor, obj=job,
                 detail={"area": area_code, "on": on.isoformat(), "programme": programme,
                         "sources": sorted(SOURCES), "households": counts["households"],
                         "with_authorisation": counts["with_authorisation"],
                         "under_management": counts["under_management"], "refused": counts["refused"],
                         "conclusions": counts["conclusions"]})  # fmt: skip
    return counts


def _bulk(*, area_code: str, on: dt.date, programme: str, actor: Any, job: JobRun, engine: str,
          progress: Callable[[int, int], None] | None) -> dict[str, Any]:  # fmt: skip
    from jiuzhu.registry.models import Household, Person
    from jiuzhu.registry.policy_input import household_inputs

    t0 = time.perf_counter()
    scope = households_in_scope(area_code)
    auth = _authorisations(scope)
    rows = list(scope.order_by("pk").values_list("pk", "household_no", "area_code", "economy__current_dibao"))
    refused = [pk for pk, _no, _area, dibao in rows if not dibao and pk not in auth]
    signed = _signatures(scope).values("case__household_id")
    allowed = Household.objects.filter(pk__in=scope.filter(Q(economy__current_dibao=True) | Q(pk__in=signed))
                                       .values("pk")).order_by("pk")  # fmt: skip
    job.total = len(rows)
    JobRun.objects.filter(pk=job.pk).update(total=job.total, done=0)
    if progress:
        progress(0, job.total)

    by_no = {no: pk for pk, no, _area, _dibao in rows}
    data: dict[int, dict[str, Any]] = {}
    for d in household_inputs(allowed, on=on):
        d.pop("facts", None)
        if d["id"] in by_no:  # (a household that came into scope after the list was read waits for the next job)
            data[by_no[d["id"]]] = d
    persons = Person.objects.filter(household__in=allowed.values("pk"))
    bis: dict[int, dict[str, str]] = defaultdict(dict)
    names: dict[str, str] = {}
    for pk, hid, bi, name in persons.order_by("pk").values_list("pk", "household_id", "id_number_bi", "name"):
        bis[hid][str(pk)] = bi
        names[str(pk)] = name
    data = {hh: d for hh, d in data.items() if all(m["id"] in bis[hh] for m in d["members"])}
    n_persons = sum(len(d["members"]) for d in data.values())
    records = _set_aside(_read_records(persons, on), allowed, bis)
    t_read = time.perf_counter()

    JobRun.objects.filter(pk=job.pk).update(message=_("正在比对部门数据与申报"))
    if engine == "duckdb":
        members, households = _declared_tables(data, bis)
        outcomes = _outcomes_sql(data, names, members, compute(members, households, records, on))
    else:
        outcomes = _outcomes_python(data, bis, names, records, on)
    order = sorted(outcomes)
    results = dict(zip(order, evaluate_all([outcomes[hh].assessed for hh in order], on, programme), strict=True))
    t_compute = time.perf_counter()

    JobRun.objects.filter(pk=job.pk).update(message=_("正在写入核对结果"))
    areas = {pk: area for pk, _no, area, _dibao in rows}
    now = timezone.now()
    conclusions: dict[str, int] = defaultdict(int)
    findings: dict[str, int] = defaultdict(int)
    with_auth = under_management = 0
    todo = [(pk, pk in outcomes) for pk, *_ in rows if pk in outcomes or pk in refused]
    done = len(rows) - len(todo)  # households dropped between reads (see above): counted, not written
    for start in range(0, len(todo), BATCH):
        batch = todo[start:start + BATCH]
        runs: list[VerificationRun] = []
        for pk, verified in batch:
            sig = auth.get(pk)
            run = VerificationRun(household_id=pk, area_code=areas[pk], purpose="review", job=job,
                                  authorisation_id=sig, programme=programme, on=on, requested_by=actor,
                                  finished_at=now)  # fmt: skip
            if not verified:
                run.status = VerificationRun.Status.REFUSED
                run.assessment = {"refused": "no_authorisation", "job": job.pk}
            else:
                o, result = outcomes[pk], results[pk]
                run.status, run.conclusion = VerificationRun.Status.COMPLETE, _conclusion(o, result)
                run.assessment = {
                    "authorisation": f"signature:{sig}" if sig else UNDER_MANAGEMENT,
                    "members": o.found,
                    "assessed_input": {"assets": o.assessed.get("assets", {}),
                                       "incomes": {m["id"]: m.get("income", {}) for m in o.assessed["members"]},
                                       "members_counted": [m["id"] for m in o.assessed["members"]]},
                    "engine": result,
                    "differences": len(o.diffs),
                    "job": job.pk,
                }  # fmt: skip
                conclusions[str(run.conclusion)] += 1
                with_auth += sig is not None
                under_management += sig is None
            runs.append(run)
        with transaction.atomic():
            VerificationRun.objects.bulk_create(runs)
            rows_f = []
            for run in runs:
                if run.status != VerificationRun.Status.COMPLETE:
                    continue
                for x in outcomes[run.household_id].diffs:
                    findings[x.kind] += 1
                    rows_f.append(Finding(run=run, person_id=int(x.member_id) if x.member_id else None,
                                          source=x.source.split(",")[0], kind=x.kind, severity=x.severity,
                                          declared=x.declared, found=x.found, text=x.text))  # fmt: skip
            Finding.objects.bulk_create(rows_f, batch_size=2000)
        done += len(batch)
        job.done = done
        JobRun.objects.filter(pk=job.pk).update(done=done)
        if progress:
            progress(done, job.total)
    return {
        "households": len(rows), "verified": len(outcomes), "refused": len(refused),
        "with_authorisation": with_auth, "under_management": under_management,
        "persons": n_persons, "records": records.num_rows,  # (those set aside by an upheld objection not counted)
        "findings": dict(sorted(findings.items())), "conclusions": dict(sorted(conclusions.items())),
        "seconds": {"read": round(t_read - t0, 2), "compute": round(t_compute - t_read, 2),
                    "write": round(time.perf_counter() - t_compute, 2)},
    }  # fmt: skip


# --- running a job in the background (as registry.importers) ------------------------------------------------


def bulk_prepare(*, actor: Any, area_code: str, on: dt.date, programme: str = "dibao") -> JobRun:
    from jiuzhu.accounts import roles
    from jiuzhu.core.scoping import area_visible

    if not area_visible(actor, area_code, roles.VERIFY):
        raise PermissionDenied(_("您没有核对该地区的权限"))
    return JobRun.objects.create(kind=KIND, area_code=area_code, created_by=actor, status=JobRun.Status.PENDING,
                                 params={"area": area_code, "on": on.isoformat(), "programme": programme,
                                         "engine": "duckdb", "language": translation.get_language() or settings.LANGUAGE_CODE},
                                 message=_("等待开始"))  # fmt: skip


def bulk_start(job: JobRun) -> None:
    """Run now (``JIUZHU_JOBS_INLINE``) or in a background thread once the job row is committed."""
    if getattr(settings, "JIUZHU_JOBS_INLINE", False):
        bulk_run(job.pk)
        return

    def _thread() -> None:
        try:
            bulk_run(job.pk)
        except Exception:  # noqa: S110 - logged and stored on the job by run_bulk
            pass
        finally:
            connection.close()

    transaction.on_commit(lambda: threading.Thread(target=_thread, name=f"verify-{job.pk}", daemon=True).start())


def bulk_run(job_id: int) -> JobRun:
    job = JobRun.objects.select_related("created_by").get(pk=job_id, kind=KIND)
    if job.status != JobRun.Status.PENDING:
        return job
    p = job.params
    with translation.override(p.get("language") or settings.LANGUAGE_CODE):
        run_bulk(area_code=p["area"], on=dt.date.fromisoformat(p["on"]), programme=p.get("programme", "dibao"),
                 actor=job.created_by, job=job, engine=p.get("engine", "duckdb"))  # fmt: skip
    job.refresh_from_db()
    return job


