"""Registry households as policy-engine input: one dict per household in the JSON shape of docs/policy-input.md.

Two queries whatever the number of households — the households with their ``HouseholdEconomy`` row, and their
current members with their ``PersonEconomy`` row. 20,000 households must take well under two seconds, so the rows
are read as value tuples (no model instances), the database formats the amounts (all of a row's amounts in one
text column, "4380.00|0.00|…": a ``Decimal`` per value in Python would cost more than everything else), packs
the yes/no facts into one integer and gives dates as ISO text, so Django has no value to convert. Amounts are strings in yuan with two decimals, as the contract writes them. No
protected value (ID number, phone, account) is read: member ids are the person's primary key.

A household or member without its economy row is given zeros and the contract's defaults, and the household
dict carries ``"facts": "missing"`` so a caller can say the result rests on unknown incomes. The engine does not
accept that key: drop the household, or the key, before evaluating."""

from __future__ import annotations

import datetime as dt
import functools
import gc
import operator
from typing import Any

from django.db.models import CharField, F, Func, IntegerField, Q, QuerySet
from django.db.models.functions import Cast

from .models import INCOME_FIELDS, PERSON_FLAGS, RIGID_FIELDS, Household, Person

# GB/T 4761 relation codes by their first digit (02 户主, 1x 配偶, 2x 子 incl. 女婿, 3x 女 incl. 儿媳, 4x 孙子女,
# 5x 父母, 6x 祖父母, 7x 兄弟姐妹, 8x 其他亲属, 9x 非亲属): the relation to the applicant, who is the head.
RELATION = {"0": "applicant", "1": "spouse", "2": "child", "3": "child", "4": "grandchild", "5": "parent",
            "6": "grandparent", "7": "sibling", "8": "other_relative", "9": "non_relative"}  # fmt: skip
# A household whose head is no longer a member on the day (died, left) until 户主变更 is recorded: its first
# member in the order above (the spouse, else the eldest child…) is evaluated as the applicant, so the
# household's support does not stop for want of a registry correction.
DISABILITY = {"1": "visual", "2": "hearing", "3": "speech", "4": "limb", "5": "intellectual", "6": "mental",
              "7": "multiple"}  # fmt: skip
# six-item self-care indicators not achieved, when only the registry's three-level self_care is known
# (REFERENCE §4.3: 0 full, 1–3 partial, 4–6 none)
SELF_CARE_FAILED = {"full": 0, "partial": 2, "none": 5}
MISSING = "missing"
ZERO = "0.00"

HOUSEHOLD_AMOUNTS = ("financial", "housing_area_m2", *RIGID_FIELDS, "current_dibao_amount")
PERSON_BOOLS = ("lives_together", "dependent", *PERSON_FLAGS)
RIGID_KEYS = tuple(f.removeprefix("rigid_") for f in RIGID_FIELDS)


class _Amounts(Func):
    """Amounts as one text column, each with two decimals, joined by ``|``."""

    output_field = CharField()
    template = "CONCAT_WS('|', CAST(%(expressions)s AS CHAR(24)))"
    arg_joiner = " AS CHAR(24)), CAST("

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        fmt = "|".join(["%%%%.2f"] * len(self.source_expressions))  # %% twice: template, then the parameters
        return self.as_sql(compiler, connection, template=f"printf('{fmt}', %(expressions)s)", arg_joiner=", ",
                           **extra)  # fmt: skip

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # numeric(p, 2) as text keeps its two places
        return self.as_sql(compiler, connection, template="concat_ws('|', %(expressions)s::text)",
                           arg_joiner="::text, ", **extra)  # fmt: skip


class _IsoDate(Func):
    """A date as ``YYYY-MM-DD`` text (SQLite stores it so)."""

    output_field = CharField()
    template = "CAST(%(expressions)s AS CHAR(10))"

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="to_char(%(expressions)s, 'YYYY-MM-DD')", **extra)


def _int(field: str) -> Cast:
    return Cast(F(field), IntegerField())


def _bits(fields: tuple[str, ...]) -> Any:
    """The yes/no fields as one integer, bit i = fields[i]."""
    terms = [_int(f) * (1 << i) for i, f in enumerate(fields)]
    return functools.reduce(operator.add, terms)


@functools.cache
def _flags(mask: int) -> tuple[bool, bool, dict[str, bool]]:
    """lives_together, dependent and the ``flags`` of a PERSON_BOOLS mask."""
    bits = [bool(mask >> i & 1) for i in range(len(PERSON_BOOLS))]
    return bits[0], bits[1], dict(zip(PERSON_FLAGS, bits[2:], strict=True))


_HOUSEHOLD_COLS = ("pk", "household_no", "area_code", "urban_rural", "economy__id", "economy__houses",
                   "economy__vehicles", "dibao", "economy__gradual_exit_months_used", "amounts")  # fmt: skip
_PERSON_COLS = ("household_id", "pk", "relation", "birth", "sex", "schooling", "disability_category",
                "disability_grade", "ill", "labour_capacity", "self_care", "economy__id", "amounts",
                "bools", "economy__clergy_apart_years", "economy__self_care_failed", "economy__parent1_status",
                "economy__parent2_status", "economy__obligor_for_id")  # fmt: skip
