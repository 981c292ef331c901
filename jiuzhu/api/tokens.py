"""Issue, check and revoke API bearer tokens. The plaintext token is shown once, at issue; the database keeps
only its HMAC (``blind_index(token, purpose="api_token")``)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from jiuzhu.core.audit import audit_record
from jiuzhu.core.crypto import blind_index

from .models import ApiToken

PURPOSE = "api_token"
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)  # do not write a row on every request


def token_hash(token: str) -> str:
    return blind_index(token, purpose=PURPOSE)


@transaction.atomic
def token_issue(*, user: Any, ip: str = "") -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        key_hash=token_hash(token), user=user, ip=ip[:64],
        expires=timezone.now() + dt.timedelta(hours=settings.API_TOKEN_HOURS),
    )
    audit_record(action="api.token.issue", actor=user, object_type="api.apitoken", object_id=row.pk)
    return token, row


@transaction.atomic
def token_revoke(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked__isnull=True).update(revoked=timezone.now())
    audit_record(action="api.token.revoke", actor=token.user, object_type="api.apitoken", object_id=token.pk)


def token_user_ok(row: ApiToken) -> bool:
    """The user is active and nothing happened since the token was issued that ends sessions: a password
    change or reset, or a disable followed by a re-enable (so old tokens do not come back to life)."""
    user = row.user
    if not user.is_active or user.must_change_password:
        return False
    for stamp in (user.password_changed_at, getattr(user, "enabled_at", None)):
        if stamp is not None and stamp > row.created:
            return False
    return True


def token_lookup(token: str) -> ApiToken | None:
    """The live token row for ``token``, or None (unknown, expired, revoked, or the user is disabled)."""
    if not token or len(token) > 200:
        return None
    now = timezone.now()
    row = (
        ApiToken.objects.select_related("user", "user__area")
        .filter(key_hash=token_hash(token), revoked__isnull=True, expires__gt=now)
        .first()
    )
    if row is None or not token_user_ok(row):
        return None
    if row.last_used is None or now - row.last_used > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used=now)
        row.last_used = now
    return row


class BearerAuth(HttpBearer):
    """``Authorization: Bearer <token>``; the only way to authenticate to /api/v1 (a session cookie is ignored,
    so cross-site requests cannot ride on a logged-in browser and no CSRF token is needed)."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        row = token_lookup(token.strip())
        if row is None:
            return None
        request.user = row.user  # whatever the session said, the token decides
        return row
