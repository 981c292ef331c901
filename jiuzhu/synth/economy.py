"""Synthetic economic facts of a household: each member's monthly incomes and situations, the household's assets,
rigid spending of the last 12 months and current 低保 — what the policy engine reads (docs/policy-input.md), in
the shape of ``registry.PersonEconomy`` / ``HouseholdEconomy``.

Pure and deterministic: a function of the seed, the household number, urban/rural and the members' stored facts
(birth date, sex, relation, schooling, labour capacity, disability, serious illness, self-care), drawn from a
BLAKE2b stream keyed by seed and household number — so it can be recomputed for stored ``registry.Person`` rows.
The annual ``Income`` summary (``generator.synth_income``) is the sum of the same monthly amounts × 12.

Amounts are whole yuan (``int``); the loader stores them as ``Decimal``. Rates are documented in
docs/synthetic-data.md. ``SHAPING_STANDARD`` is not a policy parameter: it only decides which synthetic
households are shown as current 低保 recipients, so that the data has some."""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from jiuzhu.core import idnumber
from jiuzhu.registry.models import LabourCapacity, ParentStatus, Relation, Schooling, SelfCare, UrbanRural

URBAN, RURAL = UrbanRural.URBAN.value, UrbanRural.RURAL.value
HEAD, SPOUSE, SON, DAUGHTER = Relation.HEAD.value, Relation.SPOUSE.value, Relation.SON.value, Relation.DAUGHTER.value
GRANDCHILD = Relation.GRANDCHILD.value
L_FULL, L_PARTIAL, L_NONE = LabourCapacity.FULL.value, LabourCapacity.PARTIAL.value, LabourCapacity.NONE.value
NOT_IN_SCHOOL = Schooling.NONE.value
STUDENTS = (Schooling.SENIOR.value, Schooling.TERTIARY.value)  # may get a 国家助学金
C_FULL, C_PARTIAL = SelfCare.FULL.value, SelfCare.PARTIAL.value
P_OK, P_DEAD, P_MISSING = ParentStatus.OK.value, ParentStatus.DEAD.value, ParentStatus.MISSING.value
P_DETAINED, P_LOST = ParentStatus.DETAINED.value, ParentStatus.LOST_CONTACT.value
P_DISABLED, P_ILL = ParentStatus.SEVERE_DISABILITY.value, ParentStatus.SERIOUS_ILLNESS.value

# yuan/person/month, only to pick the synthetic current 低保 recipients (see the module docstring)
SHAPING_STANDARD = {URBAN: 950, RURAL: 800}
# an absent parent of a child living without them: (status, cumulative share)
ABSENT_PARENT = (
    (P_OK, 0.84), (P_DEAD, 0.90), (P_LOST, 0.94), (P_DETAINED, 0.96), (P_DISABLED, 0.98), (P_ILL, 0.99),
    (P_MISSING, 1.0),
)  # fmt: skip
EDUCATION_YEARLY = {  # fees and accommodation, yuan a year: (base, spread)
    Schooling.PRESCHOOL.value: (1500, 3000), Schooling.PRIMARY.value: (200, 600), Schooling.JUNIOR.value: (300, 900),
    Schooling.SENIOR.value: (2000, 4000), Schooling.TERTIARY.value: (8000, 8000),
    Schooling.POSTGRADUATE.value: (8000, 6000),
}  # fmt: skip


class MemberLike(Protocol):
    birth_date: dt.date
    sex: str
    relation: str
    labour_capacity: str
    disability_category: str
    disability_grade: int | None
    serious_illness: bool
    schooling: str
    self_care: str


@dataclass(slots=True)
class Income:
    """Annual household income in yuan by source (收入构成: 工资性、经营净、财产净、转移净、养老金)."""

    wage: int = 0
    business: int = 0
    property: int = 0
    transfer: int = 0
    pension: int = 0

    @builtins.property
    def total(self) -> int:
        return self.wage + self.business + self.property + self.transfer + self.pension

    def as_dict(self) -> dict[str, int]:
        return {"wage": self.wage, "business": self.business, "property": self.property,
                "transfer": self.transfer, "pension": self.pension, "total": self.total}  # fmt: skip


