"""The one enforcement point for area scoping (SECURITY AC-IDOR).

Every model that belongs to an area stores the area's code in ``area_code`` (12-digit village code for
households and persons). A user assigned to division code ``C`` sees exactly the rows whose ``area_code``
starts with ``C`` — the subtree — and only for actions their role allows. Views, the API, search and export
all fetch through ``Model.objects.restrict(user, action)``; ``get_scoped_or_404`` makes an object outside the
area indistinguishable from a missing one."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.http import Http404

from jiuzhu.accounts.roles import role_has

M = TypeVar("M", bound=models.Model)


def user_area_prefix(user: Any) -> str | None:
    """None means: sees nothing (anonymous, inactive, or no area)."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return None
    code = getattr(user, "area_id", None)
    return code or None


def can(user: Any, action: str) -> bool:
    return user_area_prefix(user) is not None and role_has(getattr(user, "role", ""), action)


def area_visible(user: Any, area_code: str, action: str = "view") -> bool:
    """The oracle in plain Python: used by tests and by non-queryset checks."""
    prefix = user_area_prefix(user)
    return prefix is not None and role_has(user.role, action) and (area_code or "").startswith(prefix)


class AreaScopedQuerySet(models.QuerySet[M]):
    area_field = "area_code"

    def restrict(self, user: Any, action: str = "view") -> AreaScopedQuerySet[M]:
        prefix = user_area_prefix(user)
        if prefix is None or not role_has(user.role, action):
            return self.none()
        return self.filter(**{f"{self.area_field}__startswith": prefix})


def get_scoped_or_404(qs: models.QuerySet[M], user: Any, action: str = "view", **lookup: Any) -> M:
    scoped = qs.restrict(user, action)  # type: ignore[attr-defined]
    try:
        return scoped.get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
