"""追缴 in Chromium with its maker-checker: the county reviewer starts a recovery of a month paid twice from the
entitlement's row (the overpaid month shown before confirming), drafts a two-instalment plan, and can neither
approve it nor take a repayment; the township's caseworker — a second officer — approves it; the reviewer records
a repayment that covers the first instalment, and the plan shows it paid and the second one overdue (amounts by
hand in ``jiuzhu/payments/tests/test_recovery_pages.py``: 1528.63 overpaid for January)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from jiuzhu.payments.models import Recovery
from jiuzhu.payments.tests.test_recovery_pages import paid_twice_in_january
from jiuzhu.testing.fixtures import make_personas

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_recovery_started_approved_by_another_officer_planned_and_repaid(session, settings):
    settings.JIUZHU_JOBS_INLINE = True
    p = make_personas()
    e = paid_twice_in_january(p)

    # 1. the reviewer starts it from the entitlement's row, sees the overpaid month, confirms
    rv = session("rv")
    rv.goto("/payments/entitlements/")
    rv.locator(f"a[href='/payments/recoveries/new/{e.pk}/']").first.click()
    rv.wait_for_load_state()
    rv.fill("[name=first_month]", "2026-01")
    rv.fill("[name=last_month]", "2026-01")
    rv.fill("[name=reason]", "一月重复发放")
    rv.click("[data-testid=preview]")
    expect(rv.locator("[data-testid=preview-total]")).to_have_text("1528.63")
    rv.click("[data-testid=confirm]")
    rv.wait_for_url(re.compile(r"/payments/recoveries/\d+/$"))
    rec = Recovery.objects.get()
    assert (rec.status, rec.total, rec.made_by) == ("pending", Decimal("1528.63"), p.reviewer)
    expect(rv.locator("[data-testid=status]")).to_have_text("待审核")
    expect(rv.locator("[data-testid=maker-note]")).to_be_visible()
    expect(rv.locator("[data-testid=approve]")).to_have_count(0)
    expect(rv.locator("[data-testid=repay-form]")).to_have_count(0)
    # a plan may be drafted while it waits: 764.31 + 764.32
    rv.fill("[name=plan-instalments]", "2")
    rv.fill("[name=plan-first_due]", "2026-01-31")
    rv.click("[data-testid=make-plan]")
    expect(rv.locator("[data-testid=instalment]")).to_have_count(2)
    expect(rv.locator("[data-testid=instalment-sum]")).to_have_text("1528.63")

    # 2. the township's caseworker approves it
    cw = session("cw_a")
    cw.goto(f"/payments/recoveries/{rec.pk}/")
    expect(cw.locator("[data-testid=maker-note]")).to_have_count(0)
    cw.click("[data-testid=approve]")
    expect(cw.locator("[data-testid=status]")).to_have_text("追缴中")
    rec.refresh_from_db()
    assert (rec.status, rec.approved_by) == ("open", p.caseworker_a)

    # 3. the reviewer records a repayment covering the first instalment
    rv.goto(f"/payments/recoveries/{rec.pk}/")
    rv.fill("[name=pay-receipt_no]", "HB2026-001")
    rv.fill("[name=pay-paid_on]", "2026-02-03")
    rv.fill("[name=pay-amount]", "764.31")
    rv.click("[data-testid=repay]")
    expect(rv.locator("[data-testid=balance]")).to_have_text("764.32")
    states = rv.locator("[data-testid=instalment]")
    expect(states.nth(0)).to_have_attribute("data-state", "paid")
    expect(states.nth(1)).to_have_attribute("data-state", "overdue")  # due 2026-02-28, long past
    expect(rv.locator("[data-testid=overdue-total]")).to_have_text("逾期 764.32")
    rv.screenshot(path=str(ARTIFACTS / "recovery-approved-repaid.png"), full_page=True)
    rec.refresh_from_db()
    assert (rec.repaid, rec.status) == (Decimal("764.31"), "open")