@dataclass(slots=True)
class PersonFacts:
    """``registry.PersonEconomy`` without the keys: monthly whole yuan, flags, ``obligor_for`` as a member index."""

    wage: int = 0
    business: int = 0
    property: int = 0
    transfer: int = 0
    support: int = 0
    basic_pension: int = 0
    other_pension: int = 0
    elderly_allowance: int = 0
    excluded: int = 0
    employment_cost: int = 0
    rigid_deduction: int = 0
    lives_together: bool = True
    dependent: bool = False
    detained: bool = False
    missing: bool = False
    single_parent: bool = False
    nursing: bool = False
    work_injury_care: bool = False
    tekun_recipient: bool = False
    dibao_recipient: bool = False
    no_civil_capacity: bool = False
    chose_child_allowance: bool = False
    clergy_apart_years: int = 0
    self_care_failed: int = 0
    parent1_status: str = P_OK
    parent2_status: str = P_OK
    obligor_for: int | None = None

    def counted(self) -> int:
        """Monthly income before deductions, excluded items left out (REFERENCE §1.2; shaping only)."""
        return (self.wage + self.business + self.property + self.transfer + self.support + self.basic_pension
                + self.other_pension + self.elderly_allowance)  # fmt: skip


@dataclass(slots=True)
class HouseholdFacts:
    """``registry.HouseholdEconomy`` without the keys: whole yuan, m²."""

    financial: int = 0
    houses: int = 0
    housing_area_m2: int = 0
    vehicles: int = 0
    rigid_medical: int = 0
    rigid_education: int = 0
    rigid_rehabilitation: int = 0
    rigid_living: int = 0
    rigid_other: int = 0
    current_dibao: bool = False
    current_dibao_amount: int = 0
    gradual_exit_months_used: int = 0


@dataclass(slots=True)
class Economy:
    household: HouseholdFacts = field(default_factory=HouseholdFacts)
    persons: list[PersonFacts] = field(default_factory=list)

    def income(self) -> Income:
        """The annual summary by source: 12 × the monthly amounts (care subsidies and support are transfers,
        every pension is a pension)."""
        inc = Income()
        for p in self.persons:
            inc.wage += 12 * p.wage
            inc.business += 12 * p.business
            inc.property += 12 * p.property
            inc.transfer += 12 * (p.transfer + p.support + p.elderly_allowance + p.excluded)
            inc.pension += 12 * (p.basic_pension + p.other_pension)
        return inc


class _Uniforms:
    """A SHAKE-256 stream of uniforms in [0, 1) keyed by a string: cheap, and independent of the member generator,
    so the facts can be recomputed for a stored household from its number, its members and the seed."""

    __slots__ = ("_xof", "_buf", "_i")

    def __init__(self, key: str, expect: int = 64):
        self._xof = hashlib.shake_256(key.encode())
        self._buf = self._draw(expect)
        self._i = 0

    def _draw(self, n: int) -> list[float]:
        return [v / 4294967296.0 for v in struct.unpack(f">{n}I", self._xof.digest(4 * n))]

    def take(self, n: int) -> list[float]:
        """The next ``n`` uniforms (a longer output of the same stream extends it, so the order never changes)."""
        i, j = self._i, self._i + n
        if j > len(self._buf):
            self._buf = self._draw(max(2 * len(self._buf), j))
        self._i = j
        return self._buf[i:j]

    def __call__(self) -> float:
        return self.take(1)[0]


def synth_economy(
    *, seed: int, household_no: str, urban_rural: str, members: Sequence[MemberLike], as_of: dt.date
) -> Economy:
    """The household's economic facts, one ``PersonFacts`` per member in the order given. The draws come in a
    fixed order (per member, then the household); change it only together with docs/synthetic-data.md."""
    u = _Uniforms(f"jiuzhu-economy/{seed}/{household_no}", 24 * len(members) + 24)
    urban = urban_rural == URBAN
    ages = [idnumber.age_on(m.birth_date, as_of) for m in members]
    persons = [_person(u, m, age, urban) for m, age in zip(members, ages, strict=True)]
    head = next((i for i, m in enumerate(members) if m.relation == HEAD), 0)
    _family(u, members, ages, persons, head)
    _household_income(u, members, ages, persons, head, urban)
    hh = HouseholdFacts()
    _dibao(u, members, persons, hh, urban_rural)
    _assets(u, persons, hh, urban)
    _rigid(u, members, ages, persons, hh, urban)
    return Economy(household=hh, persons=persons)


