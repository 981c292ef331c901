"""A synthetic low-income population (低收入人口) for demos, tests and benchmarks.

``PopulationModel`` is pure: given a ``Plan`` (villages, retired address codes, other counties) and a seed it
yields ``SynthHousehold`` records with plaintext members — the same seed and plan give the same records, byte
for byte. ``generate`` builds the plan from the division table, encrypts the protected fields (``seal``) and
writes everything straight to the database (``load``): COPY on PostgreSQL, ``bulk_create`` elsewhere.

What is modelled (rates are documented in docs/synthetic-data.md): household structures (single elderly,
elderly couples, couples with and without children, three generations, grandparents with grandchildren,
single parents, single adults), ages and sex, names (surnames by frequency, 1–2 character given names by
birth cohort, a few compound surnames and minority names with ``·``), GB 11643 ID numbers with the county's
code — older people often carry a retired predecessor code (612401 for 汉滨区, 610928/612429 for 旬阳市) —,
relation codes (GB/T 4761 top level), disability (GB/T 26341 category, grade 1–4), serious illness with a
diagnosis, schooling, labour capacity and self-care by age and health, mobile phones, one bank account per
household, urban/rural from the village's NBS class, and the economic facts the policy engine reads — monthly
incomes per member, situations, assets, rigid spending, current 低保 (``economy.synth_economy``; annual totals by
source: ``synth_income``)."""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from jiuzhu.core import idnumber
from jiuzhu.registry.models import (
    DisabilityCategory,
    LabourCapacity,
    Relation,
    Schooling,
    SelfCare,
    UrbanRural,
)

from . import names as N
from .economy import Economy, Income, MemberLike, synth_economy

# The population is generated as of this date (ages, schooling); fixed so that a seed means the same data on
# any day. Override with ``--as-of``.
AS_OF = dt.date(2026, 1, 1)

# Plain ``str`` codes (enum members would be adapted by name, not value, by some drivers).
HEAD, SPOUSE, SON, DAUGHTER = Relation.HEAD.value, Relation.SPOUSE.value, Relation.SON.value, Relation.DAUGHTER.value
GRANDCHILD, PARENT, SIBLING = Relation.GRANDCHILD.value, Relation.PARENT.value, Relation.SIBLING.value
URBAN, RURAL = UrbanRural.URBAN.value, UrbanRural.RURAL.value
L_FULL, L_PARTIAL, L_NONE = LabourCapacity.FULL.value, LabourCapacity.PARTIAL.value, LabourCapacity.NONE.value
C_FULL, C_PARTIAL, C_NONE = SelfCare.FULL.value, SelfCare.PARTIAL.value, SelfCare.NONE.value
S = Schooling

