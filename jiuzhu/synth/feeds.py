"""Synthetic departmental file drops for the 家庭经济状况核对 (docs/verification-feeds.md, "Synthetic feeds").

``write_feeds`` writes, for the registry persons of a county, one file per source in that source's own layout
(``jiuzhu/verification/feeds/<source>.yaml``) and in a mix of formats — CSV in GBK, CSV in UTF-8, .xlsx (the
smaller files: openpyxl is slow), one Parquet file — with dates in the formats departments use. The files agree
with the declared economy (``PersonEconomy``/``HouseholdEconomy``): wages appear as 人社 contribution bases (for
about 70 % of earners, the insured ones), 个税 wage income and 公积金 bases, pensions as 人社 benefits,
dwellings, non-exempt vehicles and financial assets as 不动产, 车辆 and 银行 records, declared businesses as
市场监管 registrations; some households have exempt vehicles (motorcycles, tricycles, an adapted vehicle for a
person with a physical disability).

A small, deterministic share of households (about 3 % each, decided by a draw keyed by the seed and the
household number) gets one realistic inconsistency:

=================  ================================================================================
hidden_car         a 小型轿车 the household did not declare
hidden_salary      a working-age member without a declared wage has 人社 contributions and 个税 wage income
died_last_month    a member died last month: a 殡葬 cremation and a 公安 户籍 cancellation (死亡)
salary_stopped     a member with a declared wage whose contributions ended five months ago
more_deposits      a savings account beyond the declared financial assets
active_business    an adult without declared business income runs a registered, active business
moved_out          an adult member other than the head moved his 户籍 out of the county last month (公安 迁出)
=================  ================================================================================

Wages are written as departments hold them: 税务's taxed salary and the 人社/公积金 contribution bases are the
gross wage whose net (``assess.net_of``) is the declared wage. Some records only look like findings and must
not become one: an old car scrapped years ago (a 正常 row and a later 注销 row of one plate), an earlier balance
of the same bank account.

A type's share of the draw is widened by the share of households that can have it (a hidden salary needs a
working-age member without a wage), so each type reaches about 3 % of all households; a household that draws
one it cannot have stays clean. Every file also holds a few rows about persons who are not in the registry and
a few duplicated rows.

``manifest.json`` next to the files names the household numbers per inconsistency type and the clean ones
(``clean``), and, when the county holds 关庙镇 (610902100), three households there that the policy engine
finds eligible for 低保 on their declared data and that have no case yet: ``demo_clean`` (forced clean),
``demo_hidden_car`` and ``demo_hidden_salary`` (forced to hide a car, a salary) — the browser journey of the
verification uses them. Determinism: the same registry, seed and date give the same manifest and rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

from jiuzhu.core import crypto, idnumber
from jiuzhu.verification.assess import FUND_PERSONAL_RATE, PERSONAL_INSURANCE_RATE, months_before

MANIFEST = "manifest.json"
# Bumped when the files written change meaning (columns, refs, wages gross): demo files of an older generator are
# written again instead of reused.
GENERATOR = 2
FRESH_DAYS = 31  # demo files older than this are written again (their months would look like stopped wages)
DEMO_TOWNSHIP = "610902100"  # 关庙镇
SHARE = 0.03  # of households, per inconsistency type
TYPES = ("hidden_car", "hidden_salary", "died_last_month", "salary_stopped", "more_deposits", "active_business",
         "moved_out")
INSURED = 0.70  # earners with 人社 contributions
TAXED = 0.40  # earners with 个税 withholding records
HOUSING_FUND = 0.30  # urban earners from 3,000 yuan with a housing-fund account
UNKNOWN_SHARE = 0.005  # rows about persons not in the registry, per file (at least 2)
DUPLICATES = 2  # duplicated rows per file
FORMATS = {  # source -> (file format, encoding or date style)
    "hukou": ("csv", "gb18030"), "hrss": ("csv", "utf-8-sig"), "tax": ("csv", "gb18030"),
    "real_estate": ("csv", "gb18030"), "market": ("xlsx", ""), "housing_fund": ("xlsx", ""), "vehicle": ("xlsx", ""),
    "bank": ("parquet", ""), "funeral": ("csv", "gb18030"), "marriage": ("csv", "utf-8"),
}  # fmt: skip
HEADERS = {
    "hukou": ["公民身份号码", "姓名", "户籍状态", "注销原因", "注销日期", "户籍地址", "数据日期"],
    "hrss": ["公民身份号码", "姓名", "险种类型", "缴费基数", "缴费年月", "待遇类型", "月待遇金额", "待遇年月", "参保单位", "业务流水号"],
    "tax": ["纳税人识别号", "纳税人姓名", "所属期", "工资薪金收入额", "扣缴义务人名称", "凭证编号"],
    "real_estate": ["权利人证件号", "权利人名称", "不动产单元号", "坐落", "规划用途", "建筑面积", "登记日期"],
    "market": ["法定代表人/经营者证件号", "法定代表人/经营者姓名", "统一社会信用代码", "市场主体名称", "市场主体类型", "登记状态",
               "注册资本", "成立日期", "注销日期"],
    "housing_fund": ["证件号码", "姓名", "单位名称", "缴存基数", "缴存年月", "账户余额"],
    "vehicle": ["所有人证件号码", "所有人", "号牌号码", "车辆类型", "初次登记日期", "机动车状态", "评估价值", "状态日期"],
    "bank": ["客户证件号", "客户姓名", "机构名称", "账户类别", "账户尾号", "余额", "余额日期"],
    "funeral": ["逝者身份证号", "逝者姓名", "死亡日期", "火化日期", "殡仪馆", "火化证明编号"],
    "marriage": ["证件号码", "姓名", "登记类型", "登记日期", "登记机关", "对方证件号码"],
}  # fmt: skip
EMPLOYERS = ("安康市某建筑工程有限公司", "汉滨区某商贸有限公司", "安康某物流有限公司", "陕西某食品有限公司", "汉滨区某物业服务有限公司")
BANKS = ("农村信用社", "中国邮政储蓄银行", "中国农业银行", "中国建设银行", "长安银行")
CAR_TYPES = ("小型轿车", "小型普通客车", "小型越野客车", "轻型货车")
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ZERO = Decimal("0.00")


@dataclass
class Member:
    pk: int
    name: str
    id_number: str
    sex: str
    birth: dt.date
    relation: str
    disability: str
    labour: str
    schooling: str
    wage: Decimal
    business: Decimal
    basic_pension: Decimal
    other_pension: Decimal

    def age(self, on: dt.date) -> int:
        return idnumber.age_on(self.birth, on)


@dataclass
class House:
    no: str
    area_code: str
    urban: bool
    address: str
    financial: Decimal
    houses: int
    housing_area: Decimal
    vehicles: int
    members: list[Member] = field(default_factory=list)


# --- the registry --------------------------------------------------------------------------------------------


def _households(county: str, persons_qs: Any) -> list[House]:
    from jiuzhu.registry.models import Person

    qs = persons_qs if persons_qs is not None else Person.objects.filter(area_code__startswith=county)
    rows = (qs.filter(household__isnull=False, household__status="active", death_date__isnull=True)
            .order_by("household__household_no", "relation", "birth_date", "pk")
            .values_list("pk", "household__household_no", "household__area_code", "household__urban_rural",
                         "household__address", "name", "id_number_enc", "sex", "birth_date", "relation",
                         "disability_category", "labour_capacity", "schooling", "economy__wage", "economy__business",
                         "economy__basic_pension", "economy__other_pension", "household__economy__financial",
                         "household__economy__houses", "household__economy__housing_area_m2",
                         "household__economy__vehicles"))  # fmt: skip
    prov = crypto.provider()
    out: list[House] = []
    for (pk, no, area, ur, address, name, enc, sex, birth, rel, dis, labour, school, wage, business, basic, other,
         fin, houses, area_m2, vehicles) in rows.iterator(chunk_size=5000):  # fmt: skip
        if not out or out[-1].no != no:
            out.append(House(no, area, ur == "urban", address, fin or ZERO, houses or 0, area_m2 or ZERO, vehicles or 0))
        out[-1].members.append(Member(pk, name, prov.decrypt(enc, context="person.id_number"), sex, birth, rel, dis,
                                      labour, school, wage or ZERO, business or ZERO, basic or ZERO, other or ZERO))  # fmt: skip
    return out


def _eligible(numbers: list[str], on: dt.date) -> list[str]:
    """Of these households (in 关庙镇), the ones not on 低保 yet, without a case, that the engine finds eligible
    for 低保 on their declared data — in the order given."""
    from jiuzhu.policy.engine import evaluate_many
    from jiuzhu.policyadmin.store import allow_unconfirmed, current_store
    from jiuzhu.registry.models import Household
    from jiuzhu.registry.policy_input import household_inputs

    qs = Household.objects.filter(household_no__in=numbers, economy__isnull=False, economy__current_dibao=False,
                                  cases__isnull=True).order_by("household_no")  # fmt: skip
    data = [d for d in household_inputs(qs, on=on) if d.pop("facts", None) is None and d["members"]]
    if not data:
        return []
    results = evaluate_many(data, current_store(), on=on, allow_unconfirmed=allow_unconfirmed())
    return [d["id"] for d, r in zip(data, results, strict=True) if r["programmes"]["dibao"].get("eligible")]


# --- the draws -----------------------------------------------------------------------------------------------


def _working_age(m: Member, on: dt.date) -> bool:
    return 18 <= m.age(on) <= 59 and m.schooling == "none"


def _hidden_salary_member(h: House, on: dt.date) -> Member | None:
    return next((m for m in h.members if _working_age(m, on) and m.wage == 0 and m.labour != "none"), None)


def _candidate(h: House, kind: str, on: dt.date) -> Member | None | bool:
    """The member the inconsistency is about (True: the household as a whole); None: it cannot have it."""
    if kind in ("hidden_car", "more_deposits"):
        return True
    if kind == "hidden_salary":
        return _hidden_salary_member(h, on)
    if kind == "died_last_month":
        return max(h.members, key=lambda m: (m.age(on), m.pk)) if h.members else None
    if kind == "salary_stopped":
        return next((m for m in h.members if m.wage > 0), None)
    if kind == "active_business":
        return next((m for m in h.members if 18 <= m.age(on) <= 70 and m.business == 0), None)
    if kind == "moved_out":
        return next((m for m in h.members[1:] if m.age(on) >= 18), None)
    raise ValueError(kind)


def _choose(households: list[House], on: dt.date, seed: int, demo: dict[str, str]) -> dict[str, tuple[str, Any]]:
    """household number -> (inconsistency type, the member concerned or True); clean ones absent.

    One uniform draw per household picks a slot on [0, 1); a type's slot is SHARE divided by the share of the
    county's households that can have it (a hidden salary needs a working-age member without a wage), so each
    type lands in about SHARE of all households; a household whose slot's type it cannot have stays clean."""
    out: dict[str, tuple[str, Any]] = {}
    forced = {no: kind for kind, no in demo.items()}
    can = {t: [_candidate(h, t, on) for h in households] for t in TYPES}
    bounds: list[float] = []
    top = 0.0
    for t in TYPES:
        applicable = sum(w is not None for w in can[t]) / max(1, len(households))
        top += SHARE / applicable if applicable else 0.0
        bounds.append(top)
    for i, h in enumerate(households):
        if h.no in forced:
            if forced[h.no] != "clean":
                who = can[forced[h.no]][i]
                assert who is not None, (h.no, forced[h.no])
                out[h.no] = (forced[h.no], who)
            continue
        x = random.Random(f"jiuzhu-feeds/{seed}/{h.no}/inconsistency").random()
        j = next((k for k, b in enumerate(bounds) if x < b), None)
        if j is not None and can[TYPES[j]][i] is not None:
            out[h.no] = (TYPES[j], can[TYPES[j]][i])
    return out


