"""The 追缴 pages through the test client, amounts worked by hand: a county reviewer starts a recovery for a
household paid twice for January, sees the overpaid month before confirming, drafts a 4-instalment plan adding up
to the total to the 分; the township's caseworker approves it (the reviewer cannot), then repayments are recorded
and allocated to the instalments; a repayment above the balance is refused on the form and nothing changes.
Another township's caseworker gets 404, a role without the payment permission 403, an auditor reads only; no full
ID or account number on any page; the pages in English."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from jiuzhu.core import crypto
from jiuzhu.payments.models import (
    Entitlement,
    PayrollLine,
    PayrollRun,
    Recovery,
    RecoveryInstalment,
    Repayment,
)
from jiuzhu.registry.models import PersonEconomy
from jiuzhu.testing.fixtures import TOWN_A
from jiuzhu.web.tests.test_i18n import assert_english_chrome, chrome

from .kit import decide, sync
from .test_adjustments import FEB, JAN, family, pay_all, regular

pytestmark = pytest.mark.django_db

ACCOUNT = "6228480402564890018"


def paid_twice_in_january(personas: Any) -> Entitlement:
    """A household of three, the head earning 301.37: 610.00 × 3 − 301.37 = 1528.63 a month, paid for January by
    the payroll and — by mistake — once more as a January supplement (seq 1) of a back-pay run."""
    cw, rv = personas.caseworker_a, personas.reviewer
    h = family(cw, wage="301.37", account=ACCOUNT)
    decide(h, start=JAN)
    sync()
    pay_all(regular(cw, rv, JAN), cw)
    line = PayrollLine.objects.get(household=h, month=JAN, status="paid")
    other = PayrollRun.objects.create(kind="backpay", area_code=TOWN_A, month=FEB, programme="all", made_by=cw,
                                      approved_by=rv, status="exported", request_hash="twice")  # fmt: skip
    line.pk, line.run, line.seq, line.reference = None, other, 1, f"JZ{other.pk}E{line.entitlement_id}M202601S1"
    line.save()
    assert line.amount == Decimal("1528.63")
    return Entitlement.objects.get(household=h)


def start_form(**over: str) -> dict[str, str]:
    return {"first_month": "2026-01", "last_month": "2026-01", "reason": "一月重复发放", **over}


def version(rec: Recovery) -> str:
    """The version the recovery's page shows now (what its forms send)."""
    rec.refresh_from_db()
    return str(rec.version)


def approved_by_other(rec: Recovery, checker: Any) -> None:
    c = Client()
    c.force_login(checker)
    r = c.post(reverse("payments:recovery_approve", args=[rec.pk]), {"approve-version": version(rec)})
    assert r.status_code == 302, r.content.decode()
    rec.refresh_from_db()
    assert rec.status == "open" and rec.approved_by == checker


def secrets_of(e: Entitlement) -> list[str]:
    ids = [crypto.decrypt(t, context="person.id_number") for t in e.household.members.values_list("id_number_enc", flat=True)]
    assert len(ids) == 3 and all(len(i) == 18 for i in ids)
    return [*ids, ACCOUNT]


