"""价格临时补贴: the social-assistance price-linkage subsidy (REFERENCE §8.4; 发改价格〔2021〕1553号 and the
2022-08 temporary adjustment).

The mechanism starts in a month when the latest published CPI year-on-year rise reaches the CPI trigger (3.5 %;
3.0 % for the payments of September 2022 – March 2023) or the food CPI rise reaches the food trigger (6 %). The
published index figures are parameters (``stats.cpi_yoy``, ``stats.cpi_food_yoy``, by province; a fall is entered
as 0). Beneficiaries, person by person: 低保 recipients, 特困人员, orphans and 事实无人抚养儿童, and — only while the
dated parameter says so (September 2022 – March 2023) — members of 低保边缘 families. Unemployment-insurance and
entitled-care recipients are also covered by the national text but are not part of the input.

Amount per beneficiary and month: the local 低保 standard (urban or rural, as the household's) × the CPI y/y rise,
rounded by ``general.rounding``, and at least the local floor."""

from __future__ import annotations

import numpy as np

from jiuzhu.policy.money import mul_ratio, round_fen, yuan_str
from jiuzhu.policy.parameters.schema import declare
from jiuzhu.policy.rules import Programme
from jiuzhu.policy.rules.common import ROUNDING
from jiuzhu.policy.rules.dibao import STANDARD_RURAL, STANDARD_URBAN
from jiuzhu.policy.system import Count, Flag, Household, Money, P, Person, members_total

CPI_TRIGGER = declare("price.cpi_trigger", "ratio", "价格临时补贴启动条件：CPI 同比涨幅达到", "%", programme="price")
FOOD_TRIGGER = declare("price.food_trigger", "ratio", "价格临时补贴启动条件：CPI 食品价格同比涨幅达到", "%",
                       programme="price")  # fmt: skip
INCLUDE_NEAR = declare("price.include_near_dibao", "bool", "低保边缘家庭成员阶段性纳入价格临时补贴", programme="price")
FLOOR = declare("price.floor", "money", "价格临时补贴最低发放额", "元/人·月", programme="price")
CPI = declare("stats.cpi_yoy", "ratio", "最近公布的居民消费价格指数（CPI）同比涨幅（下降记为 0）", "%", programme="price")
CPI_FOOD = declare("stats.cpi_food_yoy", "ratio", "最近公布的 CPI 食品价格同比涨幅（下降记为 0）", "%", programme="price")
PARAMS = (CPI_TRIGGER, FOOD_TRIGGER, INCLUDE_NEAR, FLOOR, CPI, CPI_FOOD, ROUNDING, STANDARD_URBAN, STANDARD_RURAL)

CATEGORIES = ((1, "低保对象"), (2, "特困人员"), (4, "孤儿或事实无人抚养儿童"), (8, "低保边缘家庭成员（阶段性扩围）"))


class price_triggered(Flag):
    entity = Household
    label = "达到价格临时补贴联动机制启动条件"

    def formula(household, period):
        cpi = P(household, CPI) >= P(household, CPI_TRIGGER)
        return cpi | (P(household, CPI_FOOD) >= P(household, FOOD_TRIGGER))


class price_category(Count):
    entity = Person
    label = "价格临时补贴对象类别（位：1 低保，2 特困，4 孤儿或事实无人抚养儿童，8 低保边缘）"

    def formula(person, period):
        near = (P(person, INCLUDE_NEAR) == 1) & person("near_dibao_member", period)
        bits = (person("dibao_covered", period) * 1 + person("tekun_covered", period) * 2
                + person("child_recognised", period) * 4 + near * 8)  # fmt: skip
        return np.where(person("benefit_resident", period), bits, 0).astype(np.int64)


class price_subsidy(Money):
    entity = Person
    label = "价格临时补贴"

    def formula(person, period):
        std = person.household("dibao_standard", period)
        amount = round_fen(mul_ratio(std, P(person, CPI)), P(person, ROUNDING))
        amount = np.maximum(amount, P(person, FLOOR))
        ok = person.household("price_triggered", period) & (person("price_category", period) > 0)
        return np.where(ok, amount, 0)


class price_eligible(Flag):
    entity = Household
    label = "家庭中有成员享受价格临时补贴"

    def formula(household, period):
        members = household.members("price_category", period) > 0
        return household("price_triggered", period) & household.any(members)


class price_amount(Money):
    entity = Household
    label = "价格临时补贴（家庭合计）"

    def formula(household, period):
        return members_total(household, "price_subsidy", period)


# --- explanation ---------------------------------------------------------------------------------------------


def _trigger_text(v) -> str:  # type: ignore[no-untyped-def]
    cpi, food = v.raw(CPI), v.raw(CPI_FOOD)
    c = f"{v.cite(CPI)} {'≥' if cpi >= v.raw(CPI_TRIGGER) else '<'} {v.cite(CPI_TRIGGER)}"
    f = f"{v.cite(CPI_FOOD)} {'≥' if food >= v.raw(FOOD_TRIGGER) else '<'} {v.cite(FOOD_TRIGGER)}"
    head = "已达到启动条件（任一达到即启动）" if v.flag("price_triggered") else "未达到启动条件，本月不启动价格临时补贴联动机制"
    return f"{c}；{f}：{head}"


def _categories(bits: int) -> str:
    return "、".join(zh for bit, zh in CATEGORIES if bits & bit)


def explain_persons(v) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = []
    cats, amounts = v.persons("price_category"), v.persons("price_subsidy")
    std_key = STANDARD_URBAN if v.flag("urban") else STANDARD_RURAL
    for i in range(len(v.rows)):
        if not cats[i]:
            continue
        reasons = [f"{v.who(i)}：属于{_categories(cats[i])}"]
        if cats[i] & 8:
            reasons.append(f"低保边缘家庭成员：{v.cite(INCLUDE_NEAR)}")
        if amounts[i]:
            raw = (v.hh("dibao_standard") * v.raw(CPI) + 5000) // 10000
            reasons.append(f"补贴 = {v.cite(std_key)} × CPI 同比涨幅 {v.value(CPI)} = {v.yuan(raw)}；"
                           f"按{v.cite(ROUNDING)}，不低于{v.cite(FLOOR)}：{v.yuan(amounts[i])}")  # fmt: skip
        else:
            reasons.append("本月未启动联动机制，不发放")
        rows.append({"id": v.ids[i], "amount": yuan_str(amounts[i]), "reasons": reasons})
    return rows


def explain(v) -> list[str]:  # type: ignore[no-untyped-def]
    out = [_trigger_text(v)]
    near_on = bool(v.raw(INCLUDE_NEAR))
    scope = "低保对象、特困人员、孤儿和事实无人抚养儿童" + ("，以及阶段性扩围的低保边缘家庭成员" if near_on else "")
    out.append(f"保障对象：{scope}（{v.param(INCLUDE_NEAR).citation()}）")
    if not any(v.persons("price_category")):
        out.append("家庭中没有价格临时补贴保障对象")
    elif v.flag("price_eligible"):
        out.append(f"价格临时补贴月合计 {v.yuan(v.hh('price_amount'))}（见各成员）")
    return out


PROGRAMME = Programme(
    key="price", label="价格临时补贴", label_en="Price-linkage temporary subsidy",
    eligible="price_eligible", amount="price_amount", params=PARAMS, explain=explain,
    explain_persons=explain_persons, depends=("dibao", "tekun", "near_dibao"),
    outputs=("price_triggered", "price_subsidy"),
)  # fmt: skip
