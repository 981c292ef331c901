"""Scoped reads for the API, on top of ``registry.selectors`` (every query starts from
``Model.objects.restrict(user, action)``, SECURITY AC-IDOR).

``q`` is an ID number (exact, through the blind index; 15-digit numbers are converted), a household number
(households only) or a name. Names match by prefix for roles that see full names. Roles that see masked
names only get exact name matches, so a prefix search cannot spell out a masked name one character at a
time (the result count would be the oracle)."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Q, QuerySet

from jiuzhu.accounts import roles
from jiuzhu.core import crypto, idnumber
from jiuzhu.registry.models import Household, Person
from jiuzhu.registry.selectors import household_search

_ID_LIKE = re.compile(r"^(\d{17}[\dX]|\d{15})$")
_HOUSEHOLD_NO = re.compile(r"^H\d+$")


def households(user: Any, *, q: str = "", village: str = "", status: str = "") -> QuerySet[Household]:
    # the registry selector already limits roles with masked names to exact name matches
    return household_search(user, q=q, village=village, status=status).order_by("household_no", "pk")


def _person_match(user: Any, q: str) -> Q | None:
    """A filter on Person for ``q``; None when ``q`` can match nothing."""
    norm = idnumber.normalise(q)
    if _ID_LIKE.match(norm):
        try:
            value = idnumber.parse(norm).value
        except idnumber.InvalidIdNumber:
            return None
        return Q(id_number_bi=crypto.blind_index(value, purpose="id_number"))
    if roles.role_has(user.role, roles.VIEW_NAMES):
        return Q(name__startswith=q)
    return Q(name=q)


def persons(user: Any, *, q: str = "", village: str = "", household_id: int | None = None) -> QuerySet[Person]:
    qs = Person.objects.restrict(user, roles.VIEW).select_related("household")
    if village:
        qs = qs.filter(area_code__startswith=village)
    if household_id is not None:
        qs = qs.filter(household_id=household_id)
    q = (q or "").strip()
    if q:
        match = _person_match(user, q)
        if match is None:
            return qs.none()
        qs = qs.filter(match)
    return qs.order_by("household__household_no", "relation", "birth_date", "pk")


def household_members(user: Any, household: Household) -> list[Person]:
    return list(
        Person.objects.restrict(user, roles.VIEW).filter(household=household).select_related("household")
        .order_by("relation", "birth_date", "pk")
    )
