"""特困人员救助供养 (destitute persons): recognised person by person (REFERENCE §4.1, 特困人员认定办法 民发〔2021〕43号
第四至九条, 第二十四条), paid as a basic living standard plus a care standard by self-care level (§4.3, §4.4).

A person is recognised when they are elderly, disabled or a minor (category), have no work capacity, no livelihood
and no capable supporter, unless a minor's guardian chose the orphan / 事实无人抚养 allowance. A minor already
recognised (``tekun_recipient``) keeps the benefit to 18 and beyond while at school. The household is eligible when
any member is; its amount is the sum of its members'.

Supporters (法定义务人) are the persons whose ``obligor_for`` names a member; they may live apart. A supporter's own
assets are not part of the input: the asset conditions of 第八条 on supporters are taken as met (said so in the
reasons). Counted income follows 第六条 (not the 低保 definition): wages, business, property and transfer income
including support received; the basic pension, other social insurance, 优待抚恤金 and 高龄津贴 are not counted; no
employment-cost or rigid-spending deduction is made (第六条 provides none)."""

from __future__ import annotations

import numpy as np

from jiuzhu.policy.inputs import DISABILITY, SCHOOLING, code
from jiuzhu.policy.money import mul_ratio, round_fen, yuan_str
from jiuzhu.policy.parameters.schema import declare
from jiuzhu.policy.rules import Programme
from jiuzhu.policy.rules.common import (
    ASSET_PARAMS,
    CLERGY_YEARS,
    DPI_RURAL,
    DPI_URBAN,
    IN_SCHOOL_TO_BACHELOR,
    INTELLECTUAL_MENTAL,
    ROUNDING,
    R,
    asset_reasons,
    one_of,
)
from jiuzhu.policy.rules.dibao import STANDARD_RURAL, STANDARD_URBAN
from jiuzhu.policy.system import (
    PA,
    Count,
    Flag,
    Household,
    Money,
    P,
    Person,
    area_of,
    members_total,
    rural_urban,
    urban_key,
)

ELDERLY_AGE = declare("tekun.elderly_age", "int", "特困人员老年人年龄（年满即视为无劳动能力）", "周岁", programme="tekun")
MINOR_NEW_ENTRY_MAX_AGE = declare("tekun.minor_new_entry_max_age", "int", "未成年人无劳动能力年龄（未满该年龄）", "周岁",
                                  programme="tekun")  # fmt: skip
MINOR_KEEP_UNTIL_AGE = declare("tekun.minor_keep_until_age", "int", "已认定特困未成年人继续享受待遇至", "周岁",
                               programme="tekun")  # fmt: skip
OBLIGOR_INCAPABLE_AGE = declare("tekun.obligor_incapable_age", "int", "义务人无履行义务能力的老年人年龄", "周岁",
                                programme="tekun")  # fmt: skip
OBLIGOR_DIBAO_AGE = declare("tekun.obligor_dibao_age", "int", "义务人为低保对象时视为无履行义务能力的年龄", "周岁",
                            programme="tekun")  # fmt: skip
LABOUR_NONE_COUNTS = declare("tekun.labour_none_counts", "bool", "经评估无劳动能力按省级“其他情形”认定为无劳动能力",
                             programme="tekun")  # fmt: skip
EXCLUDE_OTHER_PENSION = declare("tekun.income_exclude_other_pension", "bool",
                                "特困人员收入不计其他养老金和社会保险待遇", programme="tekun")  # fmt: skip
BASIC_MULTIPLIER = declare("tekun.basic_multiplier", "ratio", "特困人员基本生活标准（低保标准的倍数）", "倍", programme="tekun")
MIN_WAGE = declare("min_wage.monthly", "money", "当地月最低工资标准", "元/月")

DISABILITY_ZH = {"visual": "视力", "hearing": "听力", "speech": "言语", "limb": "肢体", "intellectual": "智力",
                 "mental": "精神", "multiple": "多重"}  # fmt: skip
