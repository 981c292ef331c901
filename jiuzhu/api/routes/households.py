"""``/households``: list, read, register, edit, reveal the bank account. Reads go through ``api.selectors`` and
``get_scoped_or_404``; writes through ``registry.services``, which check area and role again."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Status

from jiuzhu.registry import services

from .. import selectors
from ..present import Viewer, household_detail_out, household_out, person_out
from ..schemas import (
    TEXT_PATTERN,
    HouseholdCreateIn,
    HouseholdDetailOut,
    HouseholdPage,
    HouseholdPatchIn,
    HouseholdRevealIn,
    PersonCreateIn,
    PersonOut,
    RevealOut,
    changes,
)
from .common import DEFAULT_LIMIT, MAX_LIMIT, READ_ERRORS, WRITE_ERRORS, ObjectId, scoped_household, user_of

router = Router(tags=["households"])
Q_HELP = "ID number (exact), household number (prefix) or name (prefix; exact for roles that see masked names)"


def _detail(request: HttpRequest, household_id: int) -> dict:
    h = scoped_household(request, household_id)
    user = user_of(request)
    return household_detail_out(h, selectors.household_members(user, h), Viewer(user))


@router.get("", response={200: HouseholdPage, **READ_ERRORS}, summary="List households in your area")
def household_list(
    request: HttpRequest,
    q: str = Query("", max_length=40, pattern=TEXT_PATTERN, description=Q_HELP),
    village: str = Query("", pattern=r"^(\d{2,12})?$", description="Area code prefix"),
    status: Literal["active", "archived"] | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=10_000_000),
):
    user = user_of(request)
    qs = selectors.households(user, q=q, village=village, status=status or "")
    v = Viewer(user)
    items = [household_out(h, v) for h in qs[offset : offset + limit]]
    return {"count": qs.count(), "limit": limit, "offset": offset, "items": items}


@router.post("", response={201: HouseholdDetailOut, **WRITE_ERRORS}, summary="Register a household with members")
def household_create(request: HttpRequest, payload: HouseholdCreateIn):
    members = []
    for m in payload.members:
        data = m.model_dump(mode="json")
        if data.get("urban_rural") is None:
            data["urban_rural"] = payload.urban_rural
        members.append(data)
    h = services.household_create(
        actor=user_of(request), area_code=payload.area_code, urban_rural=payload.urban_rural,
        address=payload.address, bank_name=payload.bank_name, bank_account=payload.bank_account,
        members=members, reason=payload.reason, joined_on=payload.joined_on,
    )
    return Status(201, _detail(request, h.pk))


@router.get("/{household_id}", response={200: HouseholdDetailOut, **READ_ERRORS}, summary="One household with members")
def household_get(request: HttpRequest, household_id: int = ObjectId):
    return _detail(request, household_id)


@router.patch("/{household_id}", response={200: HouseholdDetailOut, **WRITE_ERRORS}, summary="Edit a household")
def household_patch(request: HttpRequest, payload: HouseholdPatchIn, household_id: int = ObjectId):
    h = scoped_household(request, household_id)
    services.household_update(
        actor=user_of(request), household=h, data=changes(payload), version=payload.version, reason=payload.reason
    )
    return _detail(request, household_id)


@router.post(
    "/{household_id}/persons", response={201: PersonOut, **WRITE_ERRORS}, summary="Add a person to a household"
)
def person_add(request: HttpRequest, payload: PersonCreateIn, household_id: int = ObjectId):
    h = scoped_household(request, household_id)
    data = payload.model_dump(mode="json", exclude={"reason", "joined_on"})
    if data.get("urban_rural") is None:
        data["urban_rural"] = h.urban_rural
    p = services.person_add(
        actor=user_of(request), household=h, data=data, reason=payload.reason, joined_on=payload.joined_on
    )
    p.refresh_from_db()
    return Status(201, person_out(p, Viewer(user_of(request))))


@router.post(
    "/{household_id}/reveal", response={200: RevealOut, **WRITE_ERRORS}, summary="Show the full bank account (audited)"
)
def household_reveal(request: HttpRequest, payload: HouseholdRevealIn, household_id: int = ObjectId):
    h = scoped_household(request, household_id)
    value = services.sensitive_reveal(actor=user_of(request), obj=h, field=payload.field, reason=payload.reason)
    return {"field": payload.field, "value": value}

