"""Small registries with recorded incomes, for previews."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from jiuzhu.registry.models import Household, HouseholdEconomy, Person, PersonEconomy
from jiuzhu.registry.services import household_create
from jiuzhu.testing.fixtures import COUNTY, TOWN_A, new_id, villages

ON = dt.date(2026, 1, 1)  # the rural 低保 standard of 安康市 then: 610.00 (L)


def single(actor, village: str, wage: str, name: str, *, as_of: dt.date = ON) -> Household:  # type: ignore[no-untyped-def]
    """A one-person rural household: a 46-year-old with a monthly wage and nothing else."""
    h = household_create(actor=actor, area_code=village, urban_rural="rural", address="一组", bank_name="",
                         bank_account="", members=[{"name": name, "relation": "02",
                                                    "id_number": new_id(COUNTY, dt.date(1980, 5, 1))}])  # fmt: skip
    HouseholdEconomy.objects.create(household=h, area_code=h.area_code, as_of=as_of)
    for p in Person.objects.filter(household=h):
        PersonEconomy.objects.create(person=p, area_code=p.area_code, as_of=as_of, wage=Decimal(wage))
    return h


def three(actor) -> dict[str, Household]:  # type: ignore[no-untyped-def]
    """Raising the rural standard from 610 to 700: ``newly`` becomes eligible, ``more`` gets more, ``none`` stays
    out."""
    v = villages(TOWN_A)[0]
    return {"newly": single(actor, v, "650.00", "李新增"), "more": single(actor, v, "300.00", "王增加"),
            "none": single(actor, v, "3000.00", "赵不变")}  # fmt: skip
