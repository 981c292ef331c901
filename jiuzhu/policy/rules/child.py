"""孤儿 and 事实无人抚养儿童 basic living allowance (REFERENCE §8.2; 国办发〔2010〕54号, 民发〔2019〕62号).

Status first, amount second: ``child_orphan`` and ``child_fact_unsupported`` depend only on age and the parents'
situations, so the living subsidy of ``two_subsidies`` may read them without a cycle; the allowance itself reads
that subsidy back for 补差.

* 孤儿: under 18, both parents dead or declared missing.
* 事实无人抚养儿童: under 18, both parents each severely disabled, seriously ill, detained (prison, compulsory drug
  rehabilitation or other restriction of liberty, ≥ 6 months) or out of contact (≥ 6 months); or one parent dead or
  declared missing and the other in one of those situations. The input's parent situations already carry the
  thresholds (``severe_disability`` = grade 1–2 or grade 3–4 intellectual/mental; ``lost_contact`` ≥ 6 months).

Allowance: the local scattered-orphan standard. A child who already receives 低保, 特困 support or the 困难残疾人生活
补贴 below that standard is paid the difference (补差, 民发〔2019〕62号 三（一）); the same rule is applied to orphans.
The child's share of a household's 低保 is the per-capita assistance level (人均救助水平): the household's monthly
低保金 divided by the members of the assessment unit (floor to the fen); for a child enrolled alone (单人保) it is
the child's own 低保金."""

from __future__ import annotations

import numpy as np

from jiuzhu.policy.inputs import PARENT_STATUS, code
from jiuzhu.policy.money import yuan_str
from jiuzhu.policy.parameters.schema import declare
from jiuzhu.policy.rules import Programme
from jiuzhu.policy.rules.two_subsidies import TEKUN_PERSON_AMOUNT
from jiuzhu.policy.system import Flag, Household, Money, P, Person, members_total

SCATTERED = declare("orphan.allowance.scattered", "money", "散居孤儿基本生活费标准", "元/人·月", programme="child")
PARAMS = (SCATTERED,)

DEAD, MISSING = code(PARENT_STATUS, "dead"), code(PARENT_STATUS, "missing")
UNABLE = [code(PARENT_STATUS, s) for s in ("severe_disability", "serious_illness", "detained", "lost_contact")]
PARENT_ZH = {"ok": "健在", "dead": "死亡", "missing": "宣告失踪", "severe_disability": "重残",
             "serious_illness": "重病", "detained": "服刑在押、强制隔离戒毒或被限制人身自由（6个月以上）",
             "lost_contact": "失联（6个月以上）"}  # fmt: skip


def _gone(status: np.ndarray) -> np.ndarray:
    return (status == DEAD) | (status == MISSING)


def _unable(status: np.ndarray) -> np.ndarray:
    return (status >= min(UNABLE)) & (status <= max(UNABLE))


class child_orphan(Flag):
    entity = Person
    label = "孤儿（未满18周岁，父母双方均死亡或宣告失踪）"

    def formula(person, period):
        p1, p2 = person("parent1_status", period), person("parent2_status", period)
        return (person("age", period) < 18) & _gone(p1) & _gone(p2)


class child_fact_unsupported(Flag):
    entity = Person
    label = "事实无人抚养儿童"

    def formula(person, period):
        p1, p2 = person("parent1_status", period), person("parent2_status", period)
        both_unable = _unable(p1) & _unable(p2)
        one_gone = (_gone(p1) & _unable(p2)) | (_unable(p1) & _gone(p2))
        return (person("age", period) < 18) & (both_unable | one_gone)


class child_recognised(Flag):
    entity = Person
    label = "本户的孤儿或事实无人抚养儿童"

    def formula(person, period):
        status = person("child_orphan", period) | person("child_fact_unsupported", period)
        return status & person("benefit_resident", period)


class child_dibao_share(Money):
    entity = Person
    label = "本人享受的低保金（整户按人均救助水平，单人保按本人）"

    def formula(person, period):
        mode = person.household("dibao_mode", period)
        n = np.maximum(person.household("unit_size", period), 1)
        per_capita = person.household("dibao_amount", period) // n
        whole = person("in_unit", period) & ((mode == 1) | (mode == 3))
        return np.where(person("dibao_single_eligible", period), person("dibao_single_amount", period),
                        np.where(whole, per_capita, 0))  # fmt: skip


class child_allowance_offset(Money):
    entity = Person
    label = "已获得的低保、特困供养金和困难残疾人生活补贴（补差扣除）"

    def formula(person, period):
        return (person("child_dibao_share", period) + person(TEKUN_PERSON_AMOUNT, period)
                + person("disability_living_subsidy", period))  # fmt: skip


class child_allowance(Money):
    entity = Person
    label = "孤儿、事实无人抚养儿童基本生活费"

    def formula(person, period):
        gap = np.maximum(P(person, SCATTERED) - person("child_allowance_offset", period), 0)
        return np.where(person("child_recognised", period), gap, 0)


class child_eligible(Flag):
    entity = Household
    label = "家庭中有孤儿或事实无人抚养儿童"

    def formula(household, period):
        return household.any(household.members("child_recognised", period))


class child_amount(Money):
    entity = Household
    label = "孤儿、事实无人抚养儿童基本生活费（家庭合计）"

    def formula(household, period):
        return members_total(household, "child_allowance", period)


# --- explanation ---------------------------------------------------------------------------------------------


