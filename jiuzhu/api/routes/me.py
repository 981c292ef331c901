"""``/me``: who the token belongs to and what the role may do."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from jiuzhu.accounts.roles import ROLE_PERMISSIONS, Role

from ..schemas import ErrorOut, MeOut

router = Router(tags=["me"])


@router.get("", response={200: MeOut, 401: ErrorOut}, summary="The current user")
def me(request: HttpRequest):
    token = request.auth  # type: ignore[attr-defined]
    user = token.user
    return {
        "id": user.pk, "username": user.username, "full_name": user.full_name, "role": user.role,
        "role_label": str(Role(user.role).label) if user.role in Role.values else user.role,
        "area_code": user.area_id or "", "area_name": user.area.name if user.area_id else "",
        "permissions": sorted(ROLE_PERMISSIONS.get(user.role, frozenset())), "token_expires_at": token.expires,
    }  # fmt: skip
