"""临时救助 (temporary assistance), REFERENCE §5 and 关于进一步加强和改进临时救助工作的意见 (民发〔2018〕23号) 二（一）–（三):
evaluated only when the household asks for it (``temporary.type``).

急难型 (emergency): no financial test. 支出型 (expenditure): per-capita income below the previous year's local
per-capita disposable income and assets within the 低保 rules. The amount is linked to the local 低保 standard:
standard × months(type, tier) [× unit size where it is paid per person], capped at a multiple of the standard
unless the county coordination mechanism decides it case by case (一事一议). The amount is paid once, not monthly.
The approval level follows from the amount: township up to its limit, county up to its limit, above that (or
一事一议) the county coordination mechanism."""

from __future__ import annotations

import numpy as np

from jiuzhu.policy.inputs import TEMP_TYPES
from jiuzhu.policy.money import mul_ratio, round_fen
from jiuzhu.policy.parameters.schema import declare
from jiuzhu.policy.rules import Programme
from jiuzhu.policy.rules.common import (
    ASSET_PARAMS,
    CLERGY_YEARS,
    DPI_RURAL,
    DPI_URBAN,
    INCOME_PARAMS,
    ROUNDING,
    asset_reasons,
)
from jiuzhu.policy.rules.dibao import STANDARD_RURAL, STANDARD_URBAN
from jiuzhu.policy.system import PA, Count, Flag, Household, Money, P, area_of

TYPES = (("emergency", "急难型"), ("expenditure", "支出型"))
TIERS = (1, 2, 3)
MONTHS = {(t, k): declare(f"temp.months.{t}.tier{k}", "ratio", f"{zh}临时救助第{k}档救助月数（按月低保标准计）", "个月",
                          programme="temporary")
          for t, zh in TYPES for k in TIERS}  # fmt: skip
CAP = {t: declare(f"temp.cap_multiple.{t}", "ratio", f"{zh}临时救助金额上限（月低保标准的倍数）", "倍", programme="temporary")
       for t, zh in TYPES}  # fmt: skip
PER_PERSON = declare("temp.per_person", "bool", "临时救助金额按共同生活家庭成员人数计算", programme="temporary")
TOWNSHIP_LIMIT = declare("temp.township_limit", "money", "乡镇（街道）临时救助审批额度", "元/次", programme="temporary")
COUNTY_LIMIT = declare("temp.county_limit", "money", "县级民政部门临时救助审批额度（超过须一事一议）", "元/次",
                       programme="temporary")  # fmt: skip

PARAMS = (*MONTHS.values(), *CAP.values(), PER_PERSON, TOWNSHIP_LIMIT, COUNTY_LIMIT, ROUNDING, STANDARD_URBAN,
          STANDARD_RURAL, DPI_URBAN, DPI_RURAL, CLERGY_YEARS, *INCOME_PARAMS, *ASSET_PARAMS)  # fmt: skip

EMERGENCY, EXPENDITURE = TEMP_TYPES.index("emergency"), TEMP_TYPES.index("expenditure")
LEVELS = {1: ("township", "乡镇（街道）审批"), 2: ("county", "县级民政部门审批"),
          3: ("case_conference", "县级困难群众基本生活保障工作协调机制一事一议")}  # fmt: skip


class temporary_expenditure_test(Flag):
    entity = Household
    label = "支出型临时救助经济条件：人均收入低于上年度当地居民人均可支配收入且财产符合规定"

    def formula(household, period):
        n = household("unit_size", period)
        below = household("household_income", period) * 12 < household("disposable_income_reference", period) * n
        return (n > 0) & below & household("assets_ok", period)


class temporary_eligible(Flag):
    entity = Household
    label = "符合临时救助条件"

    def formula(household, period):
        t = household("temp_type", period)
        return (t == EMERGENCY) | ((t == EXPENDITURE) & household("temporary_expenditure_test", period))


class temporary_base(Money):
    entity = Household
    label = "按分档标准计算的临时救助金额（未封顶）"

    def formula(household, period):
        t = household("temp_type", period)
        tier = np.clip(household("temp_tier", period), 1, 3)
        # per area: months for (none, emergency 1-3, expenditure 1-3), gathered once
        cols = [PA(household, MONTHS[k]) for k in MONTHS]
        table = np.stack([np.zeros_like(cols[0]), *cols], axis=1).ravel()
        slot = np.where(t > 0, (t - 1) * len(TIERS) + tier, 0)
        months = table[area_of(household) * (1 + len(MONTHS)) + slot]
        base = mul_ratio(household("dibao_standard", period), months)
        n = household("unit_size", period)
        return np.where(P(household, PER_PERSON) == 1, base * n, base)


class temporary_cap(Money):
    entity = Household
    label = "临时救助金额上限"

    def formula(household, period):
        t = household("temp_type", period)
        multiple = np.select([t == EMERGENCY, t == EXPENDITURE],
                             [P(household, CAP["emergency"]), P(household, CAP["expenditure"])], 0)  # fmt: skip
        return mul_ratio(household("dibao_standard", period), multiple)


class temporary_capped(Flag):
    entity = Household
    label = "金额超过上限，按上限救助"

    def formula(household, period):
        return ~household("temp_one_matter", period) & (household("temporary_base", period) > household("temporary_cap", period))


