"""From departmental records to an assessed picture (REFERENCE §1.2–1.3), pure Python over plain values so the
same rules run for one household at a window and, column by column, in bulk (``bulk.py`` mirrors them in SQL).

1. ``aggregate`` — per person, what the departments say as of a date:

   * **wage** — per source, the latest month reported within ``LOOKBACK_MONTHS``, the employers of that month
     added up (one record per employer and month — ``ref`` names the employer; of two records of one employer
     and month the first stored counts). The wage is 税务's (the taxed gross salary) when 税务 reports a current
     month, else the highest contribution base of 人社 and 公积金 (a base is only an approximation of the wage).
     A month is current within ``WAGE_FRESH_MONTHS``; when no source is current, the sources whose last report
     is older have *stopped* and are named. The declared wage is net (after contributions and tax,
     docs/policy-input.md), so the gross found is compared as ``net_of(gross)``: minus the employee's social
     insurance (``PERSONAL_INSURANCE_RATE``), minus the housing-fund share (``FUND_PERSONAL_RATE``, the
     statutory maximum, only when 公积金 reports a current month) and minus the monthly individual income tax.
     Where the estimate is uncertain it leans to the applicant's side (lower net).
   * **pensions and benefits** — per source and category, the latest month within the lookback, counted when
     current.
   * **holdings** (dwellings, vehicles, businesses, bank/securities/insurance balances) — one holding per source,
     kind and ``ref`` (不动产单元号, plate, 统一社会信用代码, account); its latest record decides (on one date an
     ending record — 注销, 转移, 报废 — wins). A holding whose latest record has ended is not counted; exempt
     vehicle kinds are not counted; balances only from records within the lookback, the latest per account
     added up. A record without ``ref`` is a holding of its own.
   * **registration** (公安户籍) — the person's latest status; moved out or cancelled (other than by death) is
     reported as an event for the township to check whether the person still lives with the family.
   * **death** — the earliest date reported; on a tie the source first in ``SOURCES`` names it.
2. ``compare`` — each difference from what the household declared, explained in Chinese with the source.
3. ``assessed_input`` — the engine input with the assessed values: the higher of declared and found for each
   income and asset (a department's record is evidence; a lower record is shown but does not lower a
   declaration, which the township investigates); members who died before the date removed with their
   incomes, their holdings still counted (an estate passes to the family until the township shows otherwise).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jiuzhu.core.months import months_before

from .sources import SOURCES

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
WAGE_FRESH_MONTHS = 3  # a wage last reported longer ago than this has stopped
LOOKBACK_MONTHS = 12  # records older than this are not evidence of the current situation
EXEMPT_VEHICLES = frozenset({"motorcycle", "tricycle", "adapted"})  # 生活必需/残疾人专用 (REFERENCE §1.3, L)
ENDED = frozenset({"ended", "closed"})  # a holding's ending record: deregistered, transferred, scrapped, closed
MOVED = frozenset({"moved_out", "cancelled"})  # 户籍 statuses that make the township check the living together
BALANCE_KINDS = ("deposit", "securities", "insurance")
HOLDING_KINDS = ("house", "vehicle", "business", *BALANCE_KINDS)
TOLERANCE = Decimal("50.00")  # a difference smaller than this (or 10 %) is not a finding
# The employee's social insurance: 8 % pension + 2 % medical + 0.5 % unemployment (national statutory rates)
PERSONAL_INSURANCE_RATE = Decimal("0.105")
FUND_PERSONAL_RATE = Decimal("0.12")  # the employee's housing-fund share: the statutory maximum (5–12 %)
TAX_THRESHOLD = Decimal("5000")  # 个人所得税 basic deduction per month
# The monthly individual income-tax table (综合所得月度税率表): (upper bound of the taxable amount, rate, quick deduction)
TAX_TABLE = ((Decimal("3000"), Decimal("0.03"), Decimal("0")), (Decimal("12000"), Decimal("0.10"), Decimal("210")),
             (Decimal("25000"), Decimal("0.20"), Decimal("1410")), (Decimal("35000"), Decimal("0.25"), Decimal("2660")),
             (Decimal("55000"), Decimal("0.30"), Decimal("4410")), (Decimal("80000"), Decimal("0.35"), Decimal("7160")),
             (None, Decimal("0.45"), Decimal("15160")))  # fmt: skip
WAGE_BASE_SOURCES = ("hrss", "housing_fund")  # they report a contribution base, 税务 the taxed salary


@dataclass(frozen=True)
class Record:
    """A normalised departmental record (a ``FeedRecord`` row without its storage details)."""

    source: str
    kind: str
    person: str  # the person's blind index
    period: dt.date
    amount: Decimal | None = None
    quantity: Decimal | None = None
    category: str = ""
    event_date: dt.date | None = None
    ref: str = ""  # the employer of a wage, the account, plate, unit or business of a holding


@dataclass
class Found:
    wage: Decimal | None = None  # net_of(wage_gross); None: no current wage reported
    wage_gross: Decimal | None = None
    wage_sources: list[str] = field(default_factory=list)  # the sources reporting a current month
    wage_fund: bool = False  # 公积金 reports a current month (its share is deducted)
    wage_stopped_since: dt.date | None = None  # no current wage: the latest month any source last reported
    wage_stopped_sources: list[str] = field(default_factory=list)
    pension_basic: Decimal = ZERO
    pension_other: Decimal = ZERO
    unemployment: Decimal = ZERO
    houses: int = 0
    house_area: Decimal = ZERO
    vehicles: int = 0  # non-exempt
    vehicle_kinds: list[str] = field(default_factory=list)
    financial: Decimal = ZERO
    business: bool = False
    registration: str = ""  # the latest 户籍 status when moved out or cancelled (MOVED)
    registration_date: dt.date | None = None
    death: dt.date | None = None
    death_source: str = ""
    sources: set[str] = field(default_factory=set)


def _cents(v: Decimal) -> Decimal:
    return v.quantize(CENT, rounding=ROUND_HALF_UP)


def income_tax(taxable: Decimal) -> Decimal:
    """The monthly tax on ``taxable`` (after the basic deduction and contributions), by ``TAX_TABLE``."""
    if taxable <= 0:
        return ZERO
    for upper, rate, quick in TAX_TABLE:
        if upper is None or taxable <= upper:
            return _cents(taxable * rate - quick)
    raise AssertionError  # the last row has no upper bound


def net_of(gross: Decimal, *, fund: bool) -> Decimal:
    """The net monthly wage of a gross one: minus the employee's social insurance, the housing-fund share when
    ``fund``, and the income tax on the rest above the basic deduction."""
    contributions = _cents(gross * PERSONAL_INSURANCE_RATE) + (_cents(gross * FUND_PERSONAL_RATE) if fund else ZERO)
    return gross - contributions - income_tax(gross - contributions - TAX_THRESHOLD)


def _rank(source: str) -> int:
    return list(SOURCES).index(source) if source in SOURCES else len(SOURCES)


def aggregate(records: Iterable[Record], on: dt.date) -> dict[str, Found]:
    """What the departments say about each person as of ``on`` (records dated after ``on`` are ignored). Of
    two records that tie, the one seen first counts (``services._run`` gives them source by source, each in
    the order stored)."""
    since = months_before(on, LOOKBACK_MONTHS)
    fresh = months_before(on, WAGE_FRESH_MONTHS)
    slots: dict[tuple[str, str, str, str, dt.date], Decimal] = {}  # (person, source, cat, employer, month)
    holdings: dict[tuple[str, str, str, str | int], tuple[dt.date, bool, Record]] = {}
    registration: dict[str, tuple[dt.date, bool, Record]] = {}
    out: dict[str, Found] = {}
    for seq, r in enumerate(records):
        if r.period > on:
            continue
        f = out.setdefault(r.person, Found())
        f.sources.add(r.source)
        if r.kind == "death":
            if r.event_date is not None and r.event_date <= on and (
                    f.death is None or (r.event_date, _rank(r.source)) < (f.death, _rank(f.death_source))):  # fmt: skip
                f.death, f.death_source = r.event_date, r.source
        elif r.kind in ("wage", "pension", "unemployment"):
            if r.amount is None or r.period < since:
                continue
            cat = ("w" if r.kind == "wage" else "u" if r.kind == "unemployment"
                   else "b" if r.category == "basic" else "o")  # fmt: skip
            slots.setdefault((r.person, r.source, cat, r.ref if cat == "w" else "", r.period), r.amount)
        elif r.kind in HOLDING_KINDS:
            if r.kind in BALANCE_KINDS and (r.amount is None or r.period < since):
                continue
            key = (r.person, r.source, r.kind, r.ref or seq)
            ended = r.category in ENDED
            cur = holdings.get(key)
            if cur is None or (r.period, ended) > (cur[0], cur[1]):
                holdings[key] = (r.period, ended, r)
        elif r.kind == "registration":
            ended = r.category in MOVED
            cur = registration.get(r.person)
            if cur is None or (r.period, ended) > (cur[0], cur[1]):
                registration[r.person] = (r.period, ended, r)
    # incomes: per person, source and category the latest month, its employers added up
    months: dict[tuple[str, str, str], tuple[dt.date, Decimal]] = {}
    for (person, source, cat, _employer, period), amount in slots.items():
        k = (person, source, cat)
        if k not in months or period > months[k][0]:
            months[k] = (period, amount)
        elif period == months[k][0]:
            months[k] = (period, months[k][1] + amount)
    tax_wage: dict[str, Decimal] = {}
    base_wage: dict[str, Decimal] = {}
    for (person, source, cat), (period, amount) in months.items():
        f = out[person]
        if cat == "w":
            if period >= fresh:
                f.wage_sources.append(source)
                f.wage_fund = f.wage_fund or source == "housing_fund"
                if source == "tax":
                    tax_wage[person] = amount
                else:
                    base_wage[person] = max(base_wage.get(person, amount), amount)
            else:
                f.wage_stopped_sources.append(source)
                if f.wage_stopped_since is None or period > f.wage_stopped_since:
                    f.wage_stopped_since = period
        elif period >= fresh:
            if cat == "b":
                f.pension_basic = max(f.pension_basic, amount)
            elif cat == "u":
                f.unemployment = max(f.unemployment, amount)
            else:
                f.pension_other = max(f.pension_other, amount)
    for person, f in out.items():
        f.wage_sources.sort()
        f.wage_stopped_sources.sort()
        gross = tax_wage.get(person, base_wage.get(person))
        if gross is not None:
            f.wage_gross, f.wage = gross, net_of(gross, fund=f.wage_fund)
            f.wage_stopped_since, f.wage_stopped_sources = None, []  # another source reports a current wage
    for (person, _source, kind, _ref), (_period, ended, r) in holdings.items():
        if ended:
            continue
        f = out[person]
        if kind == "house":
            f.houses += 1
            f.house_area += r.quantity or ZERO
        elif kind == "vehicle" and r.category not in EXEMPT_VEHICLES:
            f.vehicles += 1
            f.vehicle_kinds.append(r.category or "car")
        elif kind in BALANCE_KINDS:
            f.financial += r.amount or ZERO
        elif kind == "business":
            f.business = True
    for person, (_period, ended, r) in registration.items():
        f = out[person]
        if ended and f.death is None:
            f.registration, f.registration_date = r.category, r.event_date or r.period
    return out


@dataclass
class Difference:
    person: str  # blind index ("" for the household)
    member_id: str  # the engine input's member id ("" for the household)
    source: str
    kind: str
    severity: str  # undeclared | higher | lower | event
    declared: Decimal | None
    found: Decimal | None
    text: str


def needs_look(diffs: Iterable[Difference]) -> bool:
    """A difference the township must look into before anyone concludes: an undeclared business (its income is
    unknown), a wage or record lower than declared (stopped), a member moved out of the 户籍."""
    return any(d.kind in ("business", "registration") or d.severity == "lower" for d in diffs)


def _yuan(v: Decimal | None) -> str:
    return f"{(v or ZERO):,.2f}"


def _beyond(found: Decimal, declared: Decimal) -> bool:
    return found - declared > max(TOLERANCE, declared * Decimal("0.10"))


def _labels(sources: Iterable[str]) -> str:
    return "、".join(SOURCES[s].label for s in sorted(set(sources)) if s in SOURCES)


def wage_text(who: str, declared: Decimal, sources: Sequence[str], gross: Decimal, net: Decimal, fund: bool) -> str:
    basis = "税务申报的工资薪金收入" if "tax" in sources else "社会保险（公积金）缴费基数"
    fund_part = "、住房公积金" if fund else ""
    return (f"{who}：申报工资性收入 {_yuan(declared)} 元/月，{_labels(sources)}记录显示在职，{basis} {_yuan(gross)} 元/月"
            f"（税前），扣除个人缴纳的社会保险费{fund_part}和个人所得税后约 {_yuan(net)} 元/月")  # fmt: skip


def stopped_text(who: str, declared: Decimal, sources: Iterable[str], since: dt.date) -> str:
    return (f"{who}：申报工资性收入 {_yuan(declared)} 元/月，但{_labels(sources)}记录的工资（缴费）"
            f"自 {since:%Y年%m月} 后中断，需核实是否已失业")  # fmt: skip


def registration_text(who: str, status: str, on: dt.date) -> str:
    what = "迁出" if status == "moved_out" else "注销"
    return f"{who}：公安户籍记录于 {on:%Y-%m-%d} 户口{what}，需核实是否仍与家庭共同生活"


def compare(data: dict[str, Any], members: dict[str, str], found: dict[str, Found], names: dict[str, str],
            on: dt.date) -> list[Difference]:  # fmt: skip
    """Differences between the engine input ``data`` (the declared picture, docs/policy-input.md) and ``found``.
    ``members`` maps member id → blind index; ``names`` member id → the name to print (masked or not)."""
    out: list[Difference] = []
    hh_vehicles = hh_houses = 0
    hh_area = hh_fin = ZERO
    for m in data["members"]:
        mid = m["id"]
        bi = members.get(mid, "")
        f = found.get(bi)
        if f is None:
            continue
        who = names.get(mid, mid)
        inc = m.get("income") or {}
        declared_wage = Decimal(str(inc.get("wage", "0")))
        if f.wage is not None and f.wage_gross is not None and _beyond(f.wage, declared_wage):
            sev = "undeclared" if declared_wage == 0 else "higher"
            out.append(Difference(bi, mid, ",".join(f.wage_sources), "wage", sev, declared_wage, f.wage,
                                  wage_text(who, declared_wage, f.wage_sources, f.wage_gross, f.wage, f.wage_fund)))  # fmt: skip
        if f.wage_stopped_since is not None and declared_wage > 0:
            out.append(Difference(bi, mid, ",".join(f.wage_stopped_sources), "wage", "lower", declared_wage, ZERO,
                                  stopped_text(who, declared_wage, f.wage_stopped_sources, f.wage_stopped_since)))  # fmt: skip
        for key, value, label in (("other_pension", f.pension_other + f.unemployment, "养老金、失业保险金等社会保险待遇"),
                                  ("basic_pension", f.pension_basic, "城乡居民基础养老金")):  # fmt: skip
            declared = Decimal(str(inc.get(key, "0")))
            if _beyond(value, declared):
                out.append(Difference(bi, mid, "hrss", "pension", "undeclared" if declared == 0 else "higher", declared,
                                      value, f"{who}：申报{label} {_yuan(declared)} 元/月，人社记录 {_yuan(value)} 元/月"))  # fmt: skip
        if f.business and Decimal(str(inc.get("business", "0"))) == 0:
            out.append(Difference(bi, mid, "market", "business", "undeclared", None, None,
                                  f"{who}：名下有存续的市场主体（市场监管登记），未申报经营收入，需入户核实经营情况"))  # fmt: skip
        if f.death is not None:
            out.append(Difference(bi, mid, f.death_source, "death", "event", None, None,
                                  f"{who}：{SOURCES[f.death_source].label}记录于 {f.death:%Y-%m-%d} 死亡，应从共同生活"
                                  f"家庭成员中减员"))  # fmt: skip
        if f.registration and f.registration_date is not None:
            out.append(Difference(bi, mid, "hukou", "registration", "event", None, None,
                                  registration_text(who, f.registration, f.registration_date)))  # fmt: skip
        hh_vehicles += f.vehicles
        hh_houses += f.houses
        hh_area += f.house_area
        hh_fin += f.financial
    assets = data.get("assets") or {}
    d_veh = int(assets.get("vehicles", 0))
    if hh_vehicles > d_veh:
        out.append(Difference("", "", "vehicle", "vehicle", "undeclared", Decimal(d_veh), Decimal(hh_vehicles),
                              f"家庭申报非豁免机动车 {d_veh} 辆，车辆登记显示 {hh_vehicles} 辆"))  # fmt: skip
    d_houses = int(assets.get("houses", 0))
    if hh_houses > d_houses:
        out.append(Difference("", "", "real_estate", "house", "undeclared", Decimal(d_houses), Decimal(hh_houses),
                              f"家庭申报住房 {d_houses} 套，不动产登记显示 {hh_houses} 套（合计 {hh_area:.2f} 平方米）"))  # fmt: skip
    d_fin = Decimal(str(assets.get("financial", "0")))
    if _beyond(hh_fin, d_fin):
        out.append(Difference("", "", "bank", "financial", "undeclared" if d_fin == 0 else "higher", d_fin, hh_fin,
                              f"家庭申报金融资产 {_yuan(d_fin)} 元，银行、证券、保险记录合计 {_yuan(hh_fin)} 元"))  # fmt: skip
    return out


def without_gone_supported(kept: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The members kept, each support duty (``obligor_for``) towards a member no longer counted (dead) removed."""
    ids = {m["id"] for m in kept}
    for m in kept:
        if m.get("obligor_for") and m["obligor_for"] not in ids:
            m.pop("obligor_for")
    return kept


