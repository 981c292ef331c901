"""API bearer tokens (SECURITY AUTH-SESS for machine clients).

Only an HMAC-SM3 of the token is stored (``core.crypto.blind_index`` with purpose ``api_token``), so a copy of
the database does not yield usable tokens. A token dies when it expires, when it is revoked (``DELETE
/api/v1/auth/token``) and — checked on every request — when its user is disabled, changes or has reset the
password, or is re-enabled after a disable (``tokens.token_user_ok``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    key_hash = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(db_index=True)
    last_used = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)
    ip = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["user", "expires"])]

    def __str__(self) -> str:
        return f"api token {self.pk} of user {self.user_id}"
