"""Two officers at once, for real: threads with their own database connections on PostgreSQL.

* Two different actions on the same case with the same version: exactly one wins, the other gets ``Stale`` (or
  ``Refused``), one new transition, the state matches the winner, the audit chain stays intact.
* Two reserve fund appends on the same township: the (township, seq) constraint lets one through first; the other
  gets ``Stale`` and succeeds on retry; seq and balances stay a chain and the final balance is the sum.

Left alone, the threads rarely overlap (each step takes milliseconds), so the tests hold the window open: an
action's handler pauses while it holds the case's row lock, and both appends have read the ledger before either
writes (``both_read_then_write``) — the interleavings that lose updates when the locking is wrong.

Skipped on SQLite: it serialises writers (IMMEDIATE transactions) and its in-memory test database cannot take
concurrent connections, so there is no race to see; the version check itself is covered there by
``test_workflow.test_stale_version_is_refused_and_nothing_written``."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from jiuzhu.accounts.roles import Role
from jiuzhu.cases import services
from jiuzhu.cases.models import Case, Instalment, MaterialNotice, ReserveEntry, Transition
from jiuzhu.core.audit import verify_chain
from jiuzhu.core.models import AuditEvent
from jiuzhu.testing.fixtures import TOWN_A, make_user, villages

from .kit import signed

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises writers: no race to test"),
]
ROUNDS = 4


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment, one thread (and connection) each; each result is the return value or the
    exception raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = calls[i]()
        except Exception as e:  # noqa: BLE001 - the result under test
            results[i] = e
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung (lock never released?)"
    return results


def slow(handler: Callable[[Any], None]) -> Callable[[Any], None]:
    def run(ctx: Any) -> None:
        time.sleep(0.2)  # holding the case's row lock: the other officer's request arrives meanwhile
        handler(ctx)

    return run


@contextlib.contextmanager
def both_read_then_write(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """While active, ``ReserveEntry.objects.create`` waits until two threads are about to insert: both have read
    the ledger's last entry (balance and seq) before either writes."""
    barrier = threading.Barrier(2, timeout=10)
    create = ReserveEntry.objects.create

    def waiting_create(**kw: Any) -> ReserveEntry:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return create(**kw)

    monkeypatch.setattr(ReserveEntry.objects, "create", waiting_create)
    try:
        yield
    finally:
        monkeypatch.setattr(ReserveEntry.objects, "create", create)


def test_two_officers_different_actions_same_version(personas, monkeypatch):
    cw1, cw2 = personas.caseworker_a, make_user("cw_a2", Role.CASEWORKER, TOWN_A)
    for key in ("accept", "request_materials"):
        monkeypatch.setitem(services.HANDLERS, key, slow(services.HANDLERS[key]))
    for _ in range(ROUNDS):
        case, _code = services.intake(actor=cw1, programme="dibao", channel="window", area_code=villages(TOWN_A)[0],
                                      applicant_name="王大山", signatures=signed())  # fmt: skip
        v = case.version
        audits = AuditEvent.objects.count()
        accept, materials = race(
            lambda: services.perform(actor=cw1, case_id=case.pk, action="accept", version=v),  # noqa: B023
            lambda: services.perform(actor=cw2, case_id=case.pk, action="request_materials", version=v,  # noqa: B023
                                     data={"items": ["income_statement"]}),
        )  # fmt: skip
        ok = [r for r in (accept, materials) if isinstance(r, Case)]
        lost = [r for r in (accept, materials) if not isinstance(r, Case)]
        assert len(ok) == 1 and len(lost) == 1, (accept, materials)
        assert isinstance(lost[0], services.Stale | services.Refused), repr(lost[0])
        case.refresh_from_db()
        won = "accept" if isinstance(accept, Case) else "request_materials"
        # one new transition, the state and records of the winner only, the version moved once
        assert list(Transition.objects.filter(case=case).values_list("action", flat=True)) == ["create", won]
        assert case.version == v + 1 and case.accepted_on is not None
        assert case.state == ("accepted" if won == "accept" else "awaiting_materials")
        assert MaterialNotice.objects.filter(case=case).count() == (won == "request_materials")
        assert case.owner == (cw1 if won == "accept" else cw2)
        assert AuditEvent.objects.count() == audits + 1
    assert verify_chain() == []