_NO_FLAGS = dict.fromkeys(PERSON_FLAGS, False)
_NO_INCOME = dict.fromkeys(INCOME_FIELDS, ZERO)


def household_inputs(households: QuerySet[Household], *, on: dt.date) -> list[dict[str, Any]]:
    """The engine input of every household in ``households`` (in its order), with the members current on ``on``:
    in the household now and not dead before ``on``. Two queries."""
    # Hundreds of thousands of small dicts, none in a cycle: the cyclic collector would only rescan them again
    # and again (a quarter of the time), so it waits until they are built.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _inputs(households, on)
    finally:
        if collecting:
            gc.enable()


def _inputs(households: QuerySet[Household], on: dt.date) -> list[dict[str, Any]]:
    rows = list(
        households.annotate(amounts=_Amounts(*(f"economy__{f}" for f in HOUSEHOLD_AMOUNTS)),
                            dibao=_int("economy__current_dibao"))
        .values_list(*_HOUSEHOLD_COLS)
    )  # fmt: skip
    members: dict[int, list[dict[str, Any]]] = {row[0]: [] for row in rows}
    complete = dict.fromkeys(members, True)
    persons = (
        Person.objects.filter(household__in=households.values("pk"))
        .filter(Q(death_date__isnull=True) | Q(death_date__gte=on), birth_date__lte=on)  # members on that day
        .order_by("household_id", "relation", "birth_date", "pk")
        .annotate(birth=_IsoDate("birth_date"), ill=_int("serious_illness"),
                  amounts=_Amounts(*(f"economy__{f}" for f in INCOME_FIELDS)),
                  bools=_bits(tuple(f"economy__{f}" for f in PERSON_BOOLS)))  # fmt: skip
        .values_list(*_PERSON_COLS)
    )
    obligors: list[tuple[dict[str, Any], int, int]] = []
    adult_from = f"{on.year - 18:04d}-{on:%m-%d}"  # born after this: under 18 on the date (ISO text compares so)
    for p in persons.iterator(chunk_size=2000):
        m = _member(p, adult_from)
        if p[11] is None:
            complete[p[0]] = False
        elif p[-1] is not None:
            obligors.append((m, p[0], p[-1]))
        members[p[0]].append(m)
    for m, hid, target in obligors:  # a supporter points at a current member of the same household only
        if any(o["id"] == str(target) for o in members[hid]):
            m["obligor_for"] = str(target)
    for ms in members.values():  # the head died or left before 户主变更 was recorded: the first member stands in
        if ms and not any(m["relation"] == "applicant" for m in ms):
            ms[0]["relation"] = "applicant"
    return [_household(row, members[row[0]], complete[row[0]]) for row in rows]


def household_input(household: Household, on: dt.date) -> dict[str, Any]:
    """The engine input of one household."""
    return household_inputs(Household.objects.filter(pk=household.pk), on=on)[0]


def _household(row: tuple[Any, ...], members: list[dict[str, Any]], complete: bool) -> dict[str, Any]:
    _, number, area, urban_rural, econ, houses, vehicles, dibao, exit_months, amounts = row
    if econ is None:
        financial = area_m2 = dibao_amount = ZERO
        rigid = [ZERO] * len(RIGID_KEYS)
    else:
        financial, area_m2, *rigid, dibao_amount = amounts.split("|")
    out: dict[str, Any] = {
        "id": number,
        "area": area,
        "urban_rural": urban_rural,
        "assets": {"financial": financial, "houses": houses or 0, "housing_area_m2": area_m2, "vehicles": vehicles or 0},
        "rigid_expenditure_12m": dict(zip(RIGID_KEYS, rigid, strict=True)),
        "current": {"dibao": bool(dibao), "dibao_amount": dibao_amount, "gradual_exit_months_used": exit_months or 0},
        "members": members,
    }
    if econ is None or not complete:
        out["facts"] = MISSING
    return out


def _member(p: tuple[Any, ...], adult_from: str) -> dict[str, Any]:
    (_, pk, relation, birth, sex, schooling, category, grade, ill, labour, self_care, econ, amounts, bools, clergy,
     failed, parent1, parent2, _) = p  # fmt: skip
    if econ is None:
        lives_together, dependent, flags = True, False, _NO_FLAGS
    else:
        lives_together, dependent, flags = _flags(bools)
    m: dict[str, Any] = {
        "id": str(pk),
        "relation": RELATION.get(relation[:1], "other_relative"),
        "birth_date": birth,
        "sex": sex,
        "lives_together": lives_together,
        "dependent": dependent,
        "schooling": schooling,
    }
    if category:
        m["disability"] = {"category": DISABILITY[category], "grade": grade} if grade else {"category": DISABILITY[category]}
    m["serious_illness"] = bool(ill)
    m["self_care_failed"] = SELF_CARE_FAILED.get(self_care, 0) if econ is None else failed
    m["labour_capacity"] = labour
    m["flags"] = {"clergy_apart_years": clergy or 0, **flags}
    if econ is None:
        m["income"] = dict(_NO_INCOME)
        return m
    if parent1 != "ok" or parent2 != "ok" or birth > adult_from:  # the contract asks it for a child
        m["parents"] = [parent1, parent2]
    m["income"] = dict(zip(INCOME_FIELDS, amounts.split("|"), strict=True))
    return m