def assessed_input(data: dict[str, Any], members: dict[str, str], found: dict[str, Found], on: dt.date) -> dict[str, Any]:
    """The engine input with the assessed values (see the module docstring). ``data`` is not modified."""
    import copy

    out = copy.deepcopy(data)
    kept = []
    vehicles = houses = 0
    area = fin = ZERO
    for m in out["members"]:
        f = found.get(members.get(m["id"], ""))
        if f is None:
            kept.append(m)
            continue
        vehicles += f.vehicles  # a dead member's holdings too: the estate passes to the family
        houses += f.houses
        area += f.house_area
        fin += f.financial
        if f.death is not None and f.death < on:
            continue
        inc = m.setdefault("income", {})

        def higher(key: str, value: Decimal, inc: dict[str, Any] = inc) -> None:
            cur = Decimal(str(inc.get(key, "0")))
            if value > cur:
                inc[key] = f"{value:.2f}"

        if f.wage is not None:
            higher("wage", f.wage)
        higher("other_pension", f.pension_other + f.unemployment)
        higher("basic_pension", f.pension_basic)
        kept.append(m)
    out["members"] = without_gone_supported(kept)
    a = out.setdefault("assets", {})
    a["vehicles"] = max(int(a.get("vehicles", 0)), vehicles)
    a["houses"] = max(int(a.get("houses", 0)), houses)
    a["housing_area_m2"] = f"{max(Decimal(str(a.get('housing_area_m2', '0'))), area):.2f}"
    a["financial"] = f"{max(Decimal(str(a.get('financial', '0'))), fin):.2f}"
    return out