# Household structures and their shares (percent) among registered low-income households.
KINDS: tuple[tuple[str, float], ...] = (
    ("single_elderly", 22),  # 独居老人 60+
    ("single_adult", 5),  # 单身（多为大龄未婚或残疾），偶有同住兄弟姐妹
    ("elderly_couple", 15),  # 老年夫妻
    ("couple", 7),  # 中年夫妻，子女已分户
    ("couple_children", 25),  # 夫妻与子女
    ("three_generation", 15),  # 三代同堂
    ("skipped_generation", 3),  # 祖孙户（父母外出）
    ("single_parent", 8),  # 单亲与子女
)
# Disability prevalence by age band (upper bound inclusive), before the household-kind factor.
DISABILITY_BY_AGE = ((14, 0.015), (59, 0.048), (79, 0.100), (200, 0.180))
DISABILITY_CATEGORIES = (("1", 14.9), ("2", 24.2), ("3", 1.5), ("4", 29.1), ("5", 6.7), ("6", 7.4), ("7", 16.3))
DISABILITY_GRADES = ((1, 10), (2, 16), (3, 30), (4, 44))
ILLNESS_BY_AGE = ((17, 0.007), (59, 0.026), (79, 0.057), (200, 0.077))
DIAGNOSES_ADULT = (
    "恶性肿瘤", "尿毒症", "慢性肾功能衰竭", "脑卒中后遗症", "肝硬化失代偿期", "冠心病（心功能III级）",
    "系统性红斑狼疮", "再生障碍性贫血", "帕金森病", "重症肌无力", "耐多药肺结核", "白血病",
)  # fmt: skip
DIAGNOSES_CHILD = ("先天性心脏病", "儿童白血病", "血友病", "苯丙酮尿症", "儿童孤独症", "唇腭裂")
PHONE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "173", "177", "180", "181", "182", "183", "184", "185", "186", "187",
    "188", "189", "191", "198", "199",
)  # fmt: skip
# (bank, card BIN, weight rural, weight urban)
BANKS = (
    ("农村信用社", "623059", 42, 14),
    ("中国邮政储蓄银行", "621799", 26, 20),
    ("中国农业银行", "622848", 22, 20),
    ("中国建设银行", "621700", 4, 18),
    ("中国工商银行", "622202", 3, 15),
    ("中国银行", "621661", 3, 8),
    ("长安银行", "621448", 0, 5),
)
GROUP_NUMERALS = "一二三四五六七八九十"
REGISTERED_FROM = dt.date(2016, 1, 1)


# --- records -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class SynthPerson:
    name: str
    id_number: str
    sex: str  # "1" male, "2" female — as in the ID number
    birth_date: dt.date
    relation: str
    phone: str = ""
    hukou_area_code: str = ""
    residence_area_code: str = ""
    urban_rural: str = RURAL
    disability_category: str = ""
    disability_grade: int | None = None
    serious_illness: bool = False
    diagnosis: str = ""
    schooling: str = S.NONE.value
    labour_capacity: str = L_FULL
    self_care: str = C_FULL
    joined_on: dt.date | None = None


@dataclass(slots=True)
class SynthHousehold:
    household_no: str
    area_code: str
    urban_rural: str
    kind: str
    address: str
    bank_name: str
    bank_account: str
    registered_on: dt.date
    members: list[SynthPerson]
    income: Income = field(default_factory=Income)
    economy: Economy = field(default_factory=Economy)

    @property
    def county(self) -> str:
        return self.area_code[:6]

    @property
    def head(self) -> SynthPerson:
        return next(m for m in self.members if m.relation == HEAD)


@dataclass(frozen=True, slots=True)
class Village:
    code: str
    name: str
    urban: bool
    weight: float = 1.0


@dataclass
class Plan:
    """What the model needs to know about the world: target villages (in a fixed order) and, per county, the
    retired address codes its older residents may carry (oldest first) and the other counties to which some
    working-age people have moved (residence elsewhere)."""

    villages: list[Village]
    predecessors: dict[str, list[tuple[str, dt.date]]] = field(default_factory=dict)
    elsewhere: list[str] = field(default_factory=list)
    start_seq: dict[str, int] = field(default_factory=dict)  # last household_no sequence in use per village


# --- income ------------------------------------------------------------------------------------------------


def synth_income(
    *, seed: int, household_no: str, urban_rural: str, members: Sequence[MemberLike], as_of: dt.date = AS_OF
) -> Income:
    """Deterministic annual incomes for a synthetic household: 12 × the monthly amounts of ``synth_economy``. A
    function of (seed, household number, urban/rural, the members' stored facts), so it works on ``SynthPerson``
    records and on stored ``registry.Person`` rows alike."""
    return synth_economy(seed=seed, household_no=household_no, urban_rural=urban_rural, members=members,
                         as_of=as_of).income()  # fmt: skip


# --- the model ---------------------------------------------------------------------------------------------


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


def _band(table: Sequence[tuple[int, float]], age: int) -> float:
    for upper, rate in table:
        if age <= upper:
            return rate
    return table[-1][1]