DISABILITY_MAX_GRADE = {
    k: declare(f"tekun.disability_max_grade.{k}", "int", f"无劳动能力的{DISABILITY_ZH[k]}残疾等级（该等级及以上，0 = 不认定）",
               "级", programme="tekun")
    for k in DISABILITY[1:]
}  # fmt: skip
CARE_LEVELS = (("full_self_care", "全自理"), ("partial", "半护理"), ("full_care", "全护理"))
CARE_LEVEL_TEXT = ("具备生活自理能力（全自理）", "部分丧失生活自理能力（半护理）", "完全丧失生活自理能力（全护理）")
CARE_PCT = {k: declare(f"tekun.care_pct.{k}", "ratio", f"照料护理标准：{zh}（按月最低工资标准的比例）", "%",
                       programme="tekun")
            for k, zh in CARE_LEVELS}  # fmt: skip

PARAMS = (ELDERLY_AGE, MINOR_NEW_ENTRY_MAX_AGE, MINOR_KEEP_UNTIL_AGE, OBLIGOR_INCAPABLE_AGE, OBLIGOR_DIBAO_AGE,
          LABOUR_NONE_COUNTS, EXCLUDE_OTHER_PENSION, BASIC_MULTIPLIER, MIN_WAGE, *DISABILITY_MAX_GRADE.values(),
          *CARE_PCT.values(), STANDARD_URBAN, STANDARD_RURAL, ROUNDING, DPI_URBAN, DPI_RURAL, CLERGY_YEARS,
          *ASSET_PARAMS)  # fmt: skip

LABOUR_NONE = code(("full", "partial", "none"), "none")
SCHOOL_KEEP = [code(SCHOOLING, s) for s in ("primary", "junior", "senior")]
SCHOOL_ZH = {"primary": "小学（义务教育）", "junior": "初中（义务教育）", "senior": "普通高中或中等职业学校"}
# Why a supporter cannot fulfil the duty (特困人员认定办法第八条).
INCAPACITY = {
    1: "本人为特困人员（第八条第一项）",
    2: "低保对象（第八条第二项）",
    3: "高龄且本人收入低于上年当地人均可支配收入（第八条第三项）",
    4: "重度残疾或三级智力、精神残疾且本人收入低于上年当地人均可支配收入（第八条第四项）",
    5: "无民事行为能力、被宣告失踪或者在监狱服刑（第八条第五项）",
}


class tekun_category(Count):
    entity = Person
    label = "特困人员类别（1 老年人，2 未成年人，4 残疾人）"

    def formula(person, period):
        a = person("age", period)
        return ((a >= P(person, ELDERLY_AGE)) * 1 + (a < 18) * 2
                + (person("disability_category", period) > 0) * 4).astype(np.int64)  # fmt: skip


class tekun_disability_no_work(Flag):
    entity = Person
    label = "残疾类别和等级属于无劳动能力"

    def formula(person, period):
        # per area, the least severe grade that still counts for each category (0 for "none"), gathered once
        cols = [PA(person, DISABILITY_MAX_GRADE[k]) for k in DISABILITY[1:]]
        table = np.stack([np.zeros_like(cols[0]), *cols], axis=1).ravel()
        max_grade = table[area_of(person) * len(DISABILITY) + person("disability_category", period)]
        grade = person("disability_grade", period)
        return (grade >= 1) & (grade <= max_grade)


class tekun_no_work_capacity(Flag):
    entity = Person
    label = "无劳动能力（特困人员认定办法第五条）"

    def formula(person, period):
        a = person("age", period)
        labour_none = (person("labour_capacity", period) == LABOUR_NONE) & (P(person, LABOUR_NONE_COUNTS) == 1)
        return ((a >= P(person, ELDERLY_AGE)) | (a < P(person, MINOR_NEW_ENTRY_MAX_AGE))
                | person("tekun_disability_no_work", period) | labour_none)  # fmt: skip


class tekun_minor_continuation(Flag):
    entity = Person
    label = "已认定的特困未成年人继续享受待遇（第二十四条）"

    def formula(person, period):
        a = person("age", period)
        school = one_of(person("schooling", period), SCHOOL_KEEP)
        return person("tekun_recipient", period) & ((a < P(person, MINOR_KEEP_UNTIL_AGE)) | ((a >= 18) & school))


class tekun_own_income(Money):
    entity = Person
    label = "本人月收入（特困口径）"

    def formula(person, period):
        other = np.where(P(person, EXCLUDE_OTHER_PENSION) == 1, 0, person("income_other_pension", period))
        return (person("income_wage", period) + person("income_business", period) + person("income_property", period)
                + person("income_transfer", period) + person("income_support", period) + other)  # fmt: skip


