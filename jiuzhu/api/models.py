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


class IdempotentAnswer(models.Model):
    """SECURITY PAY-ONCE: the first successful answer to a POST that carried an ``Idempotency-Key``, kept so that
    the same key with the same body gets that answer again byte for byte — even after the object changed since
    (a run approved meanwhile) — and the same key with another body is refused (409) even when the first request
    created nothing (it found the live run another request had made). Keys are the client's: one per user and
    endpoint. The body is kept as the JSON text it was (jsonb would reorder its keys)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=64)
    key = models.CharField(max_length=64)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["user", "endpoint", "key"], name="api_idempotent_answer_key")]
