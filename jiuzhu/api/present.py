"""Model → response dict, with the role's field-level view applied (SECURITY AC-FIELD).

Only the stored masked forms are read (``*_masked``); nothing here decrypts. Names are masked unless the role
has ``view_names``. The full birth date is given only to roles that may reveal the ID number anyway, since the
birth date plus the masked ID and the 户籍 county narrows the ID number down to a handful of candidates."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from jiuzhu.accounts import roles
from jiuzhu.core import idnumber
from jiuzhu.core.masking import mask_name
from jiuzhu.registry.models import Household, Person


class Viewer:
    """What the requesting user may see, worked out once per request."""

    def __init__(self, user: Any):
        self.user = user
        self.full_names = roles.role_has(user.role, roles.VIEW_NAMES)
        self.birth_dates = roles.role_has(user.role, roles.REVEAL)
        self.today = timezone.localdate()

    def name(self, value: str) -> str:
        return value if self.full_names else mask_name(value)


def person_out(p: Person, v: Viewer) -> dict[str, Any]:
    hh = p.household if p.household_id else None
    return {
        "id": p.pk, "household_id": p.household_id, "household_no": hh.household_no if hh else "",
        "area_code": p.area_code, "name": v.name(p.name), "id_number_masked": p.id_number_masked, "sex": p.sex,
        "age": idnumber.age_on(p.birth_date, v.today),
        "birth_date": p.birth_date if v.birth_dates else None,
        "relation": p.relation, "phone_masked": p.phone_masked, "hukou_area_code": p.hukou_area_code,
        "residence_area_code": p.residence_area_code, "urban_rural": p.urban_rural,
        "disability_category": p.disability_category, "disability_grade": p.disability_grade,
        "serious_illness": p.serious_illness, "schooling": p.schooling, "labour_capacity": p.labour_capacity,
        "self_care": p.self_care, "death_date": p.death_date, "version": p.version, "updated_at": p.updated_at,
    }  # fmt: skip


def household_out(h: Household, v: Viewer) -> dict[str, Any]:
    return {
        "id": h.pk, "household_no": h.household_no, "area_code": h.area_code, "address": h.address,
        "urban_rural": h.urban_rural, "hukou_area_code": h.hukou_area_code, "head_name": v.name(h.head_name),
        "member_count": h.member_count, "bank_name": h.bank_name, "bank_account_masked": h.bank_account_masked,
        "status": h.status, "version": h.version, "created_at": h.created_at, "updated_at": h.updated_at,
    }  # fmt: skip


def household_detail_out(h: Household, members: list[Person], v: Viewer) -> dict[str, Any]:
    out = household_out(h, v)
    out["members"] = [person_out(p, v) for p in members]
    return out
