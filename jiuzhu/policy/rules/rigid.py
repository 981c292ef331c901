"""刚性支出困难家庭 (rigid-expenditure hardship households; the provincial texts' 支出型困难家庭), REFERENCE §6.2 and
刚性支出困难家庭认定办法 (民政部, in force 2025-01-01) 第四条: not on 低保 / 特困 nor 低保边缘; per-capita income below
the previous year's local per-capita disposable income; assets within the (possibly relaxed) rules; and rigid spending
in the 12 months before the application above a local share of the household's total income. Provinces that used
the older form "income minus rigid spending, per person, below k × the 低保 standard" choose it with
``rigid.formula``. A status, not a cash benefit (第十条: valid up to 12 months)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from jiuzhu.policy.inputs import RIGID_ITEMS
from jiuzhu.policy.parameters.schema import declare
from jiuzhu.policy.rules import Programme
from jiuzhu.policy.rules.common import (
    ASSET_PARAMS,
    AVG_HOUSING,
    CLERGY_YEARS,
    DPI_RURAL,
    DPI_URBAN,
    FINANCIAL_MULTIPLE,
    HOUSE_LIMIT,
    INCOME_PARAMS,
    VEHICLE_ALLOWED,
    financial_limit,
)
from jiuzhu.policy.rules.dibao import STANDARD_RURAL, STANDARD_URBAN
from jiuzhu.policy.system import Flag, Household, Money, P

IN_FORCE = declare("rigid.in_force", "bool", "刚性支出困难家庭认定办法已施行", programme="rigid")
FORMULA = declare("rigid.formula", "enum", "刚性支出困难认定方式（ratio 刚性支出占家庭总收入比例；net_income 扣除刚性支出后人均收入）",
                  choices=("ratio", "net_income"), programme="rigid")  # fmt: skip
RATIO = declare("rigid.ratio", "ratio", "刚性支出总额占家庭总收入比例（超过即符合）", "%", programme="rigid")
NET_MULTIPLE = declare("rigid.net_income_multiple", "ratio", "扣除刚性支出后家庭人均月收入上限（低保标准的倍数）", "倍",
                       programme="rigid")  # fmt: skip
ASSET_FACTOR = declare("rigid.asset_financial_factor", "ratio",
                       "刚性支出困难家庭金融资产上限（低保金融资产上限的倍数，1 = 与低保相同）", "倍",
                       programme="rigid")  # fmt: skip

PARAMS = (IN_FORCE, FORMULA, RATIO, NET_MULTIPLE, ASSET_FACTOR, STANDARD_URBAN, STANDARD_RURAL, CLERGY_YEARS,
          *INCOME_PARAMS, *ASSET_PARAMS)  # fmt: skip
RIGID_ZH = {"medical": "医疗", "education": "教育", "rehabilitation": "残疾康复", "living": "生活", "other": "其他"}


class rigid_expenditure_total(Money):
    entity = Household
    label = "申请前十二个月家庭刚性支出总额"

    def formula(household, period):
        return sum(household(f"rigid_{i}", period) for i in RIGID_ITEMS)


class rigid_income_12m(Money):
    entity = Household
    label = "家庭总收入（十二个月，月收入 × 12）"

    def formula(household, period):
        return household("household_income", period) * 12


class rigid_income_test(Flag):
    entity = Household
    label = "家庭人均收入低于上年度当地居民人均可支配收入"

    def formula(household, period):
        n = household("unit_size", period)
        ref = household("disposable_income_reference", period)
        return (n > 0) & (household("rigid_income_12m", period) < ref * n)


class rigid_financial_limit(Money):
    entity = Household
    label = "刚性支出困难家庭金融资产上限"

    def formula(household, period):
        return financial_limit(household, period, ASSET_FACTOR)


class rigid_assets_ok(Flag):
    entity = Household
    label = "家庭财产符合刚性支出困难家庭规定"

    def formula(household, period):
        other = (household("asset_failures", period) & 6) == 0
        return other & (household("assets_financial", period) <= household("rigid_financial_limit", period))


class rigid_spending_test(Flag):
    entity = Household
    label = "刚性支出条件（占比超过当地比例，或扣除后人均收入低于标准）"

    def formula(household, period):
        spend, income = household("rigid_expenditure_total", period), household("rigid_income_12m", period)
        # exact comparisons in 1/10,000 fen: spend / income > ratio ⇔ spend × 10000 > ratio_bp × income
        by_ratio = spend * 10000 > P(household, RATIO) * income
        n = household("unit_size", period)
        limit = P(household, NET_MULTIPLE) * household("dibao_standard", period) * n * 12
        by_net = (n > 0) & ((income - spend) * 10000 < limit)
        return np.where(P(household, FORMULA) == 1, by_net, by_ratio)


class rigid_other_status(Flag):
    entity = Household
    label = "已纳入低保、特困或认定为低保边缘家庭"

    def formula(household, period):
        return (household("dibao_eligible", period) | household("tekun_eligible", period)
                | household("near_dibao_eligible", period))  # fmt: skip


class rigid_eligible(Flag):
    entity = Household
    label = "认定为刚性支出困难家庭"

    def formula(household, period):
        return ((P(household, IN_FORCE) == 1) & ~household("rigid_other_status", period)
                & household("rigid_income_test", period) & household("rigid_assets_ok", period)
                & household("rigid_spending_test", period))  # fmt: skip


class rigid_amount(Money):
    entity = Household
    label = "刚性支出困难家庭（不发放现金）"

    def formula(household, period):
        return np.zeros(household.count, dtype=np.int64)


# --- explanation ---------------------------------------------------------------------------------------------


def _pct(num: int, den: int) -> str:
    return f"{(Decimal(num) * 100 / Decimal(den)).quantize(Decimal('0.01'))}%"


def explain(v) -> list[str]:  # type: ignore[no-untyped-def]
    if not v.raw(IN_FORCE):
        return [f"评估日期尚未施行刚性支出困难家庭认定（{v.cite(IN_FORCE)}）；全国《刚性支出困难家庭认定办法》自 2025 年 1 月 1 日起施行"]
    n, inc = v.hh("unit_size"), v.hh("household_income")
    out = [f"共同生活家庭成员 {n} 人，家庭月收入 {v.yuan(inc)}"]
    if v.flag("rigid_other_status"):
        which = [zh for var, zh in (("dibao_eligible", "低保"), ("tekun_eligible", "特困人员救助供养"),
                                    ("near_dibao_eligible", "低保边缘家庭")) if v.flag(var)]  # fmt: skip
        out.append(f"家庭已符合{'、'.join(which)}条件，不再认定为刚性支出困难家庭（刚性支出困难家庭认定办法第四条第一项）")
    else:
        out.append("家庭未纳入低保、特困人员救助供养，也不属于低保边缘家庭（第四条第一项）")
    ref = v.hh("disposable_income_reference")
    dpi_key = DPI_URBAN if v.flag("urban") else DPI_RURAL
    below = v.flag("rigid_income_test")
    out.append(f"家庭年收入（月收入 {v.yuan(inc)} × 12）{v.yuan(inc * 12)} {'<' if below else '≥'} {n} 人 × {v.cite(dpi_key)}"
               f" = {v.yuan(ref * n)}，家庭人均收入{'低于' if below else '不低于'}上年度当地居民人均可支配收入（第四条第二项）")  # fmt: skip
    fin, limit = v.hh("assets_financial"), v.hh("rigid_financial_limit")
    out.append(f"家庭金融资产 {v.yuan(fin)} {'≤' if fin <= limit else '>'} 上限 {v.yuan(limit)}（{max(n, 1)} 人 × "
               f"{v.cite(FINANCIAL_MULTIPLE)} × {v.cite(dpi_key)} × {v.cite(ASSET_FACTOR)}）")  # fmt: skip
    fails = v.hh("asset_failures")
    if fails & 2:
        out.append(f"拥有住房 {v.hh('assets_houses')} 套，达到{v.cite(HOUSE_LIMIT)}，且人均住房面积超过{v.cite(AVG_HOUSING)}")
    if fails & 4:
        out.append(f"拥有非豁免机动车辆 {v.hh('assets_vehicles')} 辆，{v.cite(VEHICLE_ALLOWED)}")
    spend, income12 = v.hh("rigid_expenditure_total"), v.hh("rigid_income_12m")
    parts = "，".join(f"{RIGID_ZH[i]} {v.yuan(v.hh(f'rigid_{i}'))}" for i in RIGID_ITEMS if v.hh(f"rigid_{i}"))
    out.append(f"申请前十二个月家庭刚性支出 {v.yuan(spend)}" + (f"（{parts}）" if parts else ""))
    ok = v.flag("rigid_spending_test")
    if v.raw(FORMULA) == 1:
        std_key = STANDARD_URBAN if v.flag("urban") else STANDARD_RURAL
        net = income12 - spend
        limit = (v.raw(NET_MULTIPLE) * v.hh("dibao_standard") * n * 12 + 5000) // 10000
        out.append(f"扣除刚性支出后家庭年收入 {v.yuan(income12)} − {v.yuan(spend)} = {v.yuan(net)} "
                   f"{'<' if ok else '≥'} {n} 人 × 12 个月 × {v.cite(std_key)} × {v.cite(NET_MULTIPLE)} = {v.yuan(limit)}"
                   f"（认定方式：扣除刚性支出后人均收入低于低保标准的倍数；{v.param(FORMULA).citation()}）")  # fmt: skip
    elif income12 > 0:
        out.append(f"刚性支出占家庭总收入 {v.yuan(spend)} ÷ {v.yuan(income12)} = {_pct(spend, income12)} "
                   f"{'>' if ok else '≤'} {v.cite(RATIO)}（第四条第四项）")  # fmt: skip
    else:
        out.append(f"家庭总收入为 0，{'有' if ok else '无'}刚性支出，占比{'超过' if ok else '未超过'}{v.cite(RATIO)}（第四条第四项）")
    if v.flag("rigid_eligible"):
        out.append("认定为刚性支出困难家庭（第四条）。不发放现金，有效期内按规定获得相应社会救助或帮扶，"
                   "有效期一般不超过十二个月（第十条）")  # fmt: skip
    else:
        out.append("不符合刚性支出困难家庭条件")
    return out


PROGRAMME = Programme(
    key="rigid", label="刚性支出困难家庭", label_en="Rigid-expenditure hardship household (status)",
    eligible="rigid_eligible", amount="rigid_amount", params=PARAMS, explain=explain,
    depends=("dibao", "tekun", "near_dibao"),
    outputs=("rigid_expenditure_total", "rigid_income_test", "rigid_assets_ok", "rigid_spending_test"),
)  # fmt: skip
