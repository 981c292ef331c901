"""The public portal's own rows: the per-address throttle, the one-time form tokens already used (so a refresh
or a double click does not create a second case) and the contact of someone who reported a household in
difficulty. Applications, attachments and their history are ``cases`` rows; nothing here duplicates them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PortalHit(models.Model):
    """One row per counted request from an address (``REMOTE_ADDR``), for the per-IP limits (``throttle``).

    In the database, not the per-process cache, so every worker process counts the same requests (the
    approach of ``accounts.LoginAttempt``). Rows older than the longest window are deleted as new ones arrive."""

    ip = models.CharField(max_length=64)
    kind = models.CharField(max_length=16)  # apply | report | track | form | pdf
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["ip", "kind", "at"], name="portal_hit_ip_kind_at")]


class PortalSubmission(models.Model):
    """A one-time form token that has produced a case. Written in the transaction that creates the case: the
    unique constraint makes a second submission of the same form (refresh, double click, two tabs) fail
    instead of creating a second case. Only the case number is kept (never the tracking code)."""

    nonce = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16)  # apply | report
    case_no = models.CharField(max_length=32)
    at = models.DateTimeField(db_index=True)


class HardshipReport(models.Model):
    """Who reported a household in difficulty (求助/线索) on the portal, for the township to call back. The
    phone number is encrypted like every other phone number; the case itself carries the person in need."""

    class Relation(models.TextChoices):
        SELF = "self", _("本人")
        RELATIVE = "relative", _("亲属")
        NEIGHBOUR = "neighbour", _("邻居")
        OTHER = "other", _("其他")

    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="portal_report")
    reporter_name = models.CharField(max_length=64, blank=True, default="")
    relation = models.CharField(max_length=16, choices=Relation.choices, default=Relation.OTHER)
    reporter_phone_enc = models.TextField(blank=True, default="")
    reporter_phone_masked = models.CharField(max_length=20, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)
