"""高龄补贴 (old-age allowance) by age band, person by person (REFERENCE §8.3).

There is no national amount: provinces and cities set the bands. Bands: 70–79 (optionally rural only: the Shaanxi
2019 plan asks that rural elderly aged 70 and over receive it, 陕民发〔2019〕13号 二（一）6), 80–89, 90–99 and 100+.
Ages are whole years on the evaluation date. No income test and no exclusions: it is combined with 低保, 特困 and
the disability subsidies (and is not counted as 特困 income, 民发〔2021〕43号 第六条)."""

from __future__ import annotations

import numpy as np

from jiuzhu.policy.money import yuan_str
from jiuzhu.policy.parameters.schema import declare
from jiuzhu.policy.rules import Programme
from jiuzhu.policy.rules.common import CLERGY_YEARS
from jiuzhu.policy.system import Count, Flag, Household, Money, P, Person, members_total

BANDS = (70, 80, 90, 100)
BAND_ZH = {70: "70–79 周岁", 80: "80–89 周岁", 90: "90–99 周岁", 100: "100 周岁以上"}
AMOUNT = {b: declare(f"elderly.allowance.age{b}", "money", f"高龄补贴（{BAND_ZH[b]}）", "元/人·月", programme="elderly")
          for b in BANDS}  # fmt: skip
RURAL_ONLY_70 = declare("elderly.age70_rural_only", "bool", "70–79 周岁档仅发给农村老年人", programme="elderly")
# CLERGY_YEARS: every result reports the assessment unit (engine.explain_household), whose rule reads it.
PARAMS = (*AMOUNT.values(), RURAL_ONLY_70, CLERGY_YEARS)


class elderly_band(Count):
    entity = Person
    label = "高龄补贴年龄档（0 未满70周岁，70，80，90，100）"

    def formula(person, period):
        a = person("age", period)
        band = np.select([a >= 100, a >= 90, a >= 80, a >= 70], [100, 90, 80, 70], 0)
        return np.where(person("benefit_resident", period), band, 0)


class elderly_allowance(Money):
    entity = Person
    label = "高龄补贴"

    def formula(person, period):
        band = person("elderly_band", period)
        urban_excluded = (P(person, RURAL_ONLY_70) == 1) & person.household("urban", period)
        amount = np.select([band == 100, band == 90, band == 80, (band == 70) & ~urban_excluded],
                           [P(person, AMOUNT[100]), P(person, AMOUNT[90]), P(person, AMOUNT[80]), P(person, AMOUNT[70])],
                           0)  # fmt: skip
        return amount


class elderly_eligible(Flag):
    entity = Household
    label = "家庭中有成员享受高龄补贴"

    def formula(household, period):
        return household.any(household.members("elderly_allowance", period) > 0)


class elderly_amount(Money):
    entity = Household
    label = "高龄补贴（家庭合计）"

    def formula(household, period):
        return members_total(household, "elderly_allowance", period)


# --- explanation ---------------------------------------------------------------------------------------------


def explain_persons(v) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = []
    ages, bands, amounts = v.persons("age"), v.persons("elderly_band"), v.persons("elderly_allowance")
    for i in range(len(v.rows)):
        if ages[i] < 70:
            continue
        if not bands[i]:
            where = "正在服刑或强制隔离戒毒" if v.persons("detained")[i] else (
                "已宣告失踪" if v.persons("missing")[i] else "未在本户共同居住")
            rows.append({"id": v.ids[i], "amount": "0.00", "reasons": [f"{v.who(i)}：{ages[i]} 周岁，{where}，本户不计发"]})
            continue
        band = int(bands[i])
        reasons = [f"{v.who(i)}：年满 {ages[i]} 周岁，属于 {BAND_ZH[band]}档"]
        if band == 70 and v.raw(RURAL_ONLY_70) and v.flag("urban"):
            reasons.append(f"本户为城市户（适用城市低保标准），{v.cite(RURAL_ONLY_70)}，不发放")
        elif amounts[i]:
            reasons.append(f"{v.cite(AMOUNT[band])}，发放 {v.yuan(amounts[i])}；可与低保、特困供养、残疾人两项补贴同时享受")
        else:
            reasons.append(f"当地未设该档补贴：{v.cite(AMOUNT[band])}")
        rows.append({"id": v.ids[i], "amount": yuan_str(amounts[i]), "reasons": reasons})
    return rows


def explain(v) -> list[str]:  # type: ignore[no-untyped-def]
    if max(v.persons("age")) < 70:
        return ["家庭成员均未满 70 周岁，不涉及高龄补贴"]
    if not v.flag("elderly_eligible"):
        return ["家庭中没有成员符合当地高龄补贴条件（见各成员）"]
    return ["高龄补贴按评估日期的周岁年龄分档发放，不看家庭收入（见各成员）",
            f"高龄补贴月合计 {v.yuan(v.hh('elderly_amount'))}"]  # fmt: skip


PROGRAMME = Programme(
    key="elderly", label="高龄补贴", label_en="Old-age allowance",
    eligible="elderly_eligible", amount="elderly_amount", params=PARAMS, explain=explain,
    explain_persons=explain_persons, outputs=("elderly_allowance",),
)  # fmt: skip
