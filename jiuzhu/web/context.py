from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from jiuzhu.accounts import roles


def site(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    perms = roles.ROLE_PERMISSIONS.get(getattr(user, "role", ""), frozenset()) if user and user.is_authenticated else frozenset()
    return {"DEMO_MODE": settings.DEMO_MODE, "user_perms": perms}