class tekun_no_livelihood(Flag):
    entity = Person
    label = "无生活来源（第六条）"

    def formula(person, period):
        below = person("tekun_own_income", period) < person.household("dibao_standard", period)
        return below & person.household("assets_ok", period)


class tekun_supporter_incapacity(Count):
    entity = Person
    label = "作为义务人无履行义务能力的情形（0 具有能力，1–5 第八条各项）"

    def formula(person, period):
        a = person("age", period)
        income_low = person("tekun_own_income", period) * 12 < person.household("disposable_income_reference", period)
        severe = person("severely_disabled", period) | (
            (person("disability_grade", period) == 3) & one_of(person("disability_category", period), INTELLECTUAL_MENTAL))
        out = np.where(person("no_civil_capacity", period) | person("missing", period) | person("detained", period), 5, 0)
        out = np.where(severe & income_low, 4, out)
        out = np.where((a >= P(person, OBLIGOR_INCAPABLE_AGE)) & income_low, 3, out)
        out = np.where(person("dibao_recipient", period) & (a >= P(person, OBLIGOR_DIBAO_AGE)), 2, out)
        return np.where(person("tekun_recipient", period), 1, out).astype(np.int64)


class tekun_supporters(Count):
    entity = Person
    label = "登记的法定义务人人数"

    def formula(person, period):
        obl = person("obligor_for", period)
        return np.bincount(obl[obl >= 0], minlength=len(obl)).astype(np.int64)


class tekun_capable_supporters(Count):
    entity = Person
    label = "具有履行义务能力的法定义务人人数"

    def formula(person, period):
        obl = person("obligor_for", period)
        capable = (obl >= 0) & (person("tekun_supporter_incapacity", period) == 0)
        return np.bincount(obl[capable], minlength=len(obl)).astype(np.int64)


class tekun_household_capable_supporters(Count):
    entity = Person
    label = "同户成员中具有履行义务能力的法定义务人人数（配偶、成年子女、父母）"

    def formula(person, period):
        """Legal duties between members listed together, relative to the applicant: spouses support each other,
        adult children support the applicant and spouse, the applicant and spouse support their minor or
        dependent children and in-school children, the applicant supports their parents."""
        hh = person.simulation.populations["household"]
        of = hh.members_entity_id
        rel, age = person("relation", period), person("age", period)
        capable = person("tekun_supporter_incapacity", period) == 0

        def count(mask):  # type: ignore[no-untyped-def]
            return np.bincount(of, weights=mask, minlength=hh.count).astype(np.int64)[of]

        a = count(capable & (rel == R["applicant"]))
        sp = count(capable & (rel == R["spouse"]))
        adult_children = count(capable & (rel == R["child"]) & (age >= 18))
        dependent_child = (rel == R["child"]) & ((age < 18) | person("dependent", period)
                                                  | one_of(person("schooling", period), IN_SCHOOL_TO_BACHELOR))  # fmt: skip
        out = np.where(rel == R["applicant"], sp + adult_children, 0)
        out = np.where(rel == R["spouse"], a + adult_children, out)
        out = np.where(dependent_child, a + sp, out)
        out = np.where(rel == R["parent"], a, out)
        return out


class tekun_no_capable_obligor(Flag):
    entity = Person
    label = "无法定义务人或其法定义务人无履行义务能力（第八条）"

    def formula(person, period):
        return (person("tekun_capable_supporters", period) + person("tekun_household_capable_supporters", period)) == 0


class tekun_child_allowance_excluded(Flag):
    entity = Person
    label = "未成年人选择孤儿、事实无人抚养儿童保障，不再认定为特困人员（第九条）"

    def formula(person, period):
        return person("chose_child_allowance", period) & (person("age", period) < 18)


class tekun_person_eligible(Flag):
    entity = Person
    label = "符合特困人员救助供养条件"

    def formula(person, period):
        category = (person("tekun_category", period) > 0) & person("tekun_no_work_capacity", period)
        return (person("in_unit", period) & (category | person("tekun_minor_continuation", period))
                & person("tekun_no_livelihood", period) & person("tekun_no_capable_obligor", period)
                & ~person("tekun_child_allowance_excluded", period))  # fmt: skip


class tekun_self_care_level(Count):
    entity = Person
    label = "生活自理能力（0 全自理，1 半护理，2 全护理；第二十二条）"

    def formula(person, period):
        failed = person("self_care_failed", period)
        return np.where(failed >= 4, 2, np.where(failed >= 1, 1, 0)).astype(np.int64)


