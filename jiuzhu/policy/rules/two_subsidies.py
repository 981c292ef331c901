"""残疾人两项补贴: 困难残疾人生活补贴 (living subsidy) and 重度残疾人护理补贴 (care subsidy), person by person
(REFERENCE §8.1; 国发〔2015〕52号, 民发〔2021〕70号; Shaanxi 陕政发〔2016〕2号; Guangdong 2025/2026 notices).

Living subsidy: disabled members of 低保 families — the whole household (or in 渐退), or the member enrolled alone
(单人保) — optionally extended to 低保边缘 families up to a grade. Care subsidy: grade 1–2 of any category, optionally
grade 3–4 intellectual/mental, without an income test. Both may be received together. Neither goes to 特困人员 or to
persons receiving work-injury care fees (择高享受, the work-injury benefit being the higher); orphans and children
receiving the full 事实无人抚养 allowance get no living subsidy (the care subsidy stays, 民发〔2019〕62号 三（二）).

The person variables shared by the four person-level programmes (two_subsidies, elderly, child, price) are here:
``benefit_resident`` (the member actually lives in this household), ``dibao_covered`` (receives 低保),
``tekun_covered`` (is or is recognised as 特困) and ``near_dibao_member``."""

from __future__ import annotations

import numpy as np

from jiuzhu.policy.inputs import DISABILITY, code
from jiuzhu.policy.money import yuan_str
from jiuzhu.policy.parameters.schema import declare
from jiuzhu.policy.rules import Programme
from jiuzhu.policy.system import Count, Flag, Household, Money, P, Person, members_total

LIVING_MINOR = declare("two_subsidies.living.minor", "money", "困难残疾人生活补贴（未满18周岁）", "元/人·月",
                       programme="two_subsidies")  # fmt: skip
LIVING_ADULT = declare("two_subsidies.living.adult", "money", "困难残疾人生活补贴（18周岁以上）", "元/人·月",
                       programme="two_subsidies")  # fmt: skip
LIVING_NEAR = declare("two_subsidies.living.near_dibao", "bool", "困难残疾人生活补贴扩大到低保边缘家庭的残疾人",
                      programme="two_subsidies")  # fmt: skip
LIVING_NEAR_MAX_GRADE = declare("two_subsidies.living.near_dibao_max_grade", "int",
                                "低保边缘家庭残疾人享受生活补贴的残疾等级（该等级及以上）", "级",
                                programme="two_subsidies")  # fmt: skip
CARE_GRADE1 = declare("two_subsidies.care.grade1", "money", "重度残疾人护理补贴（一级）", "元/人·月",
                      programme="two_subsidies")  # fmt: skip
CARE_GRADE2 = declare("two_subsidies.care.grade2", "money", "重度残疾人护理补贴（二级）", "元/人·月",
                      programme="two_subsidies")  # fmt: skip
CARE_EXTEND = declare("two_subsidies.care.extend_intellectual_mental", "bool",
                      "护理补贴扩大到三、四级智力、精神残疾人", programme="two_subsidies")  # fmt: skip
CARE_GRADE34 = declare("two_subsidies.care.grade34_intellectual_mental", "money",
                       "护理补贴（三、四级智力、精神残疾人）", "元/人·月", programme="two_subsidies")  # fmt: skip

PARAMS = (LIVING_MINOR, LIVING_ADULT, LIVING_NEAR, LIVING_NEAR_MAX_GRADE, CARE_GRADE1, CARE_GRADE2, CARE_EXTEND,
          CARE_GRADE34)  # fmt: skip

# The 特困 programme's person variables (rules/tekun.py).
TEKUN_PERSON = "tekun_person_eligible"
TEKUN_PERSON_AMOUNT = "tekun_person_amount"

INTELLECTUAL, MENTAL = code(DISABILITY, "intellectual"), code(DISABILITY, "mental")
DISABILITY_ZH = ("", "视力", "听力", "言语", "肢体", "智力", "精神", "多重")
DIBAO_WAY = {1: "整户纳入低保", 2: "单人保", 3: "低保渐退期"}