class temporary_amount(Money):
    entity = Household
    label = "临时救助金额（一次性）"

    def formula(household, period):
        base, cap = household("temporary_base", period), household("temporary_cap", period)
        amount = np.where(household("temp_one_matter", period), base, np.minimum(base, cap))
        return np.where(household("temporary_eligible", period), round_fen(amount, P(household, ROUNDING)), 0)


class temporary_approval_level(Count):
    entity = Household
    label = "临时救助审批层级（0 无，1 乡镇，2 县级，3 一事一议）"

    def formula(household, period):
        amount = household("temporary_amount", period)
        level = np.where(amount <= P(household, TOWNSHIP_LIMIT), 1, np.where(amount <= P(household, COUNTY_LIMIT), 2, 3))
        level = np.where(household("temp_one_matter", period), 3, level)
        return np.where(household("temporary_eligible", period), level, 0).astype(np.int64)


# --- explanation ---------------------------------------------------------------------------------------------


def explain(v) -> list[str]:  # type: ignore[no-untyped-def]
    t = v.hh("temp_type")
    if t == 0:
        return ["未申请临时救助"]
    kind, zh = TYPES[t - 1]
    tier, n = v.hh("temp_tier"), v.hh("unit_size")
    std_key = STANDARD_URBAN if v.flag("urban") else STANDARD_RURAL
    out = []
    if t == EMERGENCY:
        out.append("急难型临时救助：因火灾、交通事故等意外事件，家庭成员突发重大疾病或遭遇其他特殊困难，基本生活暂时出现严重困难，"
                   "不作家庭经济状况条件限制，可先行救助（民发〔2018〕23号 二（一）、（二））")  # fmt: skip
    else:
        inc, ref = v.hh("household_income"), v.hh("disposable_income_reference")
        dpi_key = DPI_URBAN if v.flag("urban") else DPI_RURAL
        below = inc * 12 < ref * n
        out.append("支出型临时救助：因教育、医疗等生活必需支出突然增加超出家庭承受能力（民发〔2018〕23号 二（一））")
        out.append(f"共同生活家庭成员 {n} 人，家庭年收入（月收入 {v.yuan(inc)} × 12）{v.yuan(inc * 12)} {'<' if below else '≥'} "
                   f"{n} 人 × {v.cite(dpi_key)} = {v.yuan(ref * n)}，家庭人均收入{'低于' if below else '不低于'}上年度当地居民人均可支配收入")  # fmt: skip
        out += asset_reasons(v)
    if not v.flag("temporary_eligible"):
        out.append("不符合临时救助条件")
        return out
    std, base, cap, amount = v.hh("dibao_standard"), v.hh("temporary_base"), v.hh("temporary_cap"), v.hh("temporary_amount")
    per = f" × {n} 人（{v.cite(PER_PERSON)}）" if v.raw(PER_PERSON) else ""
    out.append(f"{zh}第 {tier} 档：{v.cite(std_key)} × {v.cite(MONTHS[(kind, tier)])}{per} = {v.yuan(base)}")
    if v.flag("temp_one_matter"):
        out.append(f"经县级困难群众基本生活保障工作协调机制一事一议，不受{v.cite(CAP[kind])}（{v.yuan(cap)}）限制；"
                   f"金额由协调机制集体研究确定，此处为按分档标准计算的参考额（民发〔2018〕23号 二（三））")  # fmt: skip
    elif v.flag("temporary_capped"):
        out.append(f"超过上限 {v.yuan(std)} × {v.cite(CAP[kind])} = {v.yuan(cap)}，按上限救助")
    else:
        out.append(f"未超过上限 {v.yuan(std)} × {v.cite(CAP[kind])} = {v.yuan(cap)}")
    out.append(f"按{v.cite(ROUNDING)}，临时救助金 {v.yuan(amount)}：一次性发放，不按月发放")
    level = v.hh("temporary_approval_level")
    if v.flag("temp_one_matter"):
        out.append("审批：县级困难群众基本生活保障工作协调机制一事一议")
    elif level == 1:
        out.append(f"审批：金额 {v.yuan(amount)} ≤ {v.cite(TOWNSHIP_LIMIT)}，由乡镇（街道）审批")
    elif level == 2:
        out.append(f"审批：金额 {v.yuan(amount)} > 乡镇审批额度 {v.value(TOWNSHIP_LIMIT)}，≤ {v.cite(COUNTY_LIMIT)}，由县级民政部门审批")
    else:
        out.append(f"审批：金额 {v.yuan(amount)} > {v.cite(COUNTY_LIMIT)}，须提交县级困难群众基本生活保障工作协调机制一事一议")
    return out


def details(v) -> dict:  # type: ignore[no-untyped-def]
    level = v.hh("temporary_approval_level")
    key, label = LEVELS.get(level, (None, None))
    return {"approval_level": key, "approval_level_label": label, "one_off": True}


PROGRAMME = Programme(
    key="temporary", label="临时救助", label_en="Temporary assistance (one-off)",
    eligible="temporary_eligible", amount="temporary_amount", params=PARAMS, explain=explain, details=details,
    depends=("dibao",), outputs=("temporary_base", "temporary_cap", "temporary_approval_level"),
)  # fmt: skip