class tekun_basic(Money):
    entity = Person
    label = "特困人员基本生活费"

    def formula(person, period):
        # per (area, urban): round(standard × multiplier), gathered once
        std = rural_urban(PA(person, STANDARD_RURAL), PA(person, STANDARD_URBAN))
        table = round_fen(mul_ratio(std, np.repeat(PA(person, BASIC_MULTIPLIER), 2)), np.repeat(PA(person, ROUNDING), 2))
        return np.where(person("tekun_person_eligible", period), table[urban_key(person, period)], 0)


class tekun_care(Money):
    entity = Person
    label = "特困人员照料护理费"

    def formula(person, period):
        # per (area, self-care level): round(minimum wage × percentage), gathered once
        wage, rounding = PA(person, MIN_WAGE), PA(person, ROUNDING)
        table = np.stack([round_fen(mul_ratio(wage, PA(person, CARE_PCT[k])), rounding) for k, _ in CARE_LEVELS],
                         axis=1).ravel()  # fmt: skip
        key = area_of(person) * len(CARE_LEVELS) + person("tekun_self_care_level", period)
        return np.where(person("tekun_person_eligible", period), table[key], 0)


class tekun_person_amount(Money):
    entity = Person
    label = "特困人员月救助供养金"

    def formula(person, period):
        return person("tekun_basic", period) + person("tekun_care", period)


class tekun_count(Count):
    entity = Household
    label = "符合特困人员条件的成员人数"

    def formula(household, period):
        return members_total(household, "tekun_person_eligible", period)


class tekun_eligible(Flag):
    entity = Household
    label = "家庭中有成员符合特困人员救助供养条件"

    def formula(household, period):
        return household("tekun_count", period) > 0


class tekun_amount(Money):
    entity = Household
    label = "特困人员月救助供养金（家庭合计）"

    def formula(household, period):
        return members_total(household, "tekun_person_amount", period)


# --- explanation ---------------------------------------------------------------------------------------------


def _std_key(v) -> str:  # type: ignore[no-untyped-def]
    return STANDARD_URBAN if v.flag("urban") else STANDARD_RURAL


def _disability(v, i: int) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    cat = DISABILITY[v.persons("disability_category")[i]]
    return cat, v.persons("disability_grade")[i]


def _category_text(v, i: int) -> str:  # type: ignore[no-untyped-def]
    bits, age = v.persons("tekun_category")[i], v.persons("age")[i]
    parts = []
    if bits & 1:
        parts.append(f"老年人（{age} 周岁）")
    if bits & 2:
        parts.append(f"未成年人（{age} 周岁）")
    if bits & 4:
        cat, grade = _disability(v, i)
        parts.append(f"残疾人（{DISABILITY_ZH[cat]}残疾 {grade} 级）")
    if not parts:
        return f"不属于老年人、残疾人或未成年人（{age} 周岁），不符合特困人员类别（第四条）"
    return "属于" + "、".join(parts)


def _work_text(v, i: int) -> str:  # type: ignore[no-untyped-def]
    age = v.persons("age")[i]
    if age >= v.raw(ELDERLY_AGE):
        return f"年满 {age} 周岁，为无劳动能力（{v.cite(ELDERLY_AGE)}）"
    if age < v.raw(MINOR_NEW_ENTRY_MAX_AGE):
        return f"{age} 周岁，为无劳动能力（{v.cite(MINOR_NEW_ENTRY_MAX_AGE)}）"
    cat, grade = _disability(v, i)
    if v.persons("tekun_disability_no_work")[i]:
        key = DISABILITY_MAX_GRADE[cat]
        return (f"{DISABILITY_ZH[cat]}残疾 {grade} 级，属于无劳动能力的残疾类别和等级（{DISABILITY_ZH[cat]}残疾 "
                f"{v.param(key).display}及以上；{v.param(key).citation()}），为无劳动能力")  # fmt: skip
    if v.persons("tekun_no_work_capacity")[i]:
        return f"经评估无劳动能力，按省级规定的其他情形认定为无劳动能力（{v.cite(LABOUR_NONE_COUNTS)}）"
    why = [f"{age} 周岁，未满{v.cite(ELDERLY_AGE)}且不低于{v.cite(MINOR_NEW_ENTRY_MAX_AGE)}"]
    if cat != "none":
        key = DISABILITY_MAX_GRADE[cat]
        why.append(f"{DISABILITY_ZH[cat]}残疾 {grade} 级不属于无劳动能力的残疾等级（{v.cite(key)}）")
    if v.persons("labour_capacity")[i] == LABOUR_NONE:
        why.append(f"经评估无劳动能力，但省级未规定按其他情形认定（{v.cite(LABOUR_NONE_COUNTS)}）")
    return "不符合无劳动能力条件（特困人员认定办法第五条）：" + "；".join(why)


