"""``payments.lifecycle``: the months an entitlement pays after 动态管理 changes it, as the payroll reads them
(``services.in_scope`` and ``generate``): a stop from next month, a 渐退 of N months, suspend and resume, an
amount change, a new recipient — each audited, versioned, and never paying a month more than it should."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jiuzhu.core.models import AuditEvent
from jiuzhu.payments import lifecycle, services
from jiuzhu.payments.models import Entitlement
from jiuzhu.registry.models import HouseholdEconomy
from jiuzhu.testing.fixtures import TOWN_A, villages

from .kit import MONTH, entitlement_of, granted, sync

pytestmark = pytest.mark.django_db


def months_paid(e: Entitlement, upto: int = 30) -> list[dt.date]:
    return [m for m in (lifecycle.add_months(MONTH, i) for i in range(upto))
            if services.in_scope(TOWN_A, m, e.programme).filter(pk=e.pk).exists()]  # fmt: skip


@pytest.fixture
def ent(personas):
    h = granted(personas.caseworker_a, villages(TOWN_A)[0])
    sync()
    return entitlement_of(h)


def test_stop_from_next_month(personas, ent):
    cw = personas.caseworker_a
    e = lifecycle.stop_from(ent, dt.date(2026, 4, 17), actor=cw, reason="不再符合条件")
    assert (e.status, e.end_month, e.version) == ("stopped", dt.date(2026, 3, 1), 2)
    assert months_paid(e) == [MONTH, dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    # a later stop never pays more months; an earlier one shortens
    assert lifecycle.stop_from(e, dt.date(2026, 6, 1), actor=cw, reason="x").end_month == dt.date(2026, 3, 1)
    e = lifecycle.stop_from(e, dt.date(2026, 2, 1), actor=cw, reason="x")
    assert months_paid(e) == [MONTH]
    # stopped before its first month: nothing paid
    e = lifecycle.stop_from(e, MONTH, actor=cw, reason="x")
    assert e.end_month is None and months_paid(e) == []
    assert AuditEvent.objects.filter(action="entitlement.stopped").count() == 3


def test_gradual_exit_pays_n_months_then_stops(personas, ent):
    e = lifecycle.start_gradual_exit(
        ent, dt.date(2026, 4, 1), 6, actor=personas.caseworker_a, reason="就业增收"
    )
    assert (e.status, e.end_month) == ("stopped", dt.date(2026, 9, 1))
    paid = months_paid(e)
    assert paid[0] == MONTH and paid[-1] == dt.date(2026, 9, 1) and len(paid) == 9
    econ = HouseholdEconomy.objects.get(household_id=e.household_id)
    assert econ.current_dibao and econ.current_dibao_amount == e.amount and econ.gradual_exit_months_used == 0
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.start_gradual_exit(e, dt.date(2026, 4, 1), 0, actor=personas.caseworker_a, reason="x")
    e = lifecycle.start_gradual_exit(e, dt.date(2026, 4, 1), 3, actor=personas.caseworker_a, reason="x",
                                     amount=Decimal("431.5"))  # fmt: skip
    assert (e.end_month, e.amount) == (dt.date(2026, 6, 1), Decimal("431.50"))
    assert HouseholdEconomy.objects.get(household_id=e.household_id).current_dibao_amount == Decimal("431.50")


def test_suspend_and_resume(personas, ent):
    cw = personas.caseworker_a
    e = lifecycle.suspend(ent, actor=cw, reason="外出失联")
    assert months_paid(e) == []
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.suspend(e, actor=cw, reason="x")
    e = lifecycle.resume(e, actor=cw, reason="已联系")
    assert e.status == "active" and len(months_paid(e, 3)) == 3


def test_change_amount_and_recipient(personas, ent):
    cw = personas.caseworker_a
    e = lifecycle.change_amount(ent, Decimal("612.5"), dt.date(2026, 4, 1), actor=cw, reason="减员")
    assert e.amount == Decimal("612.50")
    assert HouseholdEconomy.objects.get(household_id=e.household_id).current_dibao_amount == Decimal("612.50")
    other = e.household.members.exclude(pk=e.recipient_id).first()
    e = lifecycle.change_recipient(e, other, actor=cw, reason="原领取人死亡")
    assert e.recipient_id == other.pk
    stranger = granted(cw, villages(TOWN_A)[0]).members.first()
    with pytest.raises(lifecycle.LifecycleError):
        lifecycle.change_recipient(e, stranger, actor=cw, reason="x")
    ev = AuditEvent.objects.filter(action="entitlement.amount_changed").get()
    assert ev.detail["before"] == "500.00" and ev.detail["after"] == "612.50"