def _person(u: _Uniforms, m: MemberLike, age: int, urban: bool) -> PersonFacts:
    """Own incomes and situations: fourteen draws a member, one for each decision or amount."""
    p = PersonFacts()
    gone, works, level_u, claims, cost_u, employee, pension_u, grant, deducts, deduction_u, injury, apart, years_u, \
        care_u = u.take(14)  # fmt: skip
    grade = m.disability_grade or 9
    adult = age >= 18
    if adult and age < 60 and gone < 0.003:
        p.detained = True
    elif adult and gone > 0.999:
        p.missing = True
    if 16 <= age <= 64 and m.schooling == NOT_IN_SCHOOL and not (p.detained or p.missing):
        level = (2000 + 5000 * level_u**1.3) if urban else (1600 + 4400 * level_u**1.3)  # 务工, monthly after tax
        if m.labour_capacity == L_FULL and works < (0.70 if urban else 0.78):
            p.wage = int(level)
        elif m.labour_capacity == L_PARTIAL and works < 0.40:
            p.wage = int(level * 0.45)
        if p.wage and claims < 0.30:
            p.employment_cost = 100 + int(200 * cost_u)  # 必要就业成本 claimed
    if age >= 60:
        if urban and employee < 0.25:
            p.other_pension = 2000 + int(2000 * pension_u)  # 城镇职工基本养老金
        else:
            p.basic_pension = 170 + int(90 * pension_u)  # 城乡居民基础养老金
    if age >= 90:
        p.elderly_allowance = 100
    elif age >= 80:
        p.elderly_allowance = 50
    if grade <= 2:
        p.excluded += 120 if grade == 1 else 80  # 重度残疾人护理补贴
        if adult and m.disability_category in ("5", "6"):
            p.no_civil_capacity = True
    if m.schooling in STUDENTS and grant < 0.3:
        p.excluded += 200  # 国家助学金
    if (m.serious_illness or grade <= 2) and deducts < 0.5:
        p.rigid_deduction = 100 + int(500 * deduction_u)
    if adult and m.disability_category and injury < 0.03:
        p.work_injury_care = True
    if m.relation in (SON, DAUGHTER) and adult and m.labour_capacity == L_NONE and (grade <= 2 or m.serious_illness):
        p.dependent = True
    if adult and m.relation != HEAD:
        if apart < 0.001:
            p.clergy_apart_years = 3 + int(10 * years_u)  # 宗教教职人员 living at a religious venue
            p.lives_together = False
        elif m.relation in (SON, DAUGHTER) and age <= 50 and apart < 0.05:
            p.lives_together = False  # lives elsewhere with a family of their own
    care = m.self_care
    p.self_care_failed = 0 if care == C_FULL else 1 + int(3 * care_u) if care == C_PARTIAL else 4 + int(3 * care_u)
    return p


def _status(p: PersonFacts, m: MemberLike) -> str:
    """A present parent's situation as the engine's ``parents`` sees it (REFERENCE §8.2)."""
    if p.detained:
        return P_DETAINED
    if p.missing:
        return P_MISSING
    grade = m.disability_grade or 9
    if grade <= 2 or grade <= 4 and m.disability_category in ("5", "6"):
        return P_DISABLED
    if m.serious_illness:
        return P_ILL
    return P_OK


def _absent(u: _Uniforms) -> str:
    x = u()
    return next(s for s, cum in ABSENT_PARENT if x < cum)


def _family(u: _Uniforms, members: Sequence[MemberLike], ages: list[int], persons: list[PersonFacts],
            head: int) -> None:  # fmt: skip
    """Parents of the minors, single parents, nursing mothers, obligors living apart: two draws a member, one
    more for each parent who does not live in the household."""
    rel = [m.relation for m in members]
    spouse = next((i for i, r in enumerate(rel) if r == SPOUSE), None)
    middle = [i for i, r in enumerate(rel) if r in (SON, DAUGHTER) and ages[i] >= 18]  # parents of the grandchildren
    infant = any(a == 0 for a in ages)
    for i, (m, age, p) in enumerate(zip(members, ages, persons, strict=True)):
        a, b = u.take(2)
        if age < 18 and rel[i] in (SON, DAUGHTER):
            p.parent1_status = _status(persons[head], members[head])
            p.parent2_status = _status(persons[spouse], members[spouse]) if spouse is not None else _absent(u)
        elif age < 18 and rel[i] == GRANDCHILD:
            present = [j for j in middle if persons[j].lives_together][:2]
            statuses = [_status(persons[j], members[j]) for j in present]
            while len(statuses) < 2:
                statuses.append(_absent(u))
            p.parent1_status, p.parent2_status = statuses
        if age < 18 and P_OK not in (p.parent1_status, p.parent2_status) and a < 0.5:
            p.chose_child_allowance = True  # the guardian chose the 孤儿 / 事实无人抚养儿童 allowance
        if i == head and spouse is None and 18 <= age < 60 and any(
            r in (SON, DAUGHTER) and ages[j] < 18 for j, r in enumerate(rel)
        ):
            p.single_parent = True
        if infant and m.sex == "2" and 18 <= age <= 45 and rel[i] in (HEAD, SPOUSE, DAUGHTER) and b < 0.6:
            p.nursing = True
        if not p.lives_together and not p.clergy_apart_years and ages[head] >= 60:
            p.obligor_for = head  # an adult child living apart owes the parent support (赡养)