LIVING_BASIS = {0: "不符合", 1: "低保家庭残疾人", 2: "低保边缘家庭残疾人（扩面）"}
LIVING_EXCLUSION = {
    1: "特困人员不享受困难残疾人生活补贴（已由特困人员救助供养保障基本生活）",
    2: "领取工伤保险生活护理费，与两项补贴择高享受、不重复享受（工伤保险待遇更高）",
    3: "孤儿享受孤儿基本生活费，不享受困难残疾人生活补贴（国发〔2015〕52号）",
    4: "事实无人抚养儿童全额领取基本生活补贴，不享受困难残疾人生活补贴（民发〔2019〕62号 三（一））",
}
CARE_EXCLUSION = {
    1: "特困人员不享受重度残疾人护理补贴（照料护理已由特困人员救助供养保障）",
    2: "领取工伤保险生活护理费，与护理补贴择高享受、不重复享受（工伤保险生活护理费更高）",
}


# --- shared person status (also read by elderly, child and price) -------------------------------------------


class benefit_resident(Flag):
    entity = Person
    label = "在本户实际居住（非服刑、非宣告失踪、与家庭共同居住）"

    def formula(person, period):
        return person("lives_together", period) & ~person("detained", period) & ~person("missing", period)


class dibao_covered(Flag):
    entity = Person
    label = "享受低保（整户纳入、渐退或单人保）"

    def formula(person, period):
        mode = person.household("dibao_mode", period)
        whole = person("in_unit", period) & ((mode == 1) | (mode == 3))
        return whole | person("dibao_single_eligible", period)


class tekun_covered(Flag):
    entity = Person
    label = "特困人员（认定符合或正在享受）"

    def formula(person, period):
        return person(TEKUN_PERSON, period) | person("tekun_recipient", period)


class near_dibao_member(Flag):
    entity = Person
    label = "低保边缘家庭成员（本人未享受低保）"

    def formula(person, period):
        near = person.household("near_dibao_eligible", period)
        return near & person("in_unit", period) & ~person("dibao_covered", period)


# --- the two subsidies ----------------------------------------------------------------------------------------


class disability_living_basis(Count):
    entity = Person
    label = "困难残疾人生活补贴依据（0 不符合，1 低保家庭，2 低保边缘家庭扩面）"

    def formula(person, period):
        grade = person("disability_grade", period)
        disabled = (grade >= 1) & person("benefit_resident", period)
        near = ((P(person, LIVING_NEAR) == 1) & person("near_dibao_member", period)
                & (grade <= P(person, LIVING_NEAR_MAX_GRADE)))  # fmt: skip
        return np.where(disabled & person("dibao_covered", period), 1, np.where(disabled & near, 2, 0))


class disability_living_exclusion(Count):
    entity = Person
    label = "不享受生活补贴的原因（0 无，1 特困，2 工伤护理费，3 孤儿，4 全额事实无人抚养补贴）"

    def formula(person, period):
        tekun = person("tekun_covered", period)
        fact_full = person("child_fact_unsupported", period) & ~person("dibao_covered", period) & ~tekun
        return np.select([tekun, person("work_injury_care", period), person("child_orphan", period), fact_full],
                         [1, 2, 3, 4], 0)  # fmt: skip


class disability_living_subsidy(Money):
    entity = Person
    label = "困难残疾人生活补贴"

    def formula(person, period):
        ok = (person("disability_living_basis", period) > 0) & (person("disability_living_exclusion", period) == 0)
        amount = np.where(person("age", period) < 18, P(person, LIVING_MINOR), P(person, LIVING_ADULT))
        return np.where(ok, amount, 0)


class disability_care_basis(Count):
    entity = Person
    label = "重度残疾人护理补贴依据（0 不符合，1 一级，2 二级，3 三、四级智力精神残疾扩面）"

    def formula(person, period):
        grade = person("disability_grade", period)
        cat = person("disability_category", period)
        mild_im = (grade >= 3) & ((cat == INTELLECTUAL) | (cat == MENTAL)) & (P(person, CARE_EXTEND) == 1)
        basis = np.select([grade == 1, grade == 2, mild_im], [1, 2, 3], 0)
        return np.where(person("benefit_resident", period), basis, 0)


