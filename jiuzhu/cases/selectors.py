"""Reads of cases shared by the pages and the commands. The caller scopes the queryset (``restrict`` for a user,
an area prefix for ``jiuzhu deadlines``); nothing here widens it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from . import deadlines
from .procedures import OPEN_STATES, STATES

MAX_ITEMS = 2000
MAX_SOON_DAYS = 30


def due_items(qs: Any, today: dt.date, soon_days: int = 3) -> list[dict[str, Any]]:
    """Open deadlines of open cases that are overdue or due within ``soon_days`` calendar days (0–30), earliest
    first: ``{"d": Deadline, "case", "status", "officer", "state"}`` — ``officer`` is the case's current owner
    (display name), ``status`` overdue or due_soon."""
    soon_days = max(0, min(soon_days, MAX_SOON_DAYS))
    horizon = today + dt.timedelta(days=soon_days)
    items = (qs.filter(met_on__isnull=True, due_on__isnull=False, due_on__lte=horizon,
                       case__state__in=list(OPEN_STATES))
             .select_related("case", "case__owner").order_by("due_on", "case_id", "pk"))  # fmt: skip
    return [{"d": d, "case": d.case, "status": deadlines.status(d, today, soon_days),
             "officer": d.case.owner.display_name if d.case.owner else _("（未分配）"),
             "state": STATES.get(d.case.state, d.case.state)} for d in items[:MAX_ITEMS]]  # fmt: skip