def _continuation_text(v, i: int) -> str:  # type: ignore[no-untyped-def]
    age = v.persons("age")[i]
    if age < v.raw(MINOR_KEEP_UNTIL_AGE):
        pv = v.param(MINOR_KEEP_UNTIL_AGE)
        return f"已认定的特困未成年人（{age} 周岁），可继续享有救助供养待遇至 {pv.display}（{pv.citation()}）"
    school = SCHOOLING[v.persons("schooling")[i]]
    return f"已认定的特困人员，年满 18 周岁仍在{SCHOOL_ZH.get(school, school)}就读，可继续享有救助供养待遇（特困人员认定办法第二十四条）"


def _ended_text(v, i: int) -> str:  # type: ignore[no-untyped-def]
    pv = v.param(MINOR_KEEP_UNTIL_AGE)
    return (f"已认定的特困人员年满 {pv.display}（{pv.citation()}），且未在义务教育阶段、普通高中或中等职业学校就读，"
            "不再继续享有未成年人救助供养待遇")  # fmt: skip


def _livelihood_text(v, i: int) -> str:  # type: ignore[no-untyped-def]
    inc, std = v.persons("tekun_own_income")[i], v.hh("dibao_standard")
    excluded = "城乡居民基本养老保险基础养老金、基本医疗保险等社会保险、优待抚恤金、高龄津贴"
    if not v.raw(EXCLUDE_OTHER_PENSION):
        excluded = "城乡居民基本养老保险基础养老金、优待抚恤金、高龄津贴（其他养老金计入）"
    text = f"本人月收入 {v.yuan(inc)}（不计{excluded}）{'<' if inc < std else '≥'} {v.cite(_std_key(v))}"
    if inc >= std:
        return text + "，有生活来源（第六条）"
    if not v.flag("assets_ok"):
        return text + "，但家庭财产不符合规定（见上），不属于无生活来源（第六条）"
    return text + "，财产符合规定，为无生活来源（第六条）"


def _supporter_texts(v, i: int) -> list[str]:  # type: ignore[no-untyped-def]
    row = int(v.rows[i])
    obl, inc = v.persons("obligor_for"), v.persons("tekun_own_income")
    reasons, ages = v.persons("tekun_supporter_incapacity"), v.persons("age")
    supporters = [j for j in range(len(v.rows)) if obl[j] == row]
    if not supporters and not v.persons("tekun_household_capable_supporters")[i]:
        return ["无法定赡养、抚养、扶养义务人（未登记户外义务人，同户成员中也没有；须经入户调查核实，"
                "特困人员认定办法第四条第三项）"]
    dpi = v.cite(DPI_URBAN if v.flag("urban") else DPI_RURAL)
    out = []
    for j in supporters:
        r = reasons[j]
        who = f"法定义务人{v.who(j)}："
        if r == 0:
            out.append(f"{who}具有履行义务能力（本人月收入 {v.yuan(inc[j])}，{ages[j]} 周岁），不符合“无法定义务人或其无履行义务能力”条件")
        elif r == 2:
            out.append(f"{who}为 {ages[j]} 周岁的低保对象，无履行义务能力（{v.cite(OBLIGOR_DIBAO_AGE)}）")
        elif r in (3, 4):
            head, rule = ((f"{ages[j]} 周岁", v.cite(OBLIGOR_INCAPABLE_AGE)) if r == 3
                          else ("为重度残疾人或三级智力、精神残疾人", "特困人员认定办法第八条第四项"))  # fmt: skip
            out.append(f"{who}{head}，本人月收入 {v.yuan(inc[j])} × 12 < {dpi}，"
                       f"无履行义务能力（{rule}；义务人财产状况未录入，按符合低收入家庭财产规定处理）")  # fmt: skip
        else:
            out.append(f"{who}{INCAPACITY[r]}，无履行义务能力")
    in_household = v.persons("tekun_household_capable_supporters")[i]
    if in_household:
        out.append(f"同户成员中有 {in_household} 名具有履行义务能力的法定义务人（配偶、成年子女或父母），"
                   "不符合“无法定义务人或其无履行义务能力”条件（特困人员认定办法第四条第三项）")  # fmt: skip
    capable = v.persons("tekun_capable_supporters")[i]
    if capable:
        out.append(f"有 {capable} 名具有履行义务能力的法定义务人，不符合特困人员条件")
    return out