class disability_care_exclusion(Count):
    entity = Person
    label = "不享受护理补贴的原因（0 无，1 特困，2 工伤护理费）"

    def formula(person, period):
        return np.select([person("tekun_covered", period), person("work_injury_care", period)], [1, 2], 0)


class disability_care_subsidy(Money):
    entity = Person
    label = "重度残疾人护理补贴"

    def formula(person, period):
        basis = person("disability_care_basis", period)
        amount = np.select([basis == 1, basis == 2, basis == 3],
                           [P(person, CARE_GRADE1), P(person, CARE_GRADE2), P(person, CARE_GRADE34)], 0)  # fmt: skip
        return np.where(person("disability_care_exclusion", period) == 0, amount, 0)


class two_subsidies_person_eligible(Flag):
    entity = Person
    label = "符合残疾人两项补贴（任一项）条件"

    def formula(person, period):
        living = (person("disability_living_basis", period) > 0) & (person("disability_living_exclusion", period) == 0)
        care = (person("disability_care_basis", period) > 0) & (person("disability_care_exclusion", period) == 0)
        return living | care


class two_subsidies_person_amount(Money):
    entity = Person
    label = "残疾人两项补贴（本人合计）"

    def formula(person, period):
        return person("disability_living_subsidy", period) + person("disability_care_subsidy", period)


class two_subsidies_eligible(Flag):
    entity = Household
    label = "家庭中有成员享受残疾人两项补贴"

    def formula(household, period):
        return household.any(household.members("two_subsidies_person_eligible", period))


class two_subsidies_amount(Money):
    entity = Household
    label = "残疾人两项补贴（家庭合计）"

    def formula(household, period):
        return members_total(household, "two_subsidies_person_amount", period)


# --- explanation ---------------------------------------------------------------------------------------------


def _disability_text(v, i: int) -> str:  # type: ignore[no-untyped-def]
    cat, grade = v.persons("disability_category")[i], v.persons("disability_grade")[i]
    return f"{DISABILITY_ZH[cat]}残疾 {grade} 级"


def _not_resident_text(v, i: int) -> str:  # type: ignore[no-untyped-def]
    if v.persons("detained")[i]:
        return "正在服刑或强制隔离戒毒，本户不计发"
    if v.persons("missing")[i]:
        return "已宣告失踪，本户不计发"
    return "未在本户共同居住，由其居住地计发"


def _living_reasons(v, i: int) -> list[str]:  # type: ignore[no-untyped-def]
    basis, excl = v.persons("disability_living_basis")[i], v.persons("disability_living_exclusion")[i]
    age, grade = v.persons("age")[i], v.persons("disability_grade")[i]
    if basis == 1:
        way = "单人保" if v.persons("dibao_single_eligible")[i] else DIBAO_WAY.get(v.hh("dibao_mode"), "")
        head = f"生活补贴：本人享受低保（{way}），属于低保家庭残疾人"
    elif basis == 2:
        head = (f"生活补贴：家庭为低保边缘家庭，残疾等级 {grade} 级在{v.cite(LIVING_NEAR_MAX_GRADE)}以内，"
                f"按{v.cite(LIVING_NEAR)}纳入")  # fmt: skip
    else:
        if not v.persons("benefit_resident")[i]:
            return [f"生活补贴：{_not_resident_text(v, i)}"]
        if v.persons("near_dibao_member")[i]:
            if not v.raw(LIVING_NEAR):
                return [f"生活补贴：家庭为低保边缘家庭，但未扩面到低保边缘家庭（{v.cite(LIVING_NEAR)}），不享受"]
            return [f"生活补贴：家庭为低保边缘家庭，但残疾等级 {grade} 级超出{v.cite(LIVING_NEAR_MAX_GRADE)}，不享受"]
        return ["生活补贴：本人未享受低保（不属于低保家庭残疾人），不享受困难残疾人生活补贴（国发〔2015〕52号）"]
    if excl:
        return [head, f"生活补贴：{LIVING_EXCLUSION[excl]}"]
    key = LIVING_MINOR if age < 18 else LIVING_ADULT
    return [head, f"生活补贴：{age} 周岁，{v.cite(key)}，发放 {v.yuan(v.persons('disability_living_subsidy')[i])}"]