def test_reviewer_recovers_a_month_paid_twice_plans_and_repays(client, personas):
    e = paid_twice_in_january(personas)
    client.force_login(personas.reviewer)
    # from the entitlement's row
    page = client.get(reverse("payments:entitlements")).content.decode()
    new_url = reverse("payments:recovery_new", args=[e.pk])
    assert new_url in page
    page = client.get(new_url).content.decode()
    assert 'value="2026-01"' in page  # the months paid, as defaults
    # the computed month before confirming: paid 1528.63 × 2 = 3057.26, due 1528.63, overpaid 1528.63
    r = client.post(new_url, start_form(preview="1"))
    body = r.content.decode()
    assert r.status_code == 200 and Recovery.objects.count() == 0
    assert 'data-testid="overpaid-month"><td>2026-01</td><td class="text-end">3057.26</td><td class="text-end">1528.63</td><td class="text-end">1528.63</td>' in body  # noqa: E501
    assert 'data-testid="preview-total">1528.63<' in body and 'data-testid="confirm"' in body
    # a fine without a fraud finding is refused on the form
    r = client.post(new_url, start_form(fine_multiple="1.5", confirm="1"))
    assert r.status_code == 400 and "只有认定骗取的才处以罚款" in r.content.decode() and Recovery.objects.count() == 0
    # a reason is required
    r = client.post(new_url, start_form(reason="  ", confirm="1"))
    assert r.status_code == 400 and 'data-testid="error-reason"' in r.content.decode()
    r = client.post(new_url, start_form(confirm="1"))
    rec = Recovery.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("payments:recovery", args=[rec.pk])
    assert (rec.overpaid, rec.fine, rec.total, rec.fraud, rec.made_by, rec.status) == (
        Decimal("1528.63"), Decimal("0.00"), Decimal("1528.63"), False, personas.reviewer, "pending")
    assert rec.months == [{"month": "2026-01", "paid": "3057.26", "due": "1528.63", "over": "1528.63"}]
    url = reverse("payments:recovery", args=[rec.pk])
    body = client.get(url).content.decode()
    assert 'data-testid="total">1528.63<' in body and 'data-testid="no-plan"' in body
    # the maker is told it waits for another officer, and has no approve button
    assert 'data-testid="status">待审核<' in body and 'data-testid="maker-note"' in body
    assert 'data-testid="approve"' not in body and 'data-testid="reject"' not in body
    assert 'data-testid="repay-form"' not in body and 'data-testid="repay-after-approval"' in body

    # 4 instalments, drafted before approval: 152863 分 // 4 = 38215, the remainder 3 分 on the last:
    # 382.15 × 3 + 382.18 = 1528.63
    r = client.post(reverse("payments:recovery_plan", args=[rec.pk]),
                    {"plan-instalments": "4", "plan-first_due": "2026-01-31", "plan-version": version(rec)})  # fmt: skip
    assert r.status_code == 302
    plan = [(i.seq, i.due_on, i.amount) for i in RecoveryInstalment.objects.filter(recovery=rec)]
    assert plan == [(1, dt.date(2026, 1, 31), Decimal("382.15")), (2, dt.date(2026, 2, 28), Decimal("382.15")),
                    (3, dt.date(2026, 3, 31), Decimal("382.15")), (4, dt.date(2026, 4, 30), Decimal("382.18"))]  # fmt: skip
    assert sum(a for _, _, a in plan) == rec.total
    body = client.get(url).content.decode()
    assert body.count('data-testid="instalment"') == 4 and 'data-testid="instalment-sum">1528.63<' in body
    assert 'data-testid="plan-draft"' in body and 'data-testid="state"' not in body  # no states before approval

    # no repayment before approval, even posted by hand
    repay = reverse("payments:recovery_repay", args=[rec.pk])
    r = client.post(repay, {"pay-receipt_no": "HB2026-001", "pay-paid_on": "2026-02-03", "pay-amount": "382.15",
                            "pay-version": version(rec)})  # fmt: skip
    assert r.status_code == 400 and "只有审核通过的追缴可以登记退回（当前状态：待审核）" in r.content.decode()
    assert Repayment.objects.count() == 0
    # the maker cannot approve their own, even posted by hand
    r = client.post(reverse("payments:recovery_approve", args=[rec.pk]), {"approve-version": version(rec)})
    assert r.status_code == 403 and "不能审核本人立案的追缴" in r.content.decode()
    assert Recovery.objects.get().status == "pending"
    # the township's caseworker approves it
    approved_by_other(rec, personas.caseworker_a)
    body = client.get(url).content.decode()
    assert 'data-testid="status">追缴中<' in body and 'data-testid="approved-by">cw_a' in body
    assert 'data-testid="repay-form"' in body and 'data-testid="maker-note"' not in body
    # every instalment is past its due date (2026-01-31 to 2026-04-30) and nothing is repaid: all overdue
    assert body.count('data-state="overdue"') == 4 and 'data-testid="overdue-total">逾期 1528.63<' in body

    # the first repayment: balance 1528.63 − 382.15 = 1146.48; it covers the first instalment exactly
    r = client.post(repay, {"pay-receipt_no": "HB2026-001", "pay-paid_on": "2026-02-03", "pay-amount": "382.15",
                            "pay-version": version(rec)})  # fmt: skip
    assert r.status_code == 302
    rec.refresh_from_db()
    assert (rec.repaid, rec.balance, rec.status) == (Decimal("382.15"), Decimal("1146.48"), "open")
    body = client.get(url).content.decode()
    assert 'data-testid="balance">1146.48<' in body and "HB2026-001" in body
    assert body.count('data-state="paid"') == 1 and body.count('data-state="overdue"') == 3
    assert 'data-testid="covered-sum">382.15<' in body and 'data-testid="left-sum">1146.48<' in body
    assert 'data-testid="overdue-total">逾期 1146.48<' in body
    # one 分 above the balance: refused on the form, nothing recorded
    r = client.post(repay, {"pay-receipt_no": "HB2026-002", "pay-paid_on": "2026-03-03", "pay-amount": "1146.49",
                            "pay-version": version(rec)})  # fmt: skip
    body = r.content.decode()
    assert r.status_code == 400
    assert 'data-testid="error-amount">退回金额超过未退余额 1146.48 元。<' in body
    rec.refresh_from_db()
    assert (rec.repaid, rec.status) == (Decimal("382.15"), "open") and Repayment.objects.count() == 1
    # a negative or zero amount is a form error too
    r = client.post(repay, {"pay-receipt_no": "HB2026-002", "pay-paid_on": "2026-03-03", "pay-amount": "-1",
                            "pay-version": version(rec)})  # fmt: skip
    assert r.status_code == 400 and Repayment.objects.count() == 1

    # the list: household no., masked head name, amounts, balance, status; filter by status
    rows = client.get(reverse("payments:recoveries")).content.decode()
    assert e.household.household_no in rows and "李*" in rows and "李明" not in rows
    assert 'data-testid="balance">1146.48<' in rows and 'data-testid="tab-recoveries"' in rows
    assert 'data-overdue="1146.48"' in rows and ">逾期<" in rows
    assert 'data-testid="recovery-row"' not in client.get(reverse("payments:recoveries"), {"status": "settled"}).content.decode()
    assert 'data-testid="recovery-row"' in client.get(reverse("payments:recoveries"), {"status": "open"}).content.decode()
    # settled by paying the balance exactly
    r = client.post(repay, {"pay-receipt_no": "HB2026-002", "pay-paid_on": "2026-03-03", "pay-amount": "1146.48",
                            "pay-version": version(rec)})  # fmt: skip
    rec.refresh_from_db()
    assert r.status_code == 302 and (rec.balance, rec.status) == (Decimal("0.00"), "settled")
    # the history the services audited
    body = client.get(url).content.decode()
    assert body.count("登记退回（") == 2 and "立案追缴（" in body and "制定还款计划（" in body
    assert "cw_a：审核通过（应追缴合计 1528.63 元）" in body
    assert body.count('data-state="paid"') == 4 and 'data-testid="overdue"' not in body
    assert 'data-overdue' not in client.get(reverse("payments:recoveries")).content.decode()

    # no full ID or account number on any of the pages
    e.household.refresh_from_db()
    for page_url in (url, reverse("payments:recoveries"), new_url):
        html = client.get(page_url).content.decode()
        for secret in secrets_of(e):
            assert secret not in html, (page_url, secret)