def _demo(households: list[House], on: dt.date) -> dict[str, str]:
    """The three demo households in 关庙镇: {"clean": no, "hidden_car": no, "hidden_salary": no} (what exists)."""
    local = [h for h in households if h.area_code.startswith(DEMO_TOWNSHIP)]
    if not local:
        return {}
    eligible = _eligible([h.no for h in local], on)
    by_no = {h.no: h for h in local}
    out: dict[str, str] = {}
    for no in eligible:
        h = by_no[no]
        if "hidden_salary" not in out and _hidden_salary_member(h, on) is not None:
            out["hidden_salary"] = no
        elif "hidden_car" not in out and h.vehicles == 0:
            out["hidden_car"] = no
        elif "clean" not in out:
            out["clean"] = no
        if len(out) == 3:
            break
    return out


# --- the rows ------------------------------------------------------------------------------------------------


class _Rows:
    """Rows per source, with the date styles of each department."""

    def __init__(self, on: dt.date, seed: int):
        self.on = on
        self.seed = seed
        self.rows: dict[str, list[list[Any]]] = {s: [] for s in HEADERS}
        self.n = 0

    def ref(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.on:%Y%m}{self.n:08d}"

    def month(self, k: int) -> dt.date:
        return months_before(self.on, k)

    def add(self, source: str, row: list[Any]) -> None:
        self.rows[source].append(row)


