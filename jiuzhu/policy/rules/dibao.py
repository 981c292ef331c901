"""最低生活保障 (低保): income and asset tests, the gap amount, 分类施保 top-ups, 单人保 and 渐退
(REFERENCE §2.1–2.4, §14.1)."""

from __future__ import annotations

import numpy as np

from jiuzhu.policy.inputs import SCHOOLING, code
from jiuzhu.policy.money import mul_ratio, round_fen, yuan_str
from jiuzhu.policy.parameters.schema import declare
from jiuzhu.policy.rules import Programme
from jiuzhu.policy.rules.common import (
    ASSET_PARAMS,
    INCOME_PARAMS,
    INTELLECTUAL_MENTAL,
    ROUNDING,
    asset_reasons,
    one_of,
)
from jiuzhu.policy.system import (
    PA,
    Count,
    Flag,
    Household,
    Money,
    P,
    Person,
    members_total,
    rural_urban,
    urban_key,
)

STANDARD_URBAN = declare("dibao.standard.urban", "money", "城市低保标准", "元/人·月", programme="dibao")
STANDARD_RURAL = declare("dibao.standard.rural", "money", "农村低保标准", "元/人·月", programme="dibao")
GRADUAL_MONTHS = declare("dibao.gradual_exit_months", "int", "低保渐退期", "个月", programme="dibao")
MINIMUM_PAYMENT = declare("dibao.minimum_payment", "money", "低保金最低发放额", "元/户·月", programme="dibao")
TOPUP_ELDERLY_AGE = declare("dibao.topup_elderly_age", "int", "分类施保老年人年龄", "周岁", programme="dibao")
TOPUP_STACK = declare("dibao.topup_stack", "bool", "分类施保多类别叠加", programme="dibao")
SINGLE_ADULT_SEVERE = declare("dibao.single.adult_severely_disabled", "bool",
                              "成年无业重度残疾人可参照单人户单独提出申请", programme="dibao")  # fmt: skip
NEAR_MULTIPLE = declare("near_dibao.income_multiple", "ratio", "低保边缘家庭收入上限（低保标准的倍数）", "倍",
                        programme="near_dibao")  # fmt: skip

CATEGORIES = (
    # key, bit, Chinese
    ("elderly", 1, "老年人"),
    ("minor", 2, "未成年人"),
    ("severe_disability", 4, "重度残疾人"),
    ("serious_illness", 8, "重病患者"),
    ("student", 16, "非义务教育阶段在校学生"),
    ("single_parent", 32, "单亲家庭未成年人"),
    ("nursing", 64, "哺乳期妇女"),
)
TOPUP_PCT = {k: declare(f"dibao.topup_pct.{k}", "ratio", f"分类施保：{zh}（按低保标准的比例）", "%", programme="dibao")
             for k, _, zh in CATEGORIES}  # fmt: skip
TOPUP_FIXED = {k: declare(f"dibao.topup_fixed.{k}", "money", f"分类施保：{zh}（定额）", "元/人·月", programme="dibao")
               for k, _, zh in CATEGORIES}  # fmt: skip

PARAMS = (STANDARD_URBAN, STANDARD_RURAL, GRADUAL_MONTHS, MINIMUM_PAYMENT, TOPUP_ELDERLY_AGE, TOPUP_STACK,
          SINGLE_ADULT_SEVERE, NEAR_MULTIPLE, ROUNDING, *TOPUP_PCT.values(), *TOPUP_FIXED.values(),
          *INCOME_PARAMS, *ASSET_PARAMS)  # fmt: skip

STUDENT = [code(SCHOOLING, s) for s in ("senior", "tertiary")]
SINGLE_BASIS = {1: "持有一、二级残疾证或三级智力、精神残疾证", 2: "患重特大疾病",
                3: "脱离家庭在宗教场所居住满规定年限的宗教教职人员", 4: "成年无业重度残疾人"}  # fmt: skip
MODES = {0: "不符合", 1: "整户纳入", 2: "单人保", 3: "渐退"}


class dibao_standard(Money):
    entity = Household
    label = "低保标准"

    def formula(household, period):
        return np.where(household("urban", period), P(household, STANDARD_URBAN), P(household, STANDARD_RURAL))


class dibao_income_test(Flag):
    entity = Household
    label = "家庭月人均收入低于低保标准"

    def formula(household, period):
        n = household("unit_size", period)
        return (n > 0) & (household("household_income", period) < household("dibao_standard", period) * n)


class dibao_household_eligible(Flag):
    entity = Household
    label = "整户符合低保条件"

    def formula(household, period):
        return household("dibao_income_test", period) & household("assets_ok", period)


class dibao_gap(Money):
    entity = Household
    label = "差额（低保标准 × 人数 − 家庭月收入）"

    def formula(household, period):
        gap = household("dibao_standard", period) * household("unit_size", period) - household("household_income", period)
        return np.where(household("dibao_household_eligible", period), np.maximum(gap, 0), 0)