def explain_persons(v) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = []
    cats, cont, in_unit = v.persons("tekun_category"), v.persons("tekun_minor_continuation"), v.persons("in_unit")
    eligible, amounts = v.persons("tekun_person_eligible"), v.persons("tekun_person_amount")
    for i in range(len(v.rows)):
        if not in_unit[i] or not (cats[i] or cont[i] or v.persons("tekun_recipient")[i]):
            continue
        reasons = [_category_text(v, i)]
        if cont[i]:
            reasons.append(_continuation_text(v, i))
        elif cats[i]:
            reasons.append(_work_text(v, i))
        if not cont[i] and v.persons("tekun_recipient")[i] and v.persons("age")[i] >= v.raw(MINOR_KEEP_UNTIL_AGE) \
                and not v.persons("tekun_no_work_capacity")[i]:
            reasons.append(_ended_text(v, i))
        reasons.append(_livelihood_text(v, i))
        reasons += _supporter_texts(v, i)
        if v.persons("tekun_child_allowance_excluded")[i]:
            reasons.append("监护人已选择孤儿、事实无人抚养儿童基本生活保障，不再认定为特困人员（第九条）")
        if eligible[i]:
            level = v.persons("tekun_self_care_level")[i]
            key, _ = CARE_LEVELS[level]
            std = v.hh("dibao_standard")
            reasons.append("符合特困人员救助供养条件（第四条）")
            reasons.append(f"基本生活费 = 低保标准 {v.yuan(std)} × {v.cite(BASIC_MULTIPLIER)} = "
                           f"{v.yuan(v.persons('tekun_basic')[i])}")  # fmt: skip
            reasons.append(f"生活自理能力评估 {v.persons('self_care_failed')[i]} 项指标未达到：{CARE_LEVEL_TEXT[level]}（第二十二条）；"
                           f"照料护理费 = {v.cite(MIN_WAGE)} × {v.cite(CARE_PCT[key])} = {v.yuan(v.persons('tekun_care')[i])}")  # fmt: skip
            reasons.append(f"按{v.cite(ROUNDING)}，月救助供养金 {v.yuan(amounts[i])}")
        else:
            reasons.append("不符合特困人员救助供养条件")
        rows.append({"id": v.ids[i], "amount": yuan_str(amounts[i]), "reasons": reasons})
    return rows


def explain(v) -> list[str]:  # type: ignore[no-untyped-def]
    n = v.hh("tekun_count")
    out = ["特困人员以个人为单位认定：须同时具备无劳动能力、无生活来源、无法定义务人或其无履行义务能力"
           "（特困人员认定办法第四条），对象为老年人、残疾人和未成年人"]  # fmt: skip
    out.append(f"家庭财产（特困人员财产状况按当地规定，此处适用低保家庭财产条件）：{'符合' if v.flag('assets_ok') else '不符合'}")
    out += asset_reasons(v)
    if n:
        names = "、".join(v.who(i) for i, e in enumerate(v.persons("tekun_person_eligible")) if e)
        out.append(f"{names}符合特困人员救助供养条件（见各成员）")
        out.append(f"月救助供养金合计 {v.yuan(v.hh('tekun_amount'))}（基本生活费 + 照料护理费）")
    else:
        out.append("家庭中没有成员符合特困人员救助供养条件（见各成员）")
    return out


PROGRAMME = Programme(
    key="tekun", label="特困人员救助供养", label_en="Support for destitute persons (tekun)",
    eligible="tekun_eligible", amount="tekun_amount", params=PARAMS, explain=explain,
    explain_persons=explain_persons, depends=("dibao",),
    outputs=("tekun_count", "tekun_no_work_capacity", "tekun_no_livelihood", "tekun_no_capable_obligor",
             "tekun_self_care_level", "tekun_basic", "tekun_care"),
)  # fmt: skip
