"""Concurrent generation on PostgreSQL, for real: threads with their own connections (SECURITY PAY-ONCE).

* Many officers generate the same month at the same moment: one run, each entitlement once, totals exact.
* An area's run and a township's run of the same month at the same moment: every household paid once.
* Two officers approve the same run at once: one approval; a maker racing their own approval never wins.
* Officers approve and reject the same recovery at once: one of them decides it, once; the maker never does.

Skipped on SQLite (it serialises writers and its in-memory test database takes no concurrent connections)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count

from jiuzhu.cases.tests.test_concurrency import race
from jiuzhu.core.models import AuditEvent
from jiuzhu.payments import adjustments, services
from jiuzhu.payments.models import Entitlement, PayrollLine, PayrollRun, Recovery
from jiuzhu.testing.fixtures import TOWN_A, make_user, villages

from .kit import MONTH, granted, sync

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises writers: no race to test"),
]
THREADS = 8


@pytest.fixture
def world(personas):
    vs = villages(TOWN_A)
    hs = [granted(personas.caseworker_a, vs[i % len(vs)]) for i in range(10)]
    sync()
    officers = [make_user(f"pay_{i}", "caseworker", TOWN_A) for i in range(THREADS)]
    return hs, officers


def test_same_month_generated_by_many_at_once_is_one_run(world):
    hs, officers = world
    results = race(*[(lambda o=o: services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=o,
                                                    chunk_size=3)) for o in officers])  # fmt: skip
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    assert len({r.pk for r in results}) == 1 and PayrollRun.objects.count() == 1
    run = PayrollRun.objects.get()
    assert run.status == "generated"
    assert run.lines.count() == len(hs) and run.lines.values("household").distinct().count() == len(hs)
    assert run.total_amount == sum(run.lines.values_list("amount", flat=True)) > Decimal("0")
    assert run.skips.count() == 0


def test_overlapping_areas_at_once_pay_each_household_once(world, personas):
    hs, officers = world
    calls = [lambda: services.generate(area_code=TOWN_A[:6], month=MONTH, programme="all", actor=personas.reviewer,
                                       chunk_size=2),
             lambda: services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=officers[0],
                                       chunk_size=2)]  # fmt: skip
    results = race(*calls)
    assert not [r for r in results if isinstance(r, Exception)], results
    dup = PayrollLine.objects.values("household", "month").annotate(n=Count("pk")).filter(n__gt=1)
    assert not dup.exists()
    assert PayrollLine.objects.count() == len(hs)
    for run in PayrollRun.objects.all():
        assert run.status == "generated"
        assert run.line_count + run.skips.count() == len(hs)  # every entitlement: a line here or a skip
        assert run.total_amount == sum(run.lines.values_list("amount", flat=True))


def test_concurrent_approvals_one_wins(world, personas):
    _, officers = world
    run = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=officers[0])
    results = race(*[(lambda o=o: services.approve(run.pk, o)) for o in [officers[0], *officers[1:4], personas.reviewer]])
    wins = [r for r in results if isinstance(r, PayrollRun)]
    assert len(wins) == 1 and wins[0].approved_by_id != officers[0].pk
    assert isinstance(results[0], services.Forbidden)


def test_concurrent_recovery_decisions_one_wins(world, personas):
    """A pending recovery (made directly: the race is about its row) approved by four officers and rejected by
    two at the same moment, the maker among the approvers: exactly one decision, audited once; the others are
    refused (stale, or no longer pending), the maker is forbidden. Then the same with each call's version read
    before the race: the winner's bump makes every other a ``Stale``."""
    _, officers = world
    maker = officers[0]

    def pending() -> Recovery:
        e = Entitlement.objects.filter(area_code__startswith=TOWN_A).order_by("pk")[Recovery.objects.count()]
        return Recovery.objects.create(entitlement=e, household_id=e.household_id, area_code=e.area_code,
                                       programme=e.programme, first_month=MONTH, last_month=MONTH,
                                       months=[{"month": f"{MONTH:%Y-%m}", "paid": "100.00", "due": "0.00", "over": "100.00"}],
                                       overpaid=Decimal("100.00"), total=Decimal("100.00"), reason="race", made_by=maker)  # fmt: skip

    for version in (None, 1):
        r = pending()
        calls = [lambda o=o, pk=r.pk, v=version: adjustments.approve_recovery(pk, o, version=v)
                 for o in [maker, *officers[1:3], personas.reviewer]]
        calls += [lambda o=o, pk=r.pk, v=version: adjustments.reject_recovery(pk, o, "不同意", version=v)
                  for o in officers[3:5]]
        results = race(*calls)
        wins = [x for x in results if isinstance(x, Recovery)]
        assert len(wins) == 1, results
        assert isinstance(results[0], services.Forbidden)
        losers = [x for x in results[1:] if not isinstance(x, Recovery)]
        assert all(isinstance(x, services.Stale if version else services.Refused) for x in losers), losers
        r.refresh_from_db()
        assert r.version == 2 and r.status == wins[0].status and r.status in ("open", "rejected")
        assert (r.approved_by_id or r.rejected_by_id) != maker.pk
        assert AuditEvent.objects.filter(object_type="payments.recovery", object_id=str(r.pk)).count() == 1


def test_reading_ahead_writes_what_reading_in_turn_writes(world, monkeypatch):
    """A large run reads the next chunk on a second connection while it writes this one: the lines, skips and
    totals are those of the same month generated chunk by chunk in turn (compared on two months)."""
    hs, officers = world
    from jiuzhu.registry.models import Household

    Household.objects.filter(pk=hs[-1].pk).update(bank_account_enc="", bank_account_bi="", bank_account_masked="")
    aside: list[int] = []
    read_aside = services._read_aside

    def counted(*a: Any, **kw: Any) -> Any:
        aside.append(1)
        return read_aside(*a, **kw)

    monkeypatch.setattr(services, "_read_aside", counted)
    monkeypatch.setattr(services, "PREFETCH_MIN", 0)
    ahead = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=officers[0], chunk_size=3)
    assert len(aside) >= 4  # every chunk after the first was read ahead
    monkeypatch.setattr(services, "PREFETCH_MIN", 10**9)
    later = MONTH.replace(month=MONTH.month + 1)
    in_turn = services.generate(area_code=TOWN_A, month=later, programme="dibao", actor=officers[0], chunk_size=3)
    assert len(aside) >= 4 and ahead.status == in_turn.status == "generated"

    def shape(run: PayrollRun) -> tuple[Any, ...]:
        lines = sorted(run.lines.values_list("entitlement_id", "amount", "engine_amount", "payee_name",
                                             "bank_account_masked"))  # fmt: skip
        skips = sorted(run.skips.values_list("entitlement_id", "reason"))
        return lines, skips, run.line_count, run.total_amount

    assert shape(ahead) == shape(in_turn)
    assert ahead.line_count == 9 and [r for _, r in shape(ahead)[1]] == ["no_account"]
