"""Test helpers for cases: registered households with incomes (so the engine can decide), and a driver that
performs a sequence of actions through the one service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from jiuzhu.cases import services
from jiuzhu.cases.models import Case
from jiuzhu.core import crypto
from jiuzhu.registry.models import Household, HouseholdEconomy, Person, PersonEconomy
from jiuzhu.registry.services import household_create
from jiuzhu.testing.fixtures import new_id

AS_OF = dt.date(2025, 12, 1)
_adult = 0


def registered_household(actor: Any, village: str, *, size: int = 2, wage: str = "200", financial: str = "1000",
                         vehicles: int = 0, name: str = "王大山") -> Household:  # fmt: skip
    """A household whose incomes and assets are registered: with the default wage it is poor enough for 低保. The
    head is an adult (a minor head is never posted on a board), the others of any age."""
    global _adult
    _adult += 1
    head = {"name": name, "id_number": new_id(birth=dt.date(1960, 1, 1) + dt.timedelta(days=_adult * 97 % 10000)),
            "relation": "02", "phone": "13800138000"}  # born 1960–1987
    others = [{"name": f"张{'一二三四五六'[i % 6]}", "id_number": new_id(), "relation": "30" if i % 2 else "10"}
              for i in range(size - 1)]  # fmt: skip
    h = household_create(actor=actor, area_code=village, urban_rural="rural", address="一组", bank_name="农村信用社",
                         bank_account="6228480402564890018", members=[head, *others])  # fmt: skip
    for i, p in enumerate(h.members.order_by("pk")):
        PersonEconomy.objects.create(person=p, area_code=p.area_code, as_of=AS_OF, source="declared",
                                     wage=Decimal(wage) if i == 0 else Decimal("0"))  # fmt: skip
    HouseholdEconomy.objects.create(household=h, area_code=h.area_code, as_of=AS_OF, source="declared",
                                    financial=Decimal(financial), houses=1, housing_area_m2=Decimal("60"),
                                    vehicles=vehicles)  # fmt: skip
    return h


def head_id(h: Household) -> str:
    head = h.members.order_by("pk").first()
    assert isinstance(head, Person)
    return crypto.decrypt(head.id_number_enc, context="person.id_number")


def act(actor: Any, case: Case, action: str, on: dt.date | None = None, **data: Any) -> Case:
    case.refresh_from_db()
    return services.perform(actor=actor, case_id=case.pk, action=action, version=case.version, data=data, on=on)


def signed(name: str = "王大山") -> list[tuple[str, str]]:
    return [("commitment", name), ("authorisation", name)]


def verifier() -> Any:
    """The county 核对 centre's account of the ``personas`` fixture."""
    from jiuzhu.accounts.models import User

    return User.objects.get(username="vf")