class PopulationModel:
    """Yields households one by one from a single seeded generator; the order of draws is the contract that
    makes a seed reproducible, so change it only together with the documented rates."""

    def __init__(
        self, plan: Plan, *, seed: int, as_of: dt.date = AS_OF, is_taken: Any = None, disability_scale: float = 1.0
    ):
        if not plan.villages:
            raise ValueError("the plan has no villages")
        self.plan = plan
        self.seed = seed
        self.as_of = as_of
        self.rng = random.Random(f"jiuzhu-synth/{seed}")
        self.r = self.rng.random
        self.is_taken = is_taken  # callable(id_number) -> bool for numbers already in the database
        self.disability_scale = disability_scale
        self._as_of_ord = as_of.toordinal()
        self._village_cum = _cumulative([v.weight for v in plan.villages])
        self._kind_cum = _cumulative([w for _, w in KINDS])
        self._surname_cum = _cumulative([w for _, w in N.SURNAMES])
        self._dis_cat_cum = _cumulative([w for _, w in DISABILITY_CATEGORIES])
        self._dis_grade_cum = _cumulative([w for _, w in DISABILITY_GRADES])
        self._bank_cum = {
            True: _cumulative([b[3] for b in BANKS]),
            False: _cumulative([b[2] for b in BANKS]),
        }
        self._seq = dict(plan.start_seq)
        self._ids: dict[tuple[str, int, str], list[Any]] = {}  # (code, birth ordinal, sex) -> [offset, used, prefix, sum]
        self._reg_span = max(1, self._as_of_ord - 30 - REGISTERED_FROM.toordinal())

    # -- small draws --
    def _pick(self, cum: list[float]) -> int:
        return bisect.bisect_right(cum, self.r() * cum[-1])

    def _birth(self, age: float) -> dt.date:
        """Born ``age`` years (fractional) before the as-of date; always before it."""
        return dt.date.fromordinal(self._as_of_ord - 1 - int(age * 365.2425))

    def _surname(self) -> str:
        if self.r() < N.COMPOUND_RATE:
            return N.COMPOUND_SURNAMES[int(self.r() * len(N.COMPOUND_SURNAMES))]
        return N.SURNAMES[self._pick(self._surname_cum)][0]

    def _given(self, sex: str, birth_year: int) -> str:
        r = self.r
        i = 0
        while birth_year > N.COHORTS[i][0]:
            i += 1
        pool = N.COHORTS[i][1] if sex == "1" else N.COHORTS[i][2]
        a = pool[int(r() * len(pool))]
        x = r()
        if x < N.SINGLE_CHAR_RATE[i]:
            return a
        if sex == "2" and x < N.SINGLE_CHAR_RATE[i] + N.DOUBLED_RATE[i]:
            return a + a
        b = pool[int(r() * len(pool))]
        while b == a:
            b = pool[int(r() * len(pool))]
        return a + b

    def _minority_given(self, sex: str) -> str:
        pool = N.MINORITY_MALE if sex == "1" else N.MINORITY_FEMALE
        return pool[int(self.r() * len(pool))]

    # -- identity --
    def _address_code(self, county: str, birth: dt.date) -> str:
        for code, valid_to in self.plan.predecessors.get(county, ()):
            years = valid_to.year - birth.year
            if years > 0 and self.r() < min(0.8, years / 40):
                return code
        return county

    def _id_number(self, county: str, birth: dt.date, sex: str) -> tuple[str, dt.date]:
        """A number unique within this run (and, with ``is_taken``, the database): per (code, birth date, sex)
        the sequence numbers are handed out from a random start; a full day moves the birth date one day back."""
        code = self._address_code(county, birth)
        odd = 1 if sex == "1" else 2
        while True:
            key = (code, birth.toordinal(), sex)
            slot = self._ids.get(key)
            if slot is None:
                prefix = f"{code}{birth:%Y%m%d}"
                partial = sum(int(c) * w for c, w in zip(prefix, idnumber.WEIGHTS, strict=False))
                slot = self._ids[key] = [int(self.r() * 499), 0, prefix, partial]
            while slot[1] < 499:
                seq = 2 * ((slot[0] + slot[1]) % 499) + odd
                slot[1] += 1
                d1, d2, d3 = seq // 100, seq // 10 % 10, seq % 10
                value = f"{slot[2]}{seq:03d}{idnumber.CHECK_MAP[(slot[3] + 8 * d1 + 4 * d2 + 2 * d3) % 11]}"
                if self.is_taken is None or not self.is_taken(value):
                    return value, birth
            birth -= dt.timedelta(days=1)  # all 499 numbers of that day are used: one day earlier

    # -- one person --
    def _person(
        self, hh: SynthHousehold, relation: str, sex: str, birth: dt.date, name: str, *, disability_factor: float = 1.0
    ) -> SynthPerson:
        r = self.r
        county = hh.area_code[:6]
        number, birth = self._id_number(county, birth, sex)
        years = idnumber.age_on(birth, self.as_of)
        p = SynthPerson(name=name, id_number=number, sex=sex, birth_date=birth, relation=relation,
                        hukou_area_code=hh.area_code, residence_area_code=hh.area_code, urban_rural=hh.urban_rural)
        # disability and serious illness
        if r() < _band(DISABILITY_BY_AGE, years) * disability_factor * self.disability_scale:
            p.disability_category = DISABILITY_CATEGORIES[self._pick(self._dis_cat_cum)][0]
            grade = DISABILITY_GRADES[self._pick(self._dis_grade_cum)][0]
            if p.disability_category == DisabilityCategory.MULTIPLE.value and grade > 1 and r() < 0.4:
                grade -= 1
            p.disability_grade = grade
        if r() < _band(ILLNESS_BY_AGE, years):
            p.serious_illness = True
            pool = DIAGNOSES_CHILD if years < 18 else DIAGNOSES_ADULT
            p.diagnosis = pool[int(r() * len(pool))]
        grade = p.disability_grade or 9
        severe = grade <= 2
        # schooling
        x = r()
        if 3 <= years <= 24 and not (severe and x < 0.5):
            if years <= 5:
                p.schooling = S.PRESCHOOL.value if x < 0.85 else S.NONE.value
            elif years <= 11:
                p.schooling = S.PRIMARY.value if x < 0.99 else S.NONE.value
            elif years <= 14:
                p.schooling = S.JUNIOR.value if x < 0.97 else S.NONE.value
            elif years <= 17:
                p.schooling = S.SENIOR.value if x < 0.75 else S.NONE.value
            elif years <= 21:
                p.schooling = S.TERTIARY.value if x < 0.30 else S.NONE.value
            else:
                p.schooling = (S.TERTIARY.value if x < 0.05 else S.POSTGRADUATE.value if x < 0.07 else S.NONE.value)
        # labour capacity (minors and pupils: none; 60+ declining; disability and illness reduce it)
        y = r()
        if years < 16 or p.schooling != S.NONE.value:
            labour = L_NONE
        elif years < 60:
            labour = L_FULL
        elif years < 70:
            labour = L_FULL if y < 0.35 else L_PARTIAL if y < 0.80 else L_NONE
        else:
            labour = L_PARTIAL if y < 0.30 else L_NONE
        if labour != L_NONE:
            if severe:
                labour = L_NONE
            elif grade == 3 and y < 0.6 or grade == 4 and y < 0.3:
                labour = L_PARTIAL
            if p.serious_illness:
                labour = L_NONE if y < 0.4 else L_PARTIAL
        p.labour_capacity = labour
        # self-care
        z = r()
        care = C_FULL
        if grade == 1:
            care = C_NONE if z < 0.5 else C_PARTIAL if z < 0.9 else C_FULL
        elif grade == 2:
            care = C_NONE if z < 0.1 else C_PARTIAL if z < 0.6 else C_FULL
        elif grade == 3 and z < 0.15:
            care = C_PARTIAL
        if care == C_FULL:
            if years >= 80:
                care = C_NONE if z > 0.92 else C_PARTIAL if z > 0.67 else C_FULL
            elif years >= 70:
                care = C_NONE if z > 0.98 else C_PARTIAL if z > 0.88 else C_FULL
            if care == C_FULL and p.serious_illness and z < 0.4:
                care = C_PARTIAL if z < 0.3 else C_NONE
        p.self_care = care
        # phone
        w = r()
        if (18 <= years < 75 and w < 0.92) or (years >= 75 and w < 0.55) or (16 <= years < 18 and w < 0.3):
            p.phone = PHONE_PREFIXES[int(r() * len(PHONE_PREFIXES))] + f"{int(r() * 100_000_000):08d}"
        # working away: living in another county
        if 18 <= years <= 50 and self.plan.elsewhere and r() < 0.03:
            code = self.plan.elsewhere[int(r() * len(self.plan.elsewhere))]
            if code != county:
                p.residence_area_code = code
        p.joined_on = max(hh.registered_on, birth)
        return p

    def _child_age(self, mother_age: float, low: float = 0.0, high: float = 24.0) -> float:
        """A child's age: the mother was 20–38 at the birth, and the child is ``low``–``high`` years old."""
        lo, hi = max(low, mother_age - 38), min(high, mother_age - 20)
        if hi <= lo:  # a very young or old mother: stay within the bounds anyway
            lo, hi = low, min(high, low + 3)
        return lo + self.r() * (hi - lo)

    def _at_least(self, age: float, floor: float) -> float:
        """``age``, or just above ``floor`` (spread over two years, so no birth date piles up at the bound)."""
        return age if age >= floor else floor + self.r() * 2

    def _child_sex(self) -> str:
        return "1" if self.r() < 0.52 else "2"

    def _elder_age(self) -> float:
        x = self.r()
        return 60 + self.r() * 10 if x < 0.35 else 70 + self.r() * 10 if x < 0.75 else 80 + self.r() * 16

    # -- one household --
    def household(self) -> SynthHousehold:
        r = self.r
        v = self.plan.villages[self._pick(self._village_cum)]
        seq = self._seq.get(v.code, 0) + 1
        self._seq[v.code] = seq
        urban = v.urban
        bank = BANKS[self._pick(self._bank_cum[urban])]
        body = f"{bank[1]}{int(r() * 1e12):012d}"
        account = body + _luhn(body)
        if urban:
            address = f"{v.name}{1 + int(r() * 30)}号楼{1 + int(r() * 4)}单元{1 + int(r() * 18)}0{1 + int(r() * 4)}室"
        else:
            address = f"{v.name}{GROUP_NUMERALS[int(r() * 8)]}组{1 + int(r() * 120)}号"
        registered = dt.date.fromordinal(REGISTERED_FROM.toordinal() + int(r() * self._reg_span))
        kind = KINDS[self._pick(self._kind_cum)][0]
        hh = SynthHousehold(household_no=f"H{v.code}{seq:05d}", area_code=v.code, urban_rural=URBAN if urban else RURAL,
                            kind=kind, address=address, bank_name=bank[0], bank_account=account,
                            registered_on=registered, members=[])
        minority = r() < N.MINORITY_RATE
        getattr(self, f"_k_{kind}")(hh, minority)
        hh.economy = synth_economy(seed=self.seed, household_no=hh.household_no, urban_rural=hh.urban_rural,
                                   members=hh.members, as_of=self.as_of)
        hh.income = hh.economy.income()
        return hh

    def households(self, n: int) -> Iterator[SynthHousehold]:
        for _ in range(n):
            yield self.household()

    def _add(self, hh: SynthHousehold, relation: str, sex: str, age: float, family: str, minority: bool,
             father: str = "", **kw: Any) -> SynthPerson:  # fmt: skip
        """Add a member aged ``age`` with the family name ``family``; in a minority family the name is the own
        name · the father's name (``father``, or a drawn one). No two members share a name."""
        birth = self._birth(age)
        taken = {m.name for m in hh.members}
        for _ in range(6):
            if minority:
                dad = father or self._minority_given("1")
                own = self._minority_given(sex)
                name = own + "·" + dad
                if own == dad:
                    continue
            else:
                name = family + self._given(sex, birth.year)
            if name not in taken:
                break
        p = self._person(hh, relation, sex, birth, name, **kw)
        hh.members.append(p)
        return p

    @staticmethod
    def _own(p: SynthPerson) -> str:
        return p.name.split("·")[0]

    def _k_single_elderly(self, hh: SynthHousehold, minority: bool) -> None:
        self._add(hh, HEAD, "2" if self.r() < 0.55 else "1", self._elder_age(), self._surname(), minority)

    def _k_single_adult(self, hh: SynthHousehold, minority: bool) -> None:
        sex = "1" if self.r() < 0.65 else "2"
        surname = self._surname()
        head = self._add(hh, HEAD, sex, 25 + self.r() * 35, surname, minority, disability_factor=3.0)
        if self.r() < 0.2:
            age = idnumber.age_on(head.birth_date, self.as_of) + (self.r() - 0.5) * 16
            self._add(hh, SIBLING, self._child_sex(), self._at_least(age, 18.0), surname, minority, disability_factor=3.0)

    def _couple(self, hh: SynthHousehold, minority: bool, husband_age: float, *, wife_head: float = 0.08
                ) -> tuple[SynthPerson, SynthPerson, str]:  # fmt: skip
        surname = self._surname()
        wife_age = self._at_least(husband_age - self.r() * 6, 20.0)
        if self.r() < wife_head:
            wife = self._add(hh, HEAD, "2", wife_age, self._surname(), minority)
            husband = self._add(hh, SPOUSE, "1", husband_age, surname, minority)
        else:
            husband = self._add(hh, HEAD, "1", husband_age, surname, minority)
            wife = self._add(hh, SPOUSE, "2", wife_age, self._surname(), minority)
        return husband, wife, surname

    def _children(self, hh: SynthHousehold, minority: bool, mother_age: float, surname: str, father: str,
                  relation_son: str = SON, relation_daughter: str = DAUGHTER, high: float = 24.0,
                  counts: tuple[float, float] = (0.40, 0.85)) -> None:  # fmt: skip
        x = self.r()
        n = 1 if x < counts[0] else 2 if x < counts[1] else 3
        for _ in range(n):
            sex = self._child_sex()
            rel = relation_son if sex == "1" else relation_daughter
            self._add(hh, rel, sex, self._child_age(mother_age, 0.0, high), surname, minority, father=father)

    def _k_elderly_couple(self, hh: SynthHousehold, minority: bool) -> None:
        self._couple(hh, minority, self._elder_age() + 2, wife_head=0.10)

    def _k_couple(self, hh: SynthHousehold, minority: bool) -> None:
        self._couple(hh, minority, 40 + self.r() * 20)

    def _k_couple_children(self, hh: SynthHousehold, minority: bool) -> None:
        husband, wife, surname = self._couple(hh, minority, 26 + self.r() * 30)
        mother_age = idnumber.age_on(wife.birth_date, self.as_of) + 0.5
        self._children(hh, minority, mother_age, surname, self._own(husband))

    def _k_three_generation(self, hh: SynthHousehold, minority: bool) -> None:
        r = self.r
        if r() < 0.55:  # head is the middle generation, living with parent(s) and children
            husband, wife, surname = self._couple(hh, minority, 30 + r() * 25, wife_head=0.05)
            h_age = idnumber.age_on(husband.birth_date, self.as_of)
            father_age = h_age + 22 + r() * 13
            if r() < 0.55:
                self._add(hh, PARENT, "1", father_age, surname, minority)
                self._add(hh, PARENT, "2", self._at_least(father_age - r() * 5, h_age + 20.0), self._surname(), minority)
            elif r() < 0.7:
                self._add(hh, PARENT, "2", father_age - r() * 3, self._surname(), minority)  # widowed mother
            else:
                self._add(hh, PARENT, "1", father_age, surname, minority)
            mother_age = idnumber.age_on(wife.birth_date, self.as_of) + 0.5
            self._children(hh, minority, mother_age, surname, self._own(husband), high=22.0)
            return
        # head is the elder, living with a married child, the child's spouse and grandchildren
        elder_age = 55 + r() * 27
        if r() < 0.7:
            elder, _, surname = self._couple(hh, minority, elder_age, wife_head=0.03)
        else:  # widowed
            elder = self._add(hh, HEAD, "2" if r() < 0.7 else "1", elder_age, self._surname(), minority)
            surname = self._surname_of(elder) if elder.sex == "1" else self._surname()
        child_age = self._child_age(elder_age - 2, 22.0, 50.0)
        if r() < 0.8:  # son and daughter-in-law (儿媳 belongs to the 3x group of GB/T 4761)
            son = self._add(hh, SON, "1", child_age, surname, minority, father=self._own(elder))
            in_law = self._add(hh, DAUGHTER, "2", self._at_least(child_age - r() * 5, 20.0), self._surname(), minority)
            mother, father, family = in_law, son, surname
        else:  # daughter and son-in-law (女婿 belongs to the 2x group)
            daughter = self._add(hh, DAUGHTER, "2", child_age, surname, minority, father=self._own(elder))
            son_in_law = self._add(hh, SON, "1", child_age + r() * 4, self._surname(), minority)
            mother, father = daughter, son_in_law
            family = self._surname_of(son_in_law) if r() < 0.8 else surname  # 入赘: some children take her name
        mother_age = idnumber.age_on(mother.birth_date, self.as_of) + 0.5
        self._children(hh, minority, mother_age, family, self._own(father), GRANDCHILD, GRANDCHILD, high=22.0)

    def _k_skipped_generation(self, hh: SynthHousehold, minority: bool) -> None:
        r = self.r
        if r() < 0.6:  # grandparents; paternal in most cases
            grandpa, _, surname = self._couple(hh, minority, 56 + r() * 26, wife_head=0.05)
            if r() < 0.2:
                surname = self._surname()
        else:  # a grandmother alone
            self._add(hh, HEAD, "2", 55 + r() * 27, self._surname(), minority)
            surname = self._surname()
        father = self._minority_given("1") if minority else ""
        n = 1 if r() < 0.55 else 2 if r() < 0.9 else 3
        for _ in range(n):
            self._add(hh, GRANDCHILD, self._child_sex(), 2 + r() * 14, surname, minority, father=father)

    def _k_single_parent(self, hh: SynthHousehold, minority: bool) -> None:
        r = self.r
        sex = "2" if r() < 0.65 else "1"
        parent_age = 25 + r() * 30
        parent = self._add(hh, HEAD, sex, parent_age, self._surname(), minority)
        if sex == "1":
            surname, father = self._surname_of(parent), self._own(parent)
        else:
            surname = self._surname_of(parent) if r() < 0.2 else self._surname()
            father = self._minority_given("1") if minority else ""
        self._children(hh, minority, parent_age if sex == "2" else parent_age - 3, surname, father,
                       high=22.0, counts=(0.6, 1.0))

    @staticmethod
    def _surname_of(p: SynthPerson) -> str:
        if "·" in p.name:
            return p.name.split("·")[0]
        return p.name[:2] if p.name[:2] in N.COMPOUND_SURNAMES else p.name[0]


_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _luhn(body: str) -> str:
    """Check digit for a card number (the digits right-to-left from the body's last are doubled first)."""
    total = sum(_LUHN_DOUBLE[int(c)] for c in body[::-1][::2]) + sum(int(c) for c in body[::-1][1::2])
    return str((10 - total % 10) % 10)