def _ymd(d: dt.date) -> str:
    return f"{d:%Y%m%d}"


def _slash(d: dt.date) -> str:
    return f"{d.year}/{d.month}/{d.day}"


def _money(v: Decimal | int | float) -> str:
    return f"{Decimal(v):.2f}"


def _plate(r: random.Random) -> str:
    return "陕G" + "".join(r.choice(PLATE_LETTERS + "0123456789") for _ in range(5))


def _wage_rows(out: _Rows, m: Member, amount: Decimal, months: range, *, insured: bool, taxed: bool, fund: bool,
               r: random.Random, balance: Decimal) -> None:  # fmt: skip
    employer = r.choice(EMPLOYERS)
    gross = _gross(amount, fund=fund)  # ``amount`` is the net wage (as declared)
    for k in months:
        period = out.month(k)
        if insured:
            out.add("hrss", [m.id_number, m.name, "养老", _money(gross), f"{period:%Y-%m}", "", "", "", employer, out.ref("RS")])
        if taxed:
            out.add("tax", [m.id_number, m.name, f"{period:%Y%m}", _money(gross), employer, out.ref("SP")])
        if fund:
            balance += (gross * Decimal("0.24")).quantize(Decimal("0.01"))
            out.add("housing_fund", [m.id_number, m.name, employer, float(gross), f"{period.year}年{period.month}月", float(balance)])
    if insured and r.random() < 0.15:  # 医疗 contributions: no record for the verification (skipped on ingest)
        out.add("hrss", [m.id_number, m.name, "医疗", _money(amount), f"{out.month(1):%Y-%m}", "", "", "", employer, out.ref("RS")])