def test_fraud_fine_through_the_page_by_hand(client, personas):
    """Concealed wage (test_adjustments): 1528.63 paid for each of January and February, due 1830.00 − 900.00 =
    930.00; overpaid 2 × 598.63 = 1197.26; fine × 1.5 = 1795.89; total 2993.15."""
    cw, rv = personas.caseworker_a, personas.reviewer
    h = family(cw, wage="301.37")
    decide(h, start=JAN)
    sync()
    for m in (JAN, FEB):
        pay_all(regular(cw, rv, m), cw)
    PersonEconomy.objects.filter(person=h.members.order_by("pk").first()).update(wage=Decimal("900.00"))
    e = Entitlement.objects.get(household=h)
    client.force_login(cw)
    new_url = reverse("payments:recovery_new", args=[e.pk])
    form = start_form(last_month="2026-02", reason="隐瞒工资收入", fraud="on", fine_multiple="1.5")
    r = client.post(new_url, {**form, "confirm": "1"})  # the decision number is required with fraud
    assert r.status_code == 400 and "认定骗取须填写处理决定文号" in r.content.decode()
    r = client.post(new_url, {**form, "fine_multiple": "3.5", "decision_no": "汉民罚〔2026〕3号", "preview": "1"})
    assert r.status_code == 400 and Recovery.objects.count() == 0
    form["decision_no"] = "汉民罚〔2026〕3号"
    body = client.post(new_url, {**form, "preview": "1"}).content.decode()
    assert body.count('data-testid="overpaid-month"') == 2
    assert 'data-testid="preview-overpaid">1197.26<' in body and 'data-testid="preview-fine">1795.89<' in body
    assert 'data-testid="preview-total">2993.15<' in body
    r = client.post(new_url, {**form, "confirm": "1"})
    rec = Recovery.objects.get()
    assert r.status_code == 302
    assert (rec.overpaid, rec.fine_multiple, rec.fine, rec.total) == (
        Decimal("1197.26"), Decimal("1.50"), Decimal("1795.89"), Decimal("2993.15"))
    # nothing overpaid in a month paid right: a form error, no recovery
    r = client.post(new_url, start_form(first_month="2025-12", last_month="2025-12", preview="1"))
    assert r.status_code == 400 and "所选月份没有多发的金额" in r.content.decode()