class dibao_topup_categories(Count):
    entity = Person
    label = "分类施保类别（位）"

    def formula(person, period):
        a = person("age", period)
        bits = (
            (a >= P(person, TOPUP_ELDERLY_AGE)) * 1
            + (a < 18) * 2
            + person("severely_disabled", period) * 4
            + person("serious_illness", period) * 8
            + one_of(person("schooling", period), STUDENT) * 16
            + (person("single_parent", period) & (a < 18)) * 32
            + person("nursing", period) * 64
        )
        return bits.astype(np.int64)


def _topup(person, period, eligible):  # type: ignore[no-untyped-def]
    """分类施保 per member, for the members where ``eligible``. The amount of each category depends only on the
    area and the urban/rural standard, so it is computed once per (area, urban) and gathered."""
    bits = person("dibao_topup_categories", period)
    out = np.zeros(len(bits), dtype=np.int64)
    sel = np.flatnonzero(eligible & (bits > 0))
    if not len(sel):
        return out
    key = urban_key(person, period)[sel]
    std = rural_urban(PA(person, STANDARD_RURAL), PA(person, STANDARD_URBAN))
    stack = np.repeat(PA(person, TOPUP_STACK), 2)[key] == 1
    b = bits[sel]
    total = np.zeros(len(sel), dtype=np.int64)
    best = np.zeros(len(sel), dtype=np.int64)
    for k, bit, _ in CATEGORIES:
        table = mul_ratio(std, np.repeat(PA(person, TOPUP_PCT[k]), 2)) + np.repeat(PA(person, TOPUP_FIXED[k]), 2)
        if not table.any():
            continue
        amt = np.where((b & bit) > 0, table[key], 0)
        total += amt
        best = np.maximum(best, amt)
    out[sel] = np.where(stack, total, best)
    return out


class dibao_near_band(Flag):
    entity = Household
    label = "家庭月人均收入低于低保边缘标准"

    def formula(household, period):
        n = household("unit_size", period)
        # exact: income < multiple × standard × n, compared in 1/10,000 fen (no rounding of the limit)
        limit = household("dibao_standard", period) * n * P(household, NEAR_MULTIPLE)
        return (n > 0) & (household("household_income", period) * 10000 < limit)


class dibao_single_basis(Count):
    entity = Person
    label = "单人保依据代码"

    def formula(person, period):
        whole = person.household("dibao_household_eligible", period)
        near = person.household("dibao_near_band", period) & person.household("assets_ok", period)
        grade = person("disability_grade", period)
        cat = person("disability_category", period)
        disability = ((grade >= 1) & (grade <= 2)) | ((grade == 3) & one_of(cat, INTELLECTUAL_MENTAL))
        in_unit = person("in_unit", period)
        clergy = person("unit_exclusion", period) == 1
        adult_severe = ((P(person, SINGLE_ADULT_SEVERE) == 1) & person("severely_disabled", period)
                        & (person("age", period) >= 18) & (person("income_wage", period) == 0))  # fmt: skip
        basis = np.where(clergy, 3, 0)
        basis = np.where(in_unit & near & disability, 1, basis)
        basis = np.where(in_unit & near & ~disability & person("serious_illness", period), 2, basis)
        basis = np.where(in_unit & (basis == 0) & adult_severe, 4, basis)
        # a clergy member is outside the family's unit: they may apply alone even when the family qualifies
        return np.where(whole & ~clergy, 0, basis)


class dibao_single_eligible(Flag):
    entity = Person
    label = "单人保：本人收入低于低保标准"

    def formula(person, period):
        std = person.household("dibao_standard", period)
        return (person("dibao_single_basis", period) > 0) & (person("counted_income", period) < std)


class dibao_topup(Money):
    entity = Person
    label = "分类施保增发额"

    def formula(person, period):
        whole = person.household("dibao_household_eligible", period) & person("in_unit", period)
        return _topup(person, period, whole | person("dibao_single_eligible", period))


class dibao_single_amount(Money):
    entity = Person
    label = "单人保低保金"

    def formula(person, period):
        std = person.household("dibao_standard", period)
        amt = std - person("counted_income", period) + person("dibao_topup", period)
        return np.where(person("dibao_single_eligible", period), round_fen(np.maximum(amt, 0), P(person, ROUNDING)), 0)


class dibao_gradual_exit(Flag):
    entity = Household
    label = "渐退：因就业收入超过标准继续发放"

    def formula(household, period):
        employed = household.any(household.members("income_wage", period) * household.members("in_unit", period) > 0)
        return (household("current_dibao", period) & ~household("dibao_income_test", period)
                & household("assets_ok", period) & employed
                & (household("gradual_exit_used", period) < P(household, GRADUAL_MONTHS)))  # fmt: skip


class dibao_mode(Count):
    entity = Household
    label = "低保认定方式（0 不符合，1 整户，2 单人保，3 渐退）"

    def formula(household, period):
        single = household.any(household.members("dibao_single_eligible", period))
        return np.where(household("dibao_household_eligible", period), 1,
                        np.where(household("dibao_gradual_exit", period), 3, np.where(single, 2, 0)))  # fmt: skip


class dibao_eligible(Flag):
    entity = Household
    label = "符合低保条件"

    def formula(household, period):
        return household("dibao_mode", period) > 0