def _parents(v, i: int) -> str:  # type: ignore[no-untyped-def]
    p1, p2 = v.persons("parent1_status")[i], v.persons("parent2_status")[i]
    return f"父母一方{PARENT_ZH[PARENT_STATUS[p1]]}，另一方{PARENT_ZH[PARENT_STATUS[p2]]}"


def _status_reason(v, i: int) -> str:  # type: ignore[no-untyped-def]
    age = v.persons("age")[i]
    if age >= 18:
        return f"已满 18 周岁（{age} 周岁），不属于孤儿或事实无人抚养儿童保障对象"
    if v.persons("child_orphan")[i]:
        return f"未满 18 周岁，{_parents(v, i)}，属于孤儿（国办发〔2010〕54号）"
    if v.persons("child_fact_unsupported")[i]:
        return f"未满 18 周岁，{_parents(v, i)}，属于事实无人抚养儿童（民发〔2019〕62号 一）"
    return (f"{_parents(v, i)}：不符合孤儿或事实无人抚养儿童条件（须父母双方均为重残、重病、服刑在押、强制隔离戒毒、"
            "失联之一，或一方死亡、失踪而另一方为上述情形之一；民发〔2019〕62号 一）")  # fmt: skip


def _amount_reasons(v, i: int) -> list[str]:  # type: ignore[no-untyped-def]
    std = v.raw(SCATTERED)
    out = [f"补贴标准与当地孤儿保障标准衔接：{v.cite(SCATTERED)}"]
    share, tekun = v.persons("child_dibao_share")[i], v.persons(TEKUN_PERSON_AMOUNT)[i]
    living, amount = v.persons("disability_living_subsidy")[i], v.persons("child_allowance")[i]
    parts = []
    if share:
        if v.persons("dibao_single_eligible")[i]:
            out.append(f"本人享受单人保低保金 {v.yuan(share)}")
        else:
            out.append(f"本人享受低保，按家庭人均救助水平计：家庭月低保金 {v.yuan(v.hh('dibao_amount'))} ÷ "
                       f"共同生活家庭成员 {v.hh('unit_size')} 人 = {v.yuan(share)}")  # fmt: skip
        parts.append(f"低保 {v.yuan(share)}")
    if tekun:
        out.append(f"本人享受特困人员救助供养金 {v.yuan(tekun)}")
        parts.append(f"特困供养金 {v.yuan(tekun)}")
    if living:
        out.append(f"本人享受困难残疾人生活补贴 {v.yuan(living)}")
        parts.append(f"生活补贴 {v.yuan(living)}")
    if not parts:
        out.append(f"未享受低保、特困供养或困难残疾人生活补贴，按标准全额发放 {v.yuan(std)}；"
                   "全额领取的补贴不计入家庭收入（民发〔2019〕62号 三（一））")  # fmt: skip
    elif amount:
        out.append(f"已获得的救助低于标准，补差发放：{v.yuan(std)} − （{' + '.join(parts)}）= {v.yuan(amount)}"
                   "（民发〔2019〕62号 三（一））")  # fmt: skip
    else:
        out.append(f"已获得的救助（{' + '.join(parts)}）不低于标准 {v.yuan(std)}，补差为 0，不再发放")
    return out


def explain_persons(v) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = []
    p1, p2, ages = v.persons("parent1_status"), v.persons("parent2_status"), v.persons("age")
    recognised, amounts = v.persons("child_recognised"), v.persons("child_allowance")
    for i in range(len(v.rows)):
        chose = v.persons("chose_child_allowance")[i] and ages[i] < 18
        if not (p1[i] or p2[i] or chose):
            continue
        reasons = [f"{v.who(i)}：{_status_reason(v, i)}"]
        status = v.persons("child_orphan")[i] or v.persons("child_fact_unsupported")[i]
        if status and not recognised[i]:
            reasons.append("未在本户实际居住，由其居住地发放")
        if recognised[i]:
            reasons += _amount_reasons(v, i)
            reasons.append("可同时享受重度残疾人护理补贴等其他政策（民发〔2019〕62号 三（二））")
        if chose:
            reasons.append("监护人选择孤儿、事实无人抚养儿童基本生活保障，不再认定为特困人员（特困人员认定办法第九条）")
        rows.append({"id": v.ids[i], "amount": yuan_str(amounts[i]), "reasons": reasons})
    return rows


def explain(v) -> list[str]:  # type: ignore[no-untyped-def]
    recognised = v.persons("child_recognised")
    if not any(recognised):
        return ["家庭中没有孤儿或事实无人抚养儿童（见各成员）"]
    out = []
    for i, r in enumerate(recognised):
        if r:
            kind = "孤儿" if v.persons("child_orphan")[i] else "事实无人抚养儿童"
            out.append(f"{v.who(i)}为{kind}，基本生活费 {v.yuan(v.persons('child_allowance')[i])}")
    out.append(f"月合计 {v.yuan(v.hh('child_amount'))}")
    return out


PROGRAMME = Programme(
    key="child", label="孤儿和事实无人抚养儿童基本生活费", label_en="Orphans' and de-facto unsupported children's allowance",
    eligible="child_eligible", amount="child_amount", params=PARAMS, explain=explain,
    explain_persons=explain_persons, depends=("dibao", "tekun", "two_subsidies"),
    outputs=("child_orphan", "child_fact_unsupported", "child_allowance"),
)  # fmt: skip