def _household_income(u: _Uniforms, members: Sequence[MemberLike], ages: list[int], persons: list[PersonFacts],
                      head: int, urban: bool) -> None:  # fmt: skip
    """Incomes of the household as a whole, booked on the head (or the first earner): eight draws."""
    a, b, c, d, e, f, g, h = u.take(8)
    earner = next((i for i, p in enumerate(persons) if p.wage), head)
    if a < (0.08 if urban else 0.07):
        persons[earner].business += int((600 + 2400 * b) if urban else (300 + 1500 * b))  # 个体经营, 种养殖
    if c < (0.04 if urban else 0.15):
        persons[head].property += int((300 + 700 * d) if urban else (20 + 150 * d))  # rent; 土地流转
    if not urban and e < 0.7:
        persons[head].transfer += 10 + int(60 * f)  # 耕地地力保护补贴
    if min(ages) >= 60 and g < 0.5:
        persons[head].support += 150 + int(600 * h)  # 子女赡养费


def _dibao(u: _Uniforms, members: Sequence[MemberLike], persons: list[PersonFacts], hh: HouseholdFacts,
           urban_rural: str) -> None:  # fmt: skip
    """Current 低保 and 特困 recipients among the poorer households (shaping only): four draws."""
    a, b, c, d = u.take(4)
    unit = [p for p in persons if p.lives_together]
    n = len(unit) or 1
    income = sum(p.counted() for p in unit)
    line = SHAPING_STANDARD[urban_rural] * n
    if len(persons) == 1 and members[0].labour_capacity == L_NONE and not persons[0].support and income < line \
            and a < 0.3:  # fmt: skip
        persons[0].tekun_recipient = True  # 特困供养 at home
        return
    if income < line and b < 0.6:
        hh.current_dibao = True
        hh.current_dibao_amount = max(30, int((line - income) * (0.8 + 0.2 * c)))
    elif line <= income < 1.3 * line and b < 0.2:
        hh.current_dibao = True  # in 渐退 after a member found work
        hh.current_dibao_amount = n * (50 + int(150 * c))
        hh.gradual_exit_months_used = int(6 * d)
    if hh.current_dibao:
        for p in unit:
            p.dibao_recipient = True


def _assets(u: _Uniforms, persons: list[PersonFacts], hh: HouseholdFacts, urban: bool) -> None:
    """Deposits, dwellings and cars, richer with the income: seven draws."""
    a, b, c, d, e, f, g = u.take(7)
    yearly = 12 * sum(p.counted() for p in persons if p.lives_together)
    hh.financial = int((15000 if urban else 8000) * a * a)
    if b < 0.10:
        hh.financial += int(yearly * (1.2 + 1.8 * g)) + 5000  # savings above a year or two of income
    if c < (0.36 if urban else 0.08):
        hh.houses = 0  # rents, lives with relatives or in public housing
    else:
        hh.houses = 1 + (d < (0.04 if urban else 0.08))
    hh.housing_area_m2 = hh.houses * int((35 + 65 * e) if urban else (60 + 100 * e))
    rich = yearly > 1.5 * 12 * SHAPING_STANDARD[URBAN if urban else RURAL] * max(1, len(persons))
    if f < (0.05 if urban else 0.03) + (0.10 if rich else 0.0):
        hh.vehicles = 1


def _rigid(u: _Uniforms, members: Sequence[MemberLike], ages: list[int], persons: list[PersonFacts],
           hh: HouseholdFacts, urban: bool) -> None:  # fmt: skip
    """Rigid spending of the last 12 months (REFERENCE §6.2): six draws a member, two for the household."""
    for m, age, p in zip(members, ages, persons, strict=True):
        medical, medical_u, school_u, rehab, rehab_u, living_u = u.take(6)
        grade = m.disability_grade or 9
        if m.serious_illness:
            hh.rigid_medical += 8000 + int(60000 * medical_u**2)  # out of pocket after insurance and assistance
        elif (age >= 60 or grade <= 4) and medical < 0.5:
            hh.rigid_medical += 300 + int(3000 * medical_u)
        if m.schooling in EDUCATION_YEARLY:
            base, spread = EDUCATION_YEARLY[m.schooling]
            hh.rigid_education += base + int(spread * school_u)
        if grade <= 3 and rehab < 0.4:
            hh.rigid_rehabilitation += 1000 + int(15000 * rehab_u**2)
        if p.lives_together:
            hh.rigid_living += int((5400 + 3600 * living_u) if urban else (3600 + 2400 * living_u))
    a, b = u.take(2)
    if a < 0.04:
        hh.rigid_other += 1000 + int(9000 * b)
