"""How a run gets a source's records. Every source has one adapter, chosen by ``settings.VERIFICATION_SOURCES``
(``{"hrss": {"kind": "http", "url": …}, …}``; a source not named there is a file-drop source):

* ``StoredFeed`` — records already ingested from the source's file drops (``ingest.py``), read from the
  database by blind index.
* ``HttpSource`` (``http.py``) — asks the department's service at run time, with timeouts, retries and a
  circuit breaker; what comes back is stored like a file drop's records, so the run reads one shape.

An adapter raises ``SourceUnavailable`` when the source cannot answer; the run then records the source as
timed out or failed and finishes "incomplete", keeping the other sources' results.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from django.conf import settings

from .assess import Record
from .models import FeedRecord


class SourceUnavailable(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status  # timeout | error | open
        self.message = message


class Adapter(Protocol):
    source: str

    def fetch(self, persons: list[str], on: dt.date, *, context: dict[str, Any]) -> list[Record]: ...


def to_record(r: FeedRecord) -> Record:
    return Record(r.source, r.kind, r.person_bi, r.period, r.amount, r.quantity, r.category, r.event_date, r.ref)


class StoredFeed:
    def __init__(self, source: str):
        self.source = source

    def fetch(self, persons: list[str], on: dt.date, *, context: dict[str, Any]) -> list[Record]:
        qs = FeedRecord.objects.filter(source=self.source, person_bi__in=persons, period__lte=on).order_by("pk")
        return [to_record(r) for r in qs.only("source", "kind", "person_bi", "period", "amount", "quantity",
                                              "category", "event_date", "ref")]  # fmt: skip


def adapter_for(source: str) -> Adapter:
    conf = (getattr(settings, "VERIFICATION_SOURCES", None) or {}).get(source) or {}
    if conf.get("kind") == "http":
        from .http import HttpSource

        return HttpSource(source, conf)
    return StoredFeed(source)