def test_other_township_and_roles(client, personas):
    e = paid_twice_in_january(personas)
    client.force_login(personas.reviewer)
    client.post(reverse("payments:recovery_new", args=[e.pk]), start_form(confirm="1"))
    rec = Recovery.objects.get()
    urls = {"new": reverse("payments:recovery_new", args=[e.pk]), "detail": reverse("payments:recovery", args=[rec.pk]),
            "plan": reverse("payments:recovery_plan", args=[rec.pk]),
            "repay": reverse("payments:recovery_repay", args=[rec.pk]),
            "approve": reverse("payments:recovery_approve", args=[rec.pk]),
            "reject": reverse("payments:recovery_reject", args=[rec.pk])}  # fmt: skip
    # another township's caseworker: as if it did not exist, and not in the list
    client.force_login(personas.caseworker_b)
    assert client.get(urls["new"]).status_code == 404
    assert client.post(urls["new"], start_form(confirm="1")).status_code == 404
    assert client.get(urls["detail"]).status_code == 404
    assert client.post(urls["plan"], {"plan-instalments": "2", "plan-first_due": "2026-02-01"}).status_code == 404
    assert client.post(urls["repay"], {"pay-receipt_no": "X", "pay-paid_on": "2026-02-01",
                                       "pay-amount": "1.00"}).status_code == 404  # fmt: skip
    assert client.post(urls["approve"], {"approve-version": "1"}).status_code == 404
    assert client.post(urls["reject"], {"reject-version": "1", "reject-reason": "不同意"}).status_code == 404
    list_page = client.get(reverse("payments:recoveries"))
    assert list_page.status_code == 200 and 'data-testid="recovery-row"' not in list_page.content.decode()
    # the other county's reviewer: 404 too
    client.force_login(personas.reviewer_2)
    assert client.get(urls["detail"]).status_code == 404
    assert client.post(urls["approve"], {"approve-version": "1"}).status_code == 404
    # no payment permission: 403
    client.force_login(personas.policy_admin)
    assert client.get(reverse("payments:recoveries")).status_code == 403
    assert client.get(urls["detail"]).status_code == 403
    assert client.post(urls["approve"], {"approve-version": "1"}).status_code in (403, 404)
    # the auditor reads the list and the recovery, without forms; cannot write, nor approve or reject
    client.force_login(personas.auditor)
    assert 'data-testid="recovery-row"' in client.get(reverse("payments:recoveries")).content.decode()
    body = client.get(urls["detail"]).content.decode()
    assert 'data-testid="total">1528.63<' in body and "repay-form" not in body and "plan-form" not in body
    assert 'data-testid="review"' in body and 'data-testid="approve"' not in body and "reject-form" not in body
    assert client.post(urls["repay"], {"pay-receipt_no": "X", "pay-paid_on": "2026-02-01",
                                       "pay-amount": "1.00"}).status_code in (403, 404)  # fmt: skip
    assert client.post(urls["approve"], {"approve-version": "1"}).status_code in (403, 404)
    assert client.post(urls["reject"], {"reject-version": "1", "reject-reason": "x"}).status_code in (403, 404)
    assert client.get(urls["new"]).status_code in (403, 404)
    assert Repayment.objects.count() == 0 and RecoveryInstalment.objects.count() == 0
    assert Recovery.objects.get().status == "pending"
    # the township's own caseworker sees the buttons, approves, and records a repayment
    client.force_login(personas.caseworker_a)
    body = client.get(urls["detail"]).content.decode()
    assert 'data-testid="approve"' in body and 'data-testid="reject-form"' in body and "maker-note" not in body
    assert client.post(urls["approve"], {"approve-version": version(rec)}).status_code == 302
    r = client.post(urls["repay"], {"pay-receipt_no": "R1", "pay-paid_on": "2026-02-01", "pay-amount": "28.63",
                                    "pay-version": version(rec)})  # fmt: skip
    assert r.status_code == 302 and Recovery.objects.get().balance == Decimal("1500.00")