def _gross(net: Decimal, *, fund: bool) -> Decimal:
    """A gross wage whose net (``assess.net_of``) is ``net`` or just below it (a taxed wage a little lower)."""
    rate = 1 - PERSONAL_INSURANCE_RATE - (FUND_PERSONAL_RATE if fund else 0)
    return (net / rate).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def _household_rows(out: _Rows, h: House, planted: tuple[str, Any] | None, seed: int) -> None:
    on = out.on
    r = random.Random(f"jiuzhu-feeds/{seed}/{h.no}/rows")
    kind, who = planted if planted else ("", None)
    head = h.members[0]
    died: Member | None = who if kind == "died_last_month" else None
    death_day = None
    if died is not None:
        last = months_before(on, 1)
        death_day = last + dt.timedelta(days=r.randrange(0, 25))
    for m in h.members:
        # 公安户籍
        if m is died and death_day is not None:
            out.add("hukou", [m.id_number, m.name, "注销", "死亡", _ymd(death_day), h.address, _ymd(on - dt.timedelta(days=1))])
            cremated = death_day + dt.timedelta(days=3)
            out.add("funeral", [m.id_number, m.name, _slash(death_day), _ymd(cremated) if r.random() < 0.5 else _slash(cremated),
                                "安康市殡仪馆", out.ref("HH")])  # fmt: skip
        elif kind == "moved_out" and m is who:
            moved = months_before(on, 1) + dt.timedelta(days=r.randrange(0, 25))
            out.add("hukou", [m.id_number, m.name, "正常", "", "", h.address, _ymd(moved - dt.timedelta(days=40))])
            out.add("hukou", [m.id_number, m.name, "迁出", "", _ymd(moved), h.address, _ymd(on - dt.timedelta(days=1))])
        else:
            out.add("hukou", [m.id_number, m.name, "正常", "", "", h.address, _ymd(on - dt.timedelta(days=1))])
        insured, taxed, fund_u = r.random() < INSURED, r.random() < TAXED, r.random()
        # wages: declared, stopped, or hidden
        if m.wage > 0:
            fund = h.urban and m.wage >= 3000 and fund_u < HOUSING_FUND
            balance = Decimal(r.randrange(2000, 30000))
            if kind == "salary_stopped" and m is who:
                _wage_rows(out, m, m.wage, range(10, 4, -1), insured=True, taxed=taxed, fund=fund, r=r, balance=balance)
            else:
                _wage_rows(out, m, m.wage, range(3, 0, -1), insured=insured, taxed=taxed, fund=fund, r=r, balance=balance)
        elif kind == "hidden_salary" and m is who:
            hidden = Decimal(r.randrange(400, 650) * 10)
            _wage_rows(out, m, hidden, range(6, 0, -1), insured=True, taxed=True, fund=False, r=r, balance=ZERO)
        # pensions
        for amount, label in ((m.basic_pension, "基础养老金"), (m.other_pension, "基本养老金")):
            if amount > 0:
                for k in (2, 1):
                    out.add("hrss", [m.id_number, m.name, "养老", "", "", label, _money(amount), f"{out.month(k):%Y-%m}", "",
                                     out.ref("RS")])  # fmt: skip
        # businesses
        if m.business > 0 and r.random() < 0.6 or kind == "active_business" and m is who:
            founded = dt.date(r.randrange(2012, on.year), r.randrange(1, 13), r.randrange(1, 29))
            out.add("market", [m.id_number, m.name, _uscc(r, h.area_code), f"汉滨区{m.name[:1]}氏{r.choice(('便民超市', '农家乐', '养殖场', '百货店'))}",
                               "个体工商户", "存续", r.randrange(1, 6) * 10000, f"{founded:%Y-%m-%d}", ""])  # fmt: skip
        elif 18 <= m.age(on) <= 70 and r.random() < 0.01:  # a business closed years ago
            founded = dt.date(r.randrange(2005, 2015), r.randrange(1, 13), r.randrange(1, 29))
            closed = founded + dt.timedelta(days=r.randrange(400, 2500))
            out.add("market", [m.id_number, m.name, _uscc(r, h.area_code), f"汉滨区{m.name[:1]}氏商店", "个体工商户", "注销",
                               20000, f"{founded:%Y-%m-%d}", f"{closed:%Y-%m-%d}"])  # fmt: skip
        # an adapted vehicle for a person with a physical disability
        if m.disability == "4" and m.age(on) >= 18 and r.random() < 0.3:
            out.add("vehicle", [m.id_number, m.name, _plate(r), "残疾人专用车", dt.date(r.randrange(2012, on.year), 6, 1), "正常", 3000,
                                None])  # fmt: skip
    # marriage of the head and the spouse
    spouse = next((m for m in h.members if m.relation == "10"), None)
    if spouse is not None and r.random() < 0.5:
        wed = dt.date(max(head.birth.year, spouse.birth.year) + r.randrange(22, 28), r.randrange(1, 13), r.randrange(1, 29))
        if wed < on:
            for a, b in ((head, spouse), (spouse, head)):
                out.add("marriage", [a.id_number, a.name, "结婚", _ymd(wed), "汉滨区民政局婚姻登记处", b.id_number])
    # dwellings on the head
    total = h.housing_area
    for i in range(h.houses):
        area = total if i == h.houses - 1 else (total * Decimal("0.6")).quantize(Decimal("0.01"))
        total -= area
        registered = dt.date(r.randrange(2003, 2022), r.randrange(1, 13), r.randrange(1, 29))
        unit = f"{h.area_code[:6]}{r.randrange(1, 999):03d}{r.randrange(1, 999):03d}JC{r.randrange(1, 99999):05d}F{r.randrange(1, 99999999):08d}"
        out.add("real_estate", [head.id_number, head.name, unit, h.address, "住宅", float(area), _slash(registered)])
    # vehicles: the declared non-exempt ones, an exempt one for some rural households, a hidden car
    owner = next((m for m in h.members if 18 <= m.age(on) <= 70), head)
    cars = h.vehicles + (1 if kind == "hidden_car" else 0)
    for _ in range(cars):
        first = dt.date(r.randrange(2010, on.year), r.randrange(1, 13), r.randrange(1, 29))
        out.add("vehicle", [owner.id_number, owner.name, _plate(r), r.choice(CAR_TYPES), first, "正常", r.randrange(20, 90) * 1000,
                            None])  # fmt: skip
    if not h.urban and r.random() < 0.12:
        first = dt.date(r.randrange(2012, on.year), r.randrange(1, 13), r.randrange(1, 29))
        out.add("vehicle", [owner.id_number, owner.name, _plate(r), r.choice(("二轮摩托车", "三轮汽车")), first, "正常",
                            r.randrange(2, 8) * 1000, None])  # fmt: skip
    if r.random() < 0.04:  # an old car, scrapped years ago: its registration and, later, its deregistration
        plate, first = _plate(r), dt.date(r.randrange(2003, 2010), r.randrange(1, 13), r.randrange(1, 29))
        scrapped = first + dt.timedelta(days=r.randrange(2500, 4000))
        out.add("vehicle", [owner.id_number, owner.name, plate, "小型轿车", first, "正常", 8000, None])
        out.add("vehicle", [owner.id_number, owner.name, plate, "小型轿车", first, "注销", None, scrapped])
    # financial assets on the head: exactly the declared amount (a deposit, some in 理财 or insurance)
    balance_day = on.replace(day=1) - dt.timedelta(days=1)
    parts: list[tuple[str, Decimal]] = []
    if h.financial > 0:
        rest = h.financial
        if rest > 20000 and r.random() < 0.4:
            wealth = (rest * Decimal("0.3")).quantize(Decimal("1"))
            parts.append(("理财", wealth))
            rest -= wealth
        if rest > 5000 and r.random() < 0.1:
            cash_value = (rest * Decimal("0.2")).quantize(Decimal("1"))
            parts.append(("保险现金价值", cash_value))
            rest -= cash_value
        parts.insert(0, ("储蓄", rest))
    if kind == "more_deposits":
        parts.append(("储蓄", Decimal(max(30000, int(h.financial * 2)) + r.randrange(0, 10000))))
    for category, amount in parts:
        bank, tail = r.choice(BANKS), f"{r.randrange(0, 10000):04d}"
        if r.random() < 0.25:  # an earlier balance of the same account: the latest counts
            earlier = months_before(balance_day, 3) - dt.timedelta(days=1)
            out.add("bank", [head.id_number, head.name, bank, category, tail, amount + r.randrange(1000, 20000), earlier])
        out.add("bank", [head.id_number, head.name, bank, category, tail, amount, balance_day])


