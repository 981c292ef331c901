"""Helpers shared by the resource routers: the error responses every operation documents, paging limits and
the scoped fetch (missing and out-of-area are the same 404)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Path

from jiuzhu.accounts import roles
from jiuzhu.core.scoping import get_scoped_or_404
from jiuzhu.registry.models import Household, Person

from ..schemas import ErrorOut, ValidationErrorOut

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_ID = 2**63 - 1
ObjectId = Path(..., ge=1, le=MAX_ID)
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 403: ErrorOut, 409: ErrorOut}


def user_of(request: HttpRequest) -> Any:
    return request.auth.user  # type: ignore[attr-defined]


def scoped_household(request: HttpRequest, pk: int) -> Household:
    return get_scoped_or_404(Household.objects.all(), user_of(request), roles.VIEW, pk=pk)


def scoped_person(request: HttpRequest, pk: int) -> Person:
    return get_scoped_or_404(Person.objects.select_related("household"), user_of(request), roles.VIEW, pk=pk)
