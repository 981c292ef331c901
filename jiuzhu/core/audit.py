"""Audit log writes and verification (SECURITY AUD-COVER, AUD-CHAIN).

``audit_record`` must be called inside the same transaction as the change it records (zulip's ``do_*`` habit):
if the change rolls back, so does its audit row. Appends are serialised by locking the chain-head row
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transactions serialise writers already)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import crypto
from .middleware import current_request_meta
from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
FIELDS = (
    "seq", "at", "actor_id", "actor_username", "actor_role", "actor_area", "action", "object_type",
    "object_id", "object_area", "result", "ip", "request_id", "detail",
)  # fmt: skip


def _canonical(ev: AuditEvent) -> bytes:
    d: dict[str, Any] = {f: getattr(ev, f) for f in FIELDS}
    d["at"] = ev.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_mac(ev: AuditEvent, prev_mac: str) -> str:
    return crypto.provider().audit_mac(prev_mac.encode() + b"|" + _canonical(ev))


def audit_record(
    *,
    action: str,
    actor: Any = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    object_area: str = "",
    result: str = "ok",
    detail: dict[str, Any] | None = None,
    username: str = "",
) -> AuditEvent:
    """Append one event. ``obj`` may be any model instance; its area is taken from ``area_code`` if present."""
    meta = current_request_meta()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_area = object_area or getattr(obj, "area_code", "") or ""
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        ev = AuditEvent(
            seq=head.last_seq + 1,
            at=timezone.now(),
            actor_id=getattr(actor, "pk", None) if actor is not None and getattr(actor, "pk", None) else None,
            actor_username=(getattr(actor, "username", "") or username)[:150],
            actor_role=getattr(actor, "role", "") or "",
            actor_area=getattr(actor, "area_id", "") or "",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            object_area=object_area,
            result=result,
            ip=meta.get("ip", ""),
            request_id=meta.get("request_id", ""),
            detail=detail or {},
            prev_mac=head.last_mac,
        )
        ev.mac = compute_mac(ev, head.last_mac)
        ev.save(force_insert=True)
        head.last_seq, head.last_mac = ev.seq, ev.mac
        head.save(update_fields=["last_seq", "last_mac"])
    return ev


@dataclass
class ChainProblem:
    seq: int | None
    kind: str
    message: str


def verify_chain(batch: int = 5000) -> list[ChainProblem]:
    """Walk the whole chain; return every problem found (empty list = intact)."""
    problems: list[ChainProblem] = []
    expected_seq = 1
    prev = GENESIS
    for ev in _iter_events(batch):
        if ev.seq != expected_seq:
            problems.append(ChainProblem(ev.seq, "gap", f"expected seq {expected_seq}, found {ev.seq}"))
        if ev.prev_mac != prev:
            problems.append(ChainProblem(ev.seq, "link", "prev_mac does not match the previous row"))
        if compute_mac(ev, ev.prev_mac) != ev.mac:
            problems.append(ChainProblem(ev.seq, "content", "row content does not match its MAC"))
        prev = ev.mac
        expected_seq = ev.seq + 1
    head = AuditChainHead.objects.filter(id=1).first()
    last_seq = expected_seq - 1
    if head is None:
        if last_seq:
            problems.append(ChainProblem(None, "head", "chain head row is missing"))
    elif head.last_seq != last_seq or head.last_mac != (prev if last_seq else head.last_mac):
        problems.append(
            ChainProblem(None, "head", f"chain head says seq {head.last_seq}, log ends at {last_seq} (truncated?)")
        )
    return problems


def _iter_events(batch: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = list(AuditEvent.objects.filter(seq__gt=last).order_by("seq")[:batch])
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