def _uscc(r: random.Random, area: str) -> str:
    """A 统一社会信用代码 of an individual business (92…): never mistaken for an ID number (it has letters)."""
    return f"92{area[:6]}MA" + "".join(r.choice(USCC_CHARS) for _ in range(7)) + r.choice("ABCDEFGHJK")


def _strangers(county: str, n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` (ID number, name) of persons who are not in the registry."""
    from jiuzhu.registry.models import Person

    r = random.Random(f"jiuzhu-feeds/{seed}/strangers")
    prov = crypto.provider()
    out: list[tuple[str, str]] = []
    while len(out) < n:
        batch = []
        for _ in range(n - len(out)):
            birth = dt.date(1950, 1, 1) + dt.timedelta(days=r.randrange(0, 20000))
            batch.append((idnumber.make(county, birth, r.randrange(0, 999)), "外" + r.choice("明华强军丽芳静敏")))
        taken = set(Person.objects.filter(id_number_bi__in=[prov.blind_index(v, purpose="id_number") for v, _ in batch])
                    .values_list("id_number_bi", flat=True))  # fmt: skip
        seen = {v for v, _ in out}
        out += [(v, nm) for v, nm in batch if prov.blind_index(v, purpose="id_number") not in taken and v not in seen]
    return out


def _stranger_row(source: str, who: tuple[str, str], out: _Rows, r: random.Random) -> list[Any]:
    v, name = who
    on = out.on
    last = out.month(1)
    rows: dict[str, Callable[[], list[Any]]] = {
        "hukou": lambda: [v, name, "正常", "", "", "汉滨区", _ymd(on - dt.timedelta(days=1))],
        "hrss": lambda: [v, name, "养老", "5200.00", f"{last:%Y-%m}", "", "", "", EMPLOYERS[0], out.ref("RS")],
        "tax": lambda: [v, name, f"{last:%Y%m}", "5200.00", EMPLOYERS[0], out.ref("SP")],
        "real_estate": lambda: [v, name, f"{county_of(v)}001001JC00001F{r.randrange(1, 99999999):08d}", "汉滨区", "住宅", 88.5,
                                _slash(dt.date(2015, 3, 2))],
        "market": lambda: [v, name, _uscc(r, county_of(v)), "汉滨区某商店", "个体工商户", "存续", 50000, "2019-04-01", ""],
        "housing_fund": lambda: [v, name, EMPLOYERS[1], 5200.0, f"{last.year}年{last.month}月", 18000.0],
        "vehicle": lambda: [v, name, _plate(r), "小型轿车", dt.date(2018, 5, 1), "正常", 60000, None],
        "bank": lambda: [v, name, BANKS[0], "储蓄", "1234", Decimal("45000.00"), on.replace(day=1) - dt.timedelta(days=1)],
        "funeral": lambda: [v, name, _slash(last), _slash(last + dt.timedelta(days=3)), "安康市殡仪馆", out.ref("HH")],
        "marriage": lambda: [v, name, "离婚", _ymd(last), "汉滨区民政局婚姻登记处", ""],
    }  # fmt: skip
    return rows[source]()


def county_of(id_number: str) -> str:
    return id_number[:6]


# --- writing -------------------------------------------------------------------------------------------------


def _write(path: Path, source: str, rows: list[list[Any]]) -> None:
    fmt, style = FORMATS[source]
    header = HEADERS[source]
    if fmt == "csv":
        with open(path, "w", encoding=style, newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow(header)
            w.writerows(["" if c is None else c for c in row] for row in rows)
    elif fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet(HEADERS_TITLE.get(source, source))
        ws.append(header)
        for row in rows:
            ws.append(row)
        wb.properties.creator = "jiuzhu synth"
        wb.properties.created = wb.properties.modified = dt.datetime(2026, 1, 1)
        wb.save(path)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in header]
        types = {"余额": pa.decimal128(14, 2), "余额日期": pa.date32()}
        table = pa.table({h: pa.array(list(c), types.get(h, pa.string())) for h, c in zip(header, cols, strict=True)})
        pq.write_table(table, path, compression="zstd")


HEADERS_TITLE = {"market": "市场主体登记", "housing_fund": "公积金缴存", "vehicle": "机动车登记"}


def _finish(out: _Rows, county: str, seed: int, persons: int) -> tuple[dict[str, int], dict[str, int]]:
    """Persons not in the registry and duplicated rows, spread into each file at fixed places."""
    r = random.Random(f"jiuzhu-feeds/{seed}/finish")
    sizes = {s: max(2, round(len(rows) * UNKNOWN_SHARE)) for s, rows in out.rows.items()}
    strangers = _strangers(county, max(sizes.values()) if sizes else 0, seed)
    stranger_ids = {v for v, _ in strangers}
    unknown: dict[str, int] = {}
    dups: dict[str, int] = {}
    for source, rows in out.rows.items():
        for who in strangers[: sizes[source]]:
            rows.insert(r.randrange(0, len(rows) + 1), _stranger_row(source, who, out, r))
        unknown[source] = sizes[source]
        dups[source] = 0
        tries = 0
        while dups[source] < DUPLICATES and tries < 50 and len(rows) > DUPLICATES:
            tries += 1
            i = r.randrange(0, len(rows))
            if rows[i][0] in stranger_ids or (source == "hrss" and rows[i][2] == "医疗"):
                continue  # a duplicate must be of a row that is stored (known person, a record to keep)
            rows.insert(r.randrange(i + 1, len(rows) + 1), list(rows[i]))
            dups[source] += 1
    return unknown, dups


def write_feeds(county: str, out_dir: str | Path, *, on: dt.date, seed: int, persons_qs: Any = None) -> dict[str, Path]:
    """Write one file per source for the registry persons of ``county`` (or ``persons_qs``) and ``manifest.json``
    next to them; returns {source: path}. See the module docstring."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    households = _households(county, persons_qs)
    demo = _demo(households, on)
    planted = _choose(households, on, seed, demo)
    rows = _Rows(on, seed)
    for h in households:
        _household_rows(rows, h, planted.get(h.no), seed)
    unknown, dups = _finish(rows, county, seed, sum(len(h.members) for h in households))
    paths: dict[str, Path] = {}
    for source in HEADERS:
        fmt, _style = FORMATS[source]
        path = out_dir / f"{source}-{on:%Y%m%d}.{fmt}"
        _write(path, source, rows.rows[source])
        paths[source] = path
    manifest: dict[str, Any] = {
        "county": county, "on": on.isoformat(), "seed": seed, "generator": GENERATOR, "households": len(households),
        "persons": sum(len(h.members) for h in households), "registry": fingerprint(county, persons_qs),
        "files": {s: p.name for s, p in paths.items()},
        "formats": {s: "/".join(x for x in FORMATS[s] if x) for s in paths},
        "rows": {s: len(rows.rows[s]) for s in paths},
        "unknown_persons": unknown, "duplicates": dups,
    }  # fmt: skip
    for kind in TYPES:
        manifest[kind] = sorted(no for no, (k, _w) in planted.items() if k == kind)
    manifest["clean"] = sorted(h.no for h in households if h.no not in planted)
    manifest["members"] = {kind: {no: w.pk for no, (k, w) in sorted(planted.items()) if k == kind and isinstance(w, Member)}
                           for kind in TYPES}  # fmt: skip
    for key in ("clean", "hidden_car", "hidden_salary"):
        manifest[f"demo_{key}"] = [demo[key]] if key in demo else []
    (out_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
    return paths


def fingerprint(county: str, persons_qs: Any = None) -> str:
    """A digest of the persons the feeds are about (their blind indexes): files written for another registry
    are not reused."""
    from jiuzhu.registry.models import Person

    qs = persons_qs if persons_qs is not None else Person.objects.filter(area_code__startswith=county)
    bis = qs.filter(household__isnull=False, household__status="active", death_date__isnull=True).order_by(
        "id_number_bi").values_list("id_number_bi", flat=True)  # fmt: skip
    return hashlib.sha256("\n".join(bis).encode()).hexdigest()


def read_manifest(out_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))


def _forget(out_dir: Path, manifest: dict[str, Any]) -> None:
    """Before the demo files are written again: delete the earlier files and the records ingested from them (the
    new files describe the same persons afresh; the old records would be counted twice)."""
    from jiuzhu.core.files import file_hashes
    from jiuzhu.verification.models import FeedFile, FeedRecord

    for source, name in (manifest.get("files") or {}).items():
        path = out_dir / name
        if not path.exists():
            continue
        sha, _sm3 = file_hashes(path)
        earlier = FeedFile.objects.filter(source=source, sha256=sha)
        FeedRecord.objects.filter(feed__in=earlier).delete()
        earlier.delete()
        path.unlink()


def ensure_demo_feeds(county: str, out_dir: str | Path, *, seed: int, on: dt.date | None = None) -> str:
    """Demo setup: write the county's feeds (unless ``out_dir`` already holds them for this registry, written by
    this generator within ``FRESH_DAYS``) and ingest them; a second run reuses the files, and ingesting them again
    changes nothing. Files written again replace the earlier ones and their records. Returns one line."""
    from django.utils import timezone

    from jiuzhu.verification.ingest import ingest_file

    out_dir = Path(out_dir)
    try:
        manifest = read_manifest(out_dir)
    except (OSError, ValueError):
        manifest = {}
    today = timezone.localdate()
    written = dt.date.fromisoformat(manifest["on"]) if manifest.get("on") else None
    reuse = (manifest.get("county") == county and manifest.get("seed") == seed
             and manifest.get("generator") == GENERATOR and manifest.get("registry") == fingerprint(county)
             and (on is not None or (written is not None and 0 <= (today - written).days <= FRESH_DAYS))
             and all((out_dir / name).exists() for name in (manifest.get("files") or {}).values()))  # fmt: skip
    if not reuse:
        _forget(out_dir, manifest)
        write_feeds(county, out_dir, on=on or today, seed=seed)
        manifest = read_manifest(out_dir)
    new = records = refused = 0
    for source, name in manifest["files"].items():
        res = ingest_file(source, out_dir / name, name)
        new += res.outcome == "loaded"
        refused += res.outcome == "refused"
        records += res.records
    files = len(manifest["files"])
    if refused:
        return f"feeds: {refused} of {files} files REFUSED (see `jiuzhu feed-ingest`), {records:,} records stored"
    if not new:
        return f"feeds: {files} departmental files in {out_dir}, already ingested, reused"
    return (f"feeds: {files} departmental files {'reused' if reuse else 'written'} in {out_dir}, {records:,} records "
            f"ingested; inconsistencies listed in {MANIFEST}")  # fmt: skip