def test_pages_in_english(personas):
    e = paid_twice_in_january(personas)
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(personas.reviewer)
    new_url = reverse("payments:recovery_new", args=[e.pk])
    body = c.post(new_url, start_form(preview="1")).content.decode()
    assert '<html lang="en">' in body and "Overpaid months" in body
    assert_english_chrome(chrome(body))
    c.post(new_url, start_form(confirm="1"))
    rec = Recovery.objects.get()
    body = c.get(reverse("payments:recovery", args=[rec.pk])).content.decode()
    assert "Awaiting approval" in body
    assert_english_chrome(chrome(body))
    c.post(reverse("payments:recovery_plan", args=[rec.pk]),
           {"plan-instalments": "4", "plan-first_due": "2026-01-31", "plan-version": version(rec)})  # fmt: skip
    checker = Client(HTTP_ACCEPT_LANGUAGE="en")
    checker.force_login(personas.caseworker_a)
    body = checker.get(reverse("payments:recovery", args=[rec.pk])).content.decode()
    assert "Approve" in body and "Reject" in body
    assert_english_chrome(chrome(body))
    r = checker.post(reverse("payments:recovery_reject", args=[rec.pk]), {"reject-version": version(rec), "reject-reason": " "})
    assert r.status_code == 400 and "Please give the reason for rejecting." in r.content.decode()
    checker.post(reverse("payments:recovery_approve", args=[rec.pk]), {"approve-version": version(rec)})
    c.post(reverse("payments:recovery_repay", args=[rec.pk]),
           {"pay-receipt_no": "R1", "pay-paid_on": "2026-02-03", "pay-amount": "382.15", "pay-version": version(rec)})  # fmt: skip
    r = c.post(reverse("payments:recovery_repay", args=[rec.pk]),
               {"pay-receipt_no": "R2", "pay-paid_on": "2026-02-03", "pay-amount": "5000", "pay-version": version(rec)})  # fmt: skip
    body = r.content.decode()
    assert "Recovery" in body and "Repayment plan" in body and "1146.48" in body
    assert "Overdue" in body and "Fully repaid" in body and "cw_a：Approved（" in body
    assert "超过" not in body  # the service's refusal in English too
    assert_english_chrome(chrome(body))
    # a stale form: refused in English, what was entered kept
    r = c.post(reverse("payments:recovery_plan", args=[rec.pk]),
               {"plan-instalments": "2", "plan-first_due": "2026-12-31", "plan-version": "1"})  # fmt: skip
    body = r.content.decode()
    assert r.status_code == 409 and "changed" in body and "此追缴" not in body
    for url in (reverse("payments:recoveries"), reverse("payments:entitlements")):
        page = c.get(url).content.decode()
        assert_english_chrome(chrome(page))
