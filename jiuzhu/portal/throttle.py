"""Per-address limits on the portal's forms (SECURITY: no account, so the address is all there is).

Each kind has a budget of counted requests in a sliding window. ``allow`` counts the request and says whether
it is within the budget; a refused request is not recorded, so a 429 stores nothing. The rows are in the
database (``PortalHit``) so that every worker process counts the same requests.

The address is ``REMOTE_ADDR``: behind a reverse proxy the deployment must make that the client's address
(docs/portal.md), otherwise every visitor shares the proxy's budget.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from .models import PortalHit


@dataclass(frozen=True)
class Limit:
    count: int
    window: dt.timedelta


DEFAULT_LIMITS: dict[str, Limit] = {
    "apply": Limit(5, dt.timedelta(hours=1)),  # applications created
    "report": Limit(5, dt.timedelta(hours=1)),  # hardship reports created
    "track": Limit(20, dt.timedelta(minutes=10)),  # lookups with a case number and code
    "form": Limit(30, dt.timedelta(hours=1)),  # every POST of a form that may carry files (incl. refused ones)
    "pdf": Limit(30, dt.timedelta(minutes=10)),  # publicity lists as PDF (rendering costs)
}
RETENTION = dt.timedelta(hours=2)  # longer than every window


def limit(kind: str) -> Limit:
    """``settings.PORTAL_LIMITS`` may override a budget: ``{"track": (20, 600)}`` (count, seconds)."""
    override = getattr(settings, "PORTAL_LIMITS", {}).get(kind)
    if override:
        return Limit(int(override[0]), dt.timedelta(seconds=int(override[1])))
    return DEFAULT_LIMITS[kind]


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "") or "")[:64]


def over(ip: str, kind: str, now: dt.datetime | None = None) -> bool:
    """Whether the address has used its budget already (without counting this request)."""
    now = now or timezone.now()
    lim = limit(kind)
    return PortalHit.objects.filter(ip=ip, kind=kind, at__gt=now - lim.window).count() >= lim.count


def record(ip: str, kind: str, now: dt.datetime | None = None) -> None:
    """Count one request; call inside the transaction of what it counts (a rolled-back case is not counted)."""
    now = now or timezone.now()
    PortalHit.objects.create(ip=ip, kind=kind, at=now)
    PortalHit.objects.filter(at__lt=now - RETENTION).delete()


def allow(ip: str, kind: str) -> bool:
    """Count this request if it is within the budget; False (nothing written) if it is not."""
    now = timezone.now()
    with transaction.atomic():
        if over(ip, kind, now):
            return False
        record(ip, kind, now)
    return True
