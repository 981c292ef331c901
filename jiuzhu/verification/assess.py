"""From departmental records to an assessed picture (REFERENCE §1.2–1.3), pure Python over plain values so the
same rules run for one household at a window and, column by column, in bulk (``bulk.py`` mirrors them in SQL).

1. ``aggregate`` — per person, what the departments say as of a date: the monthly wage (the highest of the
   latest month reported by 人社, 税务 and 公积金 within ``WAGE_FRESH_MONTHS``; an older last report means the
   salary stopped), pensions and benefits, dwellings, non-exempt vehicles, financial assets, an active
   business, a death.
2. ``compare`` — each difference from what the household declared, explained in Chinese with the source.
3. ``assessed_input`` — the engine input with the assessed values: the higher of declared and found for each
   income and asset (a department's record is evidence; a lower record is shown but does not lower a
   declaration, which the township investigates), members who died before the date removed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .sources import SOURCES

ZERO = Decimal("0.00")
WAGE_FRESH_MONTHS = 3  # a wage last reported longer ago than this has stopped
LOOKBACK_MONTHS = 12  # records older than this are not evidence of the current situation
EXEMPT_VEHICLES = frozenset({"motorcycle", "tricycle", "adapted"})  # 生活必需/残疾人专用 (REFERENCE §1.3, L)
TOLERANCE = Decimal("50.00")  # a difference smaller than this (or 10 %) is not a finding


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


@dataclass
class Found:
    wage: Decimal | None = None  # None: no wage reported at all
    wage_sources: list[str] = field(default_factory=list)
    wage_stopped_since: dt.date | None = None  # last report older than WAGE_FRESH_MONTHS
    pension_basic: Decimal = ZERO
    pension_other: Decimal = ZERO
    unemployment: Decimal = ZERO
    houses: int = 0
    house_area: Decimal = ZERO
    vehicles: int = 0  # non-exempt
    vehicle_kinds: list[str] = field(default_factory=list)
    financial: Decimal = ZERO
    business: bool = False
    death: dt.date | None = None
    death_source: str = ""
    sources: set[str] = field(default_factory=set)


def months_before(on: dt.date, n: int) -> dt.date:
    y, m = divmod(on.year * 12 + on.month - 1 - n, 12)
    return dt.date(y, m + 1, 1)


def aggregate(records: Iterable[Record], on: dt.date) -> dict[str, Found]:
    """What the departments say about each person as of ``on`` (records dated after ``on`` are ignored)."""
    since = months_before(on, LOOKBACK_MONTHS)
    fresh = months_before(on, WAGE_FRESH_MONTHS)
    latest_wage: dict[tuple[str, str], tuple[dt.date, Decimal]] = {}
    latest_pension: dict[tuple[str, str, str], tuple[dt.date, Decimal]] = {}
    out: dict[str, Found] = {}
    for r in records:
        if r.period > on:
            continue
        f = out.setdefault(r.person, Found())
        f.sources.add(r.source)
        if r.kind == "death" and r.event_date is not None and r.event_date <= on:
            if f.death is None or r.event_date < f.death:
                f.death, f.death_source = r.event_date, r.source
            continue
        if r.period < since and r.kind in ("wage", "pension", "unemployment"):
            continue
        if r.kind == "wage" and r.amount is not None:
            k = (r.person, r.source)
            if k not in latest_wage or r.period > latest_wage[k][0]:
                latest_wage[k] = (r.period, r.amount)
        elif r.kind in ("pension", "unemployment") and r.amount is not None:
            cat = "unemployment" if r.kind == "unemployment" else ("basic" if r.category == "basic" else "other")
            k3 = (r.person, r.source, cat)
            if k3 not in latest_pension or r.period > latest_pension[k3][0]:
                latest_pension[k3] = (r.period, r.amount)
        elif r.kind == "house":
            f.houses += 1
            f.house_area += r.quantity or ZERO
        elif r.kind == "vehicle" and r.category not in EXEMPT_VEHICLES:
            f.vehicles += 1
            f.vehicle_kinds.append(r.category or "car")
        elif r.kind in ("deposit", "securities", "insurance") and r.amount is not None:
            f.financial += r.amount
        elif r.kind == "business" and r.category != "closed":
            f.business = True
    for (person, source), (period, amount) in latest_wage.items():
        f = out[person]
        if period >= fresh:
            if f.wage is None or amount > f.wage:
                f.wage = amount
            f.wage_sources.append(source)
        elif f.wage_stopped_since is None or period > f.wage_stopped_since:
            f.wage_stopped_since = period
    for f in out.values():
        if f.wage is not None:
            f.wage_stopped_since = None  # another source reports a current wage
    for (person, _source, cat), (period, amount) in latest_pension.items():
        if period < fresh:
            continue
        f = out[person]
        if cat == "basic":
            f.pension_basic = max(f.pension_basic, amount)
        elif cat == "unemployment":
            f.unemployment = max(f.unemployment, amount)
        else:
            f.pension_other = max(f.pension_other, amount)
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


def _yuan(v: Decimal | None) -> str:
    return f"{(v or ZERO):,.2f}"


def _beyond(found: Decimal, declared: Decimal) -> bool:
    return found - declared > max(TOLERANCE, declared * Decimal("0.10"))


def _labels(sources: Iterable[str]) -> str:
    return "、".join(SOURCES[s].label for s in sorted(set(sources)) if s in SOURCES)


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
        if f.wage is not None and _beyond(f.wage, declared_wage):
            sev = "undeclared" if declared_wage == 0 else "higher"
            out.append(Difference(bi, mid, ",".join(sorted(f.wage_sources)), "wage", sev, declared_wage, f.wage,
                                  f"{who}：申报工资性收入 {_yuan(declared_wage)} 元/月，{_labels(f.wage_sources)}记录显示 "
                                  f"{_yuan(f.wage)} 元/月"))  # fmt: skip
        if f.wage_stopped_since is not None and declared_wage > 0:
            out.append(Difference(bi, mid, "hrss", "wage", "lower", declared_wage, ZERO,
                                  f"{who}：申报工资性收入 {_yuan(declared_wage)} 元/月，但部门记录的工资（缴费）"
                                  f"自 {f.wage_stopped_since:%Y年%m月} 后中断，需核实是否已失业"))  # fmt: skip
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
        vehicles += f.vehicles
        houses += f.houses
        area += f.house_area
        fin += f.financial
        kept.append(m)
    ids = {m["id"] for m in kept}
    for m in kept:  # a supporter who died supports no one
        if m.get("obligor_for") and m["obligor_for"] not in ids:
            m.pop("obligor_for")
    out["members"] = kept
    a = out.setdefault("assets", {})
    a["vehicles"] = max(int(a.get("vehicles", 0)), vehicles)
    a["houses"] = max(int(a.get("houses", 0)), houses)
    a["housing_area_m2"] = f"{max(Decimal(str(a.get('housing_area_m2', '0'))), area):.2f}"
    a["financial"] = f"{max(Decimal(str(a.get('financial', '0'))), fin):.2f}"
    return out