class dibao_amount(Money):
    entity = Household
    label = "月低保金"

    def formula(household, period):
        mode = household("dibao_mode", period)
        topups = members_total(household, "dibao_topup", period)
        whole = round_fen(household("dibao_gap", period) + topups, P(household, ROUNDING))
        whole = np.maximum(whole, P(household, MINIMUM_PAYMENT))
        single = members_total(household, "dibao_single_amount", period)
        # with the whole family enrolled, only a clergy member (outside the unit) can add a single-person amount
        return np.select([mode == 1, mode == 3, mode == 2],
                         [whole + single, household("current_dibao_amount", period), single], 0)  # fmt: skip


# --- explanation ---------------------------------------------------------------------------------------------


def explain(v) -> list[str]:  # type: ignore[no-untyped-def]
    std_key = STANDARD_URBAN if v.flag("urban") else STANDARD_RURAL
    n, inc, std = v.hh("unit_size"), v.hh("household_income"), v.hh("dibao_standard")
    pci = v.hh("per_capita_income")
    out = [f"共同生活家庭成员 {n} 人，家庭月收入 {v.yuan(inc)}，月人均收入 {v.yuan(pci)}"]
    below = v.flag("dibao_income_test")
    out.append(f"月人均收入 {v.yuan(pci)} {'<' if below else '≥'} {v.cite(std_key)}"
               + ("" if below else "，收入条件不符合"))  # fmt: skip
    out += asset_reasons(v)
    mode = v.hh("dibao_mode")
    if mode == 1:
        out.append(f"差额 = {v.yuan(std)} × {n} − {v.yuan(inc)} = {v.yuan(v.hh('dibao_gap'))}")
        top = sum(v.persons("dibao_topup"))
        if top:
            out.append(f"分类施保增发合计 {v.yuan(top)}（见各成员）")
        out.append(f"按{v.cite(ROUNDING)}，月低保金 {v.yuan(v.hh('dibao_amount'))}")
        if v.hh("dibao_amount") == v.raw(MINIMUM_PAYMENT):
            out.append(f"不低于{v.cite(MINIMUM_PAYMENT)}")
    elif mode == 3:
        left = v.raw(GRADUAL_MONTHS) - v.hh("gradual_exit_used")
        out.append(f"家庭正在享受低保，成员就业后收入超过标准：按渐退政策继续发放原低保金 {v.yuan(v.hh('current_dibao_amount'))}"
                   f"（{v.cite(GRADUAL_MONTHS)}，已享受 {v.hh('gradual_exit_used')} 个月，剩余 {left} 个月）")  # fmt: skip
    elif mode == 2:
        out.append("整户不符合低保条件，但以下成员可单独提出申请（单人保，审核确认办法第八条）：")
        for i, basis in enumerate(v.persons("dibao_single_basis")):
            if basis and v.persons("dibao_single_eligible")[i]:
                out.append(f"{v.who(i)}{SINGLE_BASIS[basis]}，本人月收入 {v.yuan(v.persons('counted_income')[i])} < "
                           f"低保标准 {v.yuan(std)}，月低保金 {v.yuan(v.persons('dibao_single_amount')[i])}")  # fmt: skip
    else:
        out.append("不符合低保条件")
    return out


def explain_persons(v) -> list[dict]:  # type: ignore[no-untyped-def]
    std = v.hh("dibao_standard")
    rows = []
    bits, topups = v.persons("dibao_topup_categories"), v.persons("dibao_topup")
    singles = v.persons("dibao_single_amount")
    for i in range(len(v.rows)):
        if not topups[i] and not singles[i]:
            continue
        reasons = []
        for k, bit, zh in CATEGORIES:
            if bits[i] & bit:
                pct, fixed = v.raw(TOPUP_PCT[k]), v.raw(TOPUP_FIXED[k])
                if pct or fixed:
                    part = []
                    if pct:
                        part.append(f"按低保标准 {v.yuan(std)} 的 {v.value(TOPUP_PCT[k])}（{v.param(TOPUP_PCT[k]).citation()}）")
                    if fixed:
                        part.append(f"定额 {v.cite(TOPUP_FIXED[k])}")
                    reasons.append(f"分类施保（{zh}）：" + "，".join(part))
        if reasons and not v.raw(TOPUP_STACK) and len(reasons) > 1:
            reasons.append(f"多个类别不叠加，取最高（{v.cite(TOPUP_STACK)}）")
        if topups[i]:
            reasons.append(f"分类施保增发 {v.yuan(topups[i])}")
        if singles[i]:
            reasons.append(f"单人保月低保金 {v.yuan(singles[i])}")
        rows.append({"id": v.ids[i], "amount": yuan_str(topups[i] + singles[i]), "reasons": reasons})
    return rows


PROGRAMME = Programme(
    key="dibao", label="最低生活保障", label_en="Minimum living guarantee (dibao)",
    eligible="dibao_eligible", amount="dibao_amount", params=PARAMS, explain=explain,
    explain_persons=explain_persons,
    outputs=("unit_size", "household_income", "per_capita_income", "dibao_standard", "assets_ok", "dibao_mode"),
)  # fmt: skip
