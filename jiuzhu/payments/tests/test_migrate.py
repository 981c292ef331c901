"""Recipients from before the platform (移交存量对象): entitlements from the registry's current 低保 and 特困 marks,
idempotent, without a case or decision, paid by the payroll; the command; decisions still sync alongside them."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from jiuzhu.cases.tests.kit import AS_OF, registered_household
from jiuzhu.payments import services
from jiuzhu.payments.models import Entitlement
from jiuzhu.registry.models import HouseholdEconomy, PersonEconomy
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, villages

from .kit import MONTH, decide, granted, sync

pytestmark = pytest.mark.django_db


def _recipient(actor, village, amount="320.00", **kw):
    h = registered_household(actor, village, **kw)
    HouseholdEconomy.objects.filter(household=h).update(current_dibao=True, current_dibao_amount=Decimal(amount))
    return h


def test_registry_recipients_get_entitlements_once(personas):
    cw = personas.caseworker_a
    vs = villages(TOWN_A)
    dibao = _recipient(cw, vs[0])
    tekun = registered_household(cw, vs[1], size=1)
    PersonEconomy.objects.filter(person__household=tekun).update(tekun_recipient=True)
    _plain = registered_household(cw, vs[0])
    other_town = _recipient(personas.caseworker_b, villages(TOWN_B)[0])
    counts = services.entitlements_from_registry(TOWN_A, cw)
    assert counts == {"dibao": 1, "tekun": 1}
    e = Entitlement.objects.get(household=dibao)
    assert (e.origin, e.case_id, e.decision_id, e.programme, e.amount) == ("migration", None, None, "dibao", Decimal("320.00"))
    assert e.start_month == dt.date(AS_OF.year + (AS_OF.month == 12), AS_OF.month % 12 + 1, 1)  # month after as_of
    assert e.recipient.relation == "02" and e.area_code == dibao.area_code
    t = Entitlement.objects.get(household=tekun)
    assert (t.programme, t.amount, t.recipient.household_id) == ("tekun", Decimal("0.00"), tekun.pk)
    assert not Entitlement.objects.filter(household=other_town).exists()
    # idempotent
    assert services.entitlements_from_registry(TOWN_A, cw) == {}
    assert Entitlement.objects.count() == 2
    # another area is refused
    with pytest.raises(services.Forbidden):
        services.entitlements_from_registry(TOWN_B, cw)


def test_a_stopped_or_decided_entitlement_is_not_duplicated_and_decisions_still_sync(personas):
    cw = personas.caseworker_a
    v = villages(TOWN_A)[0]
    decided = granted(cw, v)
    HouseholdEconomy.objects.filter(household=decided).update(current_dibao=True, current_dibao_amount=Decimal("100"))
    sync()
    migrated = _recipient(cw, v)
    assert services.entitlements_from_registry(TOWN_A, None, start=dt.date(2026, 3, 15)) == {"dibao": 1}
    e = Entitlement.objects.get(household=migrated)
    assert e.start_month == dt.date(2026, 3, 1)
    # a NULL decision among the entitlements does not hide new decisions from the sync (NOT IN with NULL)
    later = registered_household(cw, v)
    decide(later)
    assert sync() == {"created": 1}
    # a decision for a migrated household supersedes the migrated entitlement
    decide(migrated, start=dt.date(2026, 6, 1))
    assert sync() == {"created": 1, "superseded": 1}
    e.refresh_from_db()
    assert (e.status, e.end_month) == ("stopped", dt.date(2026, 5, 1))
    assert services.entitlements_from_registry(TOWN_A, None) == {}


def test_origin_constraint(personas):
    h = _recipient(personas.caseworker_a, villages(TOWN_A)[0])
    with pytest.raises(IntegrityError), transaction.atomic():
        Entitlement.objects.create(household=h, recipient=h.members.first(), programme="dibao", area_code=h.area_code,
                                   amount=Decimal("1"), start_month=MONTH, origin="decision")  # fmt: skip


def test_migrated_entitlements_are_paid_by_the_payroll(personas):
    cw = personas.caseworker_a
    hs = [_recipient(cw, villages(TOWN_A)[i]) for i in range(3)]
    services.entitlements_from_registry(TOWN_A, cw, start=MONTH)
    run = services.generate(area_code=TOWN_A, month=MONTH, programme="all", actor=cw)
    assert run.status == "generated"
    assert run.line_count + sum(run.counts["skipped"].values()) == 3
    assert set(run.lines.values_list("household_id", flat=True)) <= {h.pk for h in hs}
    assert run.line_count >= 1


def test_command(personas, tree):
    _recipient(personas.caseworker_a, villages(TOWN_A)[0])
    out = StringIO()
    call_command("payroll_migrate", "--area", TOWN_A, "--dry-run", stdout=out)
    assert json.loads(out.getvalue()) == {"area": TOWN_A, "dry_run": True, "dibao": 1}
    assert not Entitlement.objects.exists()
    out = StringIO()
    call_command("payroll_migrate", "--area", TOWN_A, "--start", "2026-02", stdout=out)
    assert json.loads(out.getvalue())["dibao"] == 1
    assert Entitlement.objects.get().start_month == dt.date(2026, 2, 1)
