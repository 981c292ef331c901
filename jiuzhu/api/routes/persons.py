"""``/persons``: list, read, edit, reveal a protected field (ID number, phone, diagnosis; audited)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from jiuzhu.registry import services

from .. import selectors
from ..present import Viewer, person_out
from ..schemas import TEXT_PATTERN, PersonOut, PersonPage, PersonPatchIn, PersonRevealIn, RevealOut, changes
from .common import (
    DEFAULT_LIMIT,
    MAX_ID,
    MAX_LIMIT,
    READ_ERRORS,
    WRITE_ERRORS,
    ObjectId,
    scoped_person,
    user_of,
)

router = Router(tags=["persons"])
Q_HELP = "ID number (exact) or name (prefix; exact for roles that see masked names)"


@router.get("", response={200: PersonPage, **READ_ERRORS}, summary="List persons in your area")
def person_list(
    request: HttpRequest,
    q: str = Query("", max_length=40, pattern=TEXT_PATTERN, description=Q_HELP),
    village: str = Query("", pattern=r"^(\d{2,12})?$", description="Area code prefix"),
    household_id: int | None = Query(None, ge=1, le=MAX_ID),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=10_000_000),
):
    user = user_of(request)
    qs = selectors.persons(user, q=q, village=village, household_id=household_id)
    v = Viewer(user)
    items = [person_out(p, v) for p in qs[offset : offset + limit]]
    return {"count": qs.count(), "limit": limit, "offset": offset, "items": items}


@router.get("/{person_id}", response={200: PersonOut, **READ_ERRORS}, summary="One person")
def person_get(request: HttpRequest, person_id: int = ObjectId):
    return person_out(scoped_person(request, person_id), Viewer(user_of(request)))


@router.patch("/{person_id}", response={200: PersonOut, **WRITE_ERRORS}, summary="Edit a person")
def person_patch(request: HttpRequest, payload: PersonPatchIn, person_id: int = ObjectId):
    p = scoped_person(request, person_id)
    services.person_update(
        actor=user_of(request), person=p, data=changes(payload), version=payload.version, reason=payload.reason
    )
    return person_out(scoped_person(request, person_id), Viewer(user_of(request)))


@router.post("/{person_id}/reveal", response={200: RevealOut, **WRITE_ERRORS}, summary="Show one protected field (audited)")
def person_reveal(request: HttpRequest, payload: PersonRevealIn, person_id: int = ObjectId):
    p = scoped_person(request, person_id)
    value = services.sensitive_reveal(actor=user_of(request), obj=p, field=payload.field, reason=payload.reason)
    return {"field": payload.field, "value": value}