def _append(amount: str, actor: Any) -> Callable[[], Any]:
    def call() -> Any:
        return services.reserve_append(township=TOWN_A, kind="topup", amount=Decimal(amount),
                                       on=services.timezone.localdate(), actor=actor, note=f"并发{amount}")  # fmt: skip

    return call


def _check_ledger(township: str) -> Decimal:
    rows = list(ReserveEntry.objects.filter(township_code=township).order_by("seq"))
    balance = Decimal("0.00")
    for i, e in enumerate(rows, start=1):
        assert e.seq == i, [r.seq for r in rows]
        balance += e.amount
        assert e.balance == balance, (e.seq, e.amount, e.balance)
    return balance


def test_two_reserve_appends_on_the_same_township(personas, monkeypatch):
    rv = personas.reviewer
    services.reserve_append(township=TOWN_A, kind="topup", amount=Decimal("1000.00"), on=services.timezone.localdate(),
                            actor=rv)  # fmt: skip
    amounts = ["100.00", "250.50"]
    retried = 0
    for i in range(ROUNDS):
        with both_read_then_write(monkeypatch) if i % 2 == 0 else contextlib.nullcontext():
            results = race(*[_append(a, rv) for a in amounts])
        if i % 2 == 0:  # both read seq N: exactly one may write N + 1
            assert sum(isinstance(r, services.Stale) for r in results) == 1, results
        for a, r in zip(amounts, results, strict=True):
            if isinstance(r, services.Stale):  # lost the race for the next seq: nothing written, retry
                retried += 1
                r = _append(a, rv)()
            assert isinstance(r, ReserveEntry), repr(r)
    final = _check_ledger(TOWN_A)
    assert ReserveEntry.objects.filter(township_code=TOWN_A).count() == 1 + ROUNDS * len(amounts)
    assert final == Decimal("1000.00") + ROUNDS * sum(Decimal(a) for a in amounts)
    assert services.reserve_balance(TOWN_A) == final
    assert retried >= ROUNDS // 2


def test_two_advance_payments_from_the_same_reserve(personas, monkeypatch):
    """先行救助 on two cases of one township at once: each payment is in its case's transaction, so the one that
    loses the ledger race rolls back whole (no transition, no instalment, no entry) and succeeds on retry."""
    cw1, cw2 = personas.caseworker_a, make_user("cw_a2", Role.CASEWORKER, TOWN_A)
    services.reserve_append(township=TOWN_A, kind="topup", amount=Decimal("5000.00"), on=services.timezone.localdate(),
                            actor=personas.reviewer)  # fmt: skip
    paid = Decimal("0.00")
    for _ in range(ROUNDS):
        cases = [services.intake(actor=cw1, programme="temporary", channel="window", area_code=villages(TOWN_A)[i],
                                 applicant_name="王大山", temp_type="emergency", temp_tier=1)[0] for i in (0, 1)]  # fmt: skip
        with both_read_then_write(monkeypatch):
            results = race(*[
                (lambda c=c, a=a: services.perform(actor=a, case_id=c.pk, action="advance_pay", version=c.version,
                                                   data={"amount": "300.00"}))
                for c, a in zip(cases, (cw1, cw2), strict=True)])  # fmt: skip
        assert sum(isinstance(r, Case) for r in results) == 1, results
        for c, a, r in zip(cases, (cw1, cw2), results, strict=True):
            if not isinstance(r, Case):
                assert isinstance(r, services.Stale), repr(r)
                c.refresh_from_db()
                assert c.state == "received" and not Instalment.objects.filter(case=c).exists()
                assert not ReserveEntry.objects.filter(case=c).exists() and c.transitions.count() == 1
                r = services.perform(actor=a, case_id=c.pk, action="advance_pay", version=c.version,
                                     data={"amount": "300.00"})  # fmt: skip
            assert r.state == "advance_paid"
            paid += Decimal("300.00")
            assert ReserveEntry.objects.filter(case=c).count() == 1 and Instalment.objects.filter(case=c).count() == 1
    assert _check_ledger(TOWN_A) == Decimal("5000.00") - paid
    assert verify_chain() == []