def _care_reasons(v, i: int) -> list[str]:  # type: ignore[no-untyped-def]
    basis, excl = v.persons("disability_care_basis")[i], v.persons("disability_care_exclusion")[i]
    cat = v.persons("disability_category")[i]
    if basis == 0:
        if not v.persons("benefit_resident")[i]:
            return [f"护理补贴：{_not_resident_text(v, i)}"]
        if cat in (INTELLECTUAL, MENTAL):
            return [f"护理补贴：{_disability_text(v, i)}，非重度残疾；未扩面到三、四级智力、精神残疾人（{v.cite(CARE_EXTEND)}），不享受"]
        return [f"护理补贴：{_disability_text(v, i)}，非一、二级重度残疾，不享受重度残疾人护理补贴"]
    key = {1: CARE_GRADE1, 2: CARE_GRADE2, 3: CARE_GRADE34}[basis]
    head = f"护理补贴：{_disability_text(v, i)}" + ("，重度残疾" if basis < 3 else f"，按{v.cite(CARE_EXTEND)}纳入")
    if excl:
        return [head, f"护理补贴：{CARE_EXCLUSION[excl]}"]
    return [head + f"，{v.cite(key)}，发放 {v.yuan(v.persons('disability_care_subsidy')[i])}"]


def explain_persons(v) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = []
    grades, living, care = v.persons("disability_grade"), v.persons("disability_living_subsidy"), v.persons("disability_care_subsidy")
    for i in range(len(v.rows)):
        if not grades[i]:
            continue
        reasons = [f"{v.who(i)}：{_disability_text(v, i)}，{v.persons('age')[i]} 周岁"]
        reasons += _living_reasons(v, i) + _care_reasons(v, i)
        if living[i] and care[i]:
            reasons.append("困难残疾人生活补贴和重度残疾人护理补贴可同时享受（国发〔2015〕52号）")
        rows.append({"id": v.ids[i], "amount": yuan_str(living[i] + care[i]), "reasons": reasons,
                     "living": yuan_str(living[i]), "care": yuan_str(care[i])})  # fmt: skip
    return rows


def explain(v) -> list[str]:  # type: ignore[no-untyped-def]
    grades = v.persons("disability_grade")
    if not any(grades):
        return ["家庭成员中没有持残疾人证的残疾人，不涉及残疾人两项补贴"]
    out = ["困难残疾人生活补贴发给低保家庭（含单人保、渐退）中的残疾人；重度残疾人护理补贴发给一、二级残疾人，不看家庭收入"
           "（国发〔2015〕52号）；两项补贴可同时享受"]  # fmt: skip
    living, care = v.persons("disability_living_subsidy"), v.persons("disability_care_subsidy")
    for i in range(len(v.rows)):
        if grades[i] and (living[i] or care[i]):
            out.append(f"{v.who(i)}：生活补贴 {v.yuan(living[i])}，护理补贴 {v.yuan(care[i])}")
    if v.flag("two_subsidies_eligible"):
        out.append(f"残疾人两项补贴月合计 {v.yuan(v.hh('two_subsidies_amount'))}")
    else:
        out.append("家庭中没有成员符合残疾人两项补贴条件（见各成员）")
    return out


PROGRAMME = Programme(
    key="two_subsidies", label="残疾人两项补贴", label_en="Disability living and care subsidies",
    eligible="two_subsidies_eligible", amount="two_subsidies_amount", params=PARAMS, explain=explain,
    explain_persons=explain_persons, depends=("dibao", "tekun", "near_dibao"),
    outputs=("disability_living_subsidy", "disability_care_subsidy"),
)  # fmt: skip
