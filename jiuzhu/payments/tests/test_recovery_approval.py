"""Maker-checker for 追缴: a recovery starts 待审核 and binds only once another officer with the payment
permission for its area approves it; a rejection (with a reason) frees its months for a new recovery; no
repayment while pending or rejected; every transition audited, under the row lock, and refused from a stale form
(``version``) with nothing changed. The database backs the rules it can (checker ≠ maker, nothing repaid on a
recovery that does not bind, a rejection says who and why), and recoveries made before approval existed stay
valid through the migration. The pages: the buttons, the reason, the maker's note, a stale POST (409) keeping
what the officer typed. Concurrent approvals: threads on PostgreSQL (test_concurrency)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from jiuzhu.core.models import AuditEvent
from jiuzhu.payments import adjustments
from jiuzhu.payments.models import Entitlement, Recovery, Repayment
from jiuzhu.testing.fixtures import TOWN_A, make_user

from .test_adjustments import JAN
from .test_recovery_pages import paid_twice_in_january, start_form, version

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 2, 3)


def made(personas: Any, maker: Any = None) -> tuple[Entitlement, Recovery]:
    """January paid twice (1528.63 too much), recovered by ``maker`` (default: the county reviewer)."""
    e = paid_twice_in_january(personas)
    r = adjustments.create_recovery(e, maker or personas.reviewer, first_month=JAN, last_month=JAN, reason="一月重复发放")
    return e, r


def audited(r: Recovery) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="payments.recovery", object_id=str(r.pk))
                .order_by("seq").values_list("action", flat=True))  # fmt: skip


# --- services -----------------------------------------------------------------------------------------------------


def test_the_maker_cannot_approve_or_reject_their_own(personas):
    _, r = made(personas)
    assert (r.status, r.version, r.approved_by) == ("pending", 1, None)
    with pytest.raises(adjustments.Forbidden, match="不能审核本人立案的追缴"):
        adjustments.approve_recovery(r, personas.reviewer)
    with pytest.raises(adjustments.Forbidden, match="不能驳回本人立案的追缴"):
        adjustments.reject_recovery(r, personas.reviewer, "重新核算")
    # another township's officer has no say here; nor has a role without the payment permission
    for other in (personas.caseworker_b, personas.reviewer_2, personas.auditor):
        with pytest.raises(adjustments.Forbidden, match="无权办理该区域的资金发放"):
            adjustments.approve_recovery(r, other)
    r.refresh_from_db()
    assert (r.status, r.version, r.approved_by) == ("pending", 1, None) and audited(r) == ["payroll.recovery"]


def test_another_officer_approves_and_then_repayments_are_taken(personas):
    _, r = made(personas)
    with pytest.raises(adjustments.Refused, match="只有审核通过的追缴可以登记退回（当前状态：待审核）"):
        adjustments.repay(r, personas.caseworker_a, amount=Decimal("100.00"), paid_on=DAY, receipt_no="R1")
    r = adjustments.approve_recovery(r, personas.caseworker_a, version=1)
    assert (r.status, r.approved_by, r.version) == ("open", personas.caseworker_a, 2) and r.approved_at is not None
    with pytest.raises(adjustments.Refused, match="只有待审核的追缴可以审核（当前状态：追缴中）"):
        adjustments.approve_recovery(r, make_user("pay_2", "caseworker", TOWN_A))
    with pytest.raises(adjustments.Refused, match="只有待审核的追缴可以驳回（当前状态：追缴中）"):
        adjustments.reject_recovery(r, personas.caseworker_a, "太晚了")
    # the maker records the repayment: recording money is not the check
    adjustments.repay(r, personas.reviewer, amount=Decimal("100.00"), paid_on=DAY, receipt_no="R1", version=2)
    r.refresh_from_db()
    assert (r.repaid, r.version) == (Decimal("100.00"), 3)
    assert audited(r) == ["payroll.recovery", "payroll.recovery_approve", "payroll.repayment"]
    ev = AuditEvent.objects.get(action="payroll.recovery_approve")
    assert ev.actor_username == "cw_a" and ev.detail["total"] == "1528.63" and ev.detail["months"] == ["2026-01"]


def test_a_rejection_frees_the_months_and_takes_no_money(personas):
    e, r = made(personas)
    with pytest.raises(adjustments.Refused, match="请填写驳回理由"):
        adjustments.reject_recovery(r, personas.caseworker_a, "  ")
    # while pending, the months are taken: another recovery of January is refused
    with pytest.raises(adjustments.Refused, match=r"2026-01 已在追缴第 \d+ 号（待审核）中"):
        adjustments.create_recovery(e, personas.caseworker_a, first_month=JAN, last_month=JAN, reason="再次立案")
    adjustments.plan(r, personas.reviewer, instalments=2, first_due=DAY)  # drafted while pending
    r = adjustments.reject_recovery(r, personas.caseworker_a, "  多发金额应扣除已退回部分  ", version=2)
    assert (r.status, r.rejected_by, r.reject_reason, r.version) == ("rejected", personas.caseworker_a,
                                                                    "多发金额应扣除已退回部分", 3)  # fmt: skip
    assert r.rejected_at is not None and r.approved_by is None
    assert audited(r)[-1] == "payroll.recovery_reject"
    assert AuditEvent.objects.get(action="payroll.recovery_reject").detail["reason"] == "多发金额应扣除已退回部分"
    # nothing more on it: no repayment, no plan, no approval
    with pytest.raises(adjustments.Refused, match="只有审核通过的追缴可以登记退回（当前状态：已驳回）"):
        adjustments.repay(r, personas.reviewer, amount=Decimal("1.00"), paid_on=DAY, receipt_no="R1")
    with pytest.raises(adjustments.Refused, match="已驳回的追缴不能制定还款计划"):
        adjustments.plan(r, personas.reviewer, instalments=1, first_due=DAY)
    with pytest.raises(adjustments.Refused, match="当前状态：已驳回"):
        adjustments.approve_recovery(r, personas.caseworker_a)
    assert Repayment.objects.count() == 0
    # January may be recovered again — by the same maker — and the new one is pending in turn
    again = adjustments.create_recovery(e, personas.reviewer, first_month=JAN, last_month=JAN, reason="更正后重新立案")
    assert (again.status, again.total) == ("pending", Decimal("1528.63"))
    # an approved (open) or settled one still takes its months
    adjustments.approve_recovery(again, personas.caseworker_a)
    with pytest.raises(adjustments.Refused, match=f"2026-01 已在追缴第 {again.pk} 号（追缴中）中"):
        adjustments.create_recovery(e, personas.caseworker_a, first_month=JAN, last_month=JAN, reason="第三次")
    adjustments.repay(again, personas.caseworker_a, amount=Decimal("1528.63"), paid_on=DAY, receipt_no="R9")
    with pytest.raises(adjustments.Refused, match="（已结清）"):
        adjustments.create_recovery(e, personas.caseworker_a, first_month=JAN, last_month=JAN, reason="第三次")


def test_a_stale_version_is_refused_and_changes_nothing(personas):
    _, r = made(personas)
    cw = personas.caseworker_a
    adjustments.plan(r, personas.reviewer, instalments=4, first_due=DAY, version=1)  # now version 2
    with pytest.raises(adjustments.Stale, match="此追缴已被他人更新（当前状态：待审核）"):
        adjustments.approve_recovery(r, cw, version=1)
    with pytest.raises(adjustments.Stale):
        adjustments.reject_recovery(r, cw, "理由", version=1)
    with pytest.raises(adjustments.Stale):
        adjustments.plan(r, cw, instalments=2, first_due=DAY, version=1)
    r.refresh_from_db()
    assert (r.status, r.version, r.instalments.count()) == ("pending", 2, 4)
    adjustments.approve_recovery(r, cw, version=2)
    adjustments.repay(r, cw, amount=Decimal("10.00"), paid_on=DAY, receipt_no="R1", version=3)
    # the same receipt again from the same (now old) form: the recorded repayment, not a refusal
    assert adjustments.repay(r, cw, amount=Decimal("10.00"), paid_on=DAY, receipt_no="R1", version=3).receipt_no == "R1"
    with pytest.raises(adjustments.Stale, match="当前状态：追缴中"):
        adjustments.repay(r, cw, amount=Decimal("10.00"), paid_on=DAY, receipt_no="R2", version=3)
    r.refresh_from_db()
    assert (r.repaid, r.version, Repayment.objects.count()) == (Decimal("10.00"), 4, 1)


def test_the_database_backs_the_approval_rules(personas):
    _, r = made(personas)
    q = Recovery.objects.filter(pk=r.pk)
    for bad in ({"approved_by": personas.reviewer},  # the maker checks their own
                {"status": "open", "rejected_by": personas.reviewer},
                {"repaid": Decimal("1.00")},  # money on a pending recovery
                {"status": "rejected"},  # rejected by nobody, for no reason
                {"status": "rejected", "rejected_by": personas.caseworker_a, "rejected_at": r.created_at},
                {"approved_by": personas.caseworker_a}):  # a pending one has no checker  # fmt: skip
        with pytest.raises(IntegrityError), transaction.atomic():
            q.update(**bad)
    q.update(status="rejected", rejected_by=personas.caseworker_a, rejected_at=r.created_at, reject_reason="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        q.update(repaid=Decimal("1.00"))


def test_recoveries_made_before_approval_existed_stay_valid(personas):
    """What 0009 leaves in the database: open and settled rows with no checker (their status unchanged, version
    1) meet every constraint, take repayments and keep their months."""
    e, r = made(personas)
    Recovery.objects.filter(pk=r.pk).update(status="open")  # as the row was before 0009
    r = adjustments.repay(r.pk, personas.reviewer, amount=Decimal("1528.63"), paid_on=DAY, receipt_no="R1").recovery
    r.refresh_from_db()
    assert (r.status, r.approved_by, r.version) == ("settled", None, 2)
    with pytest.raises(adjustments.Refused, match="（已结清）"):
        adjustments.create_recovery(e, personas.caseworker_a, first_month=JAN, last_month=JAN, reason="又一次")
    client = Client()
    client.force_login(personas.auditor)
    body = client.get(reverse("payments:recovery", args=[r.pk])).content.decode()
    assert "无（启用双人复核前立案）" in body


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_existing_recoveries_as_they_were(personas):
    from django.db.migrations.executor import MigrationExecutor

    e = paid_twice_in_january(personas)
    before, after = [("payments", "0008_payee_without_db_constraints")], [("payments", "0009_recovery_approval")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("payments", "Recovery")
        common = {"entitlement_id": e.pk, "household_id": e.household_id, "area_code": e.area_code,
                  "programme": e.programme, "first_month": JAN, "last_month": JAN, "months": [],
                  "overpaid": Decimal("100.00"), "total": Decimal("100.00"), "reason": "旧数据",
                  "made_by_id": personas.reviewer.pk}  # fmt: skip
        open_pk = old.objects.create(**common).pk  # status 'open' was the default then
        settled_pk = old.objects.create(**common | {"status": "settled", "repaid": Decimal("100.00")}).pk
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
    rows = {r.pk: (r.status, r.version, r.approved_by_id, r.rejected_by_id) for r in Recovery.objects.all()}
    assert rows == {open_pk: ("open", 1, None, None), settled_pk: ("settled", 1, None, None)}
    # a new one starts pending
    r = adjustments.create_recovery(e, personas.reviewer, first_month=JAN, last_month=JAN, reason="新立案")
    assert r.status == "pending"


# --- pages --------------------------------------------------------------------------------------------------------


def logged_in(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_approve_and_reject_buttons_and_the_makers_note(personas):
    _, r = made(personas)
    url = reverse("payments:recovery", args=[r.pk])
    maker = logged_in(personas.reviewer).get(url).content.decode()
    assert 'data-testid="maker-note"' in maker and "须由另一名有发放权限的工作人员审核通过后生效" in maker
    assert 'data-testid="approve"' not in maker and 'data-testid="reject-form"' not in maker
    checker = logged_in(personas.caseworker_a).get(url).content.decode()
    assert 'data-testid="approve"' in checker and 'data-testid="reject-form"' in checker
    assert 'name="approve-version" value="1"' in checker and 'name="reject-version" value="1"' in checker
    assert 'data-testid="maker-note"' not in checker
    reader = logged_in(personas.auditor).get(url).content.decode()
    assert "待另一名有发放权限的工作人员审核" in reader and 'data-testid="approve"' not in reader
    # the list shows the status and filters by it
    c = logged_in(personas.caseworker_a)
    assert 'data-status="pending"' in c.get(reverse("payments:recoveries"), {"status": "pending"}).content.decode()
    assert 'data-testid="recovery-row"' not in c.get(reverse("payments:recoveries"), {"status": "open"}).content.decode()


def test_reject_needs_a_reason_then_frees_the_months_on_the_pages(personas):
    e, r = made(personas)
    c = logged_in(personas.caseworker_a)
    reject = reverse("payments:recovery_reject", args=[r.pk])
    resp = c.post(reject, {"reject-version": "1", "reject-reason": "   "})
    assert resp.status_code == 400 and 'data-testid="error-reason">请填写驳回理由。<' in resp.content.decode()
    assert Recovery.objects.get(pk=r.pk).status == "pending"
    resp = c.post(reject, {"reject-version": "1", "reject-reason": "已由乡镇另行处理"})
    assert resp.status_code == 302
    body = c.get(reverse("payments:recovery", args=[r.pk])).content.decode()
    assert 'data-testid="status">已驳回<' in body and 'data-testid="reject-reason">已由乡镇另行处理<' in body
    assert 'data-testid="rejected-by">cw_a' in body and "驳回（理由：已由乡镇另行处理）" in body
    assert "plan-form" not in body and "repay-form" not in body and 'data-testid="approve"' not in body
    # the list: rejected, its amount not counted as owed
    rows = c.get(reverse("payments:recoveries")).content.decode()
    assert 'data-status="rejected"' in rows and "应追缴 0.00 元" in rows
    # the months can be recovered again, from the page
    resp = logged_in(personas.reviewer).post(reverse("payments:recovery_new", args=[e.pk]), start_form(confirm="1"))
    assert resp.status_code == 302 and Recovery.objects.filter(status="pending").count() == 1


def test_a_stale_page_is_refused_with_what_was_typed_kept(personas):
    _, r = made(personas)
    c = logged_in(personas.caseworker_a)
    page = c.get(reverse("payments:recovery", args=[r.pk])).content.decode()
    assert 'name="reject-version" value="1"' in page
    # meanwhile the maker drafts a plan (version 2)
    adjustments.plan(r, personas.reviewer, instalments=3, first_due=DAY)
    resp = c.post(reverse("payments:recovery_reject", args=[r.pk]), {"reject-version": "1", "reject-reason": "金额有误"})
    body = resp.content.decode()
    assert resp.status_code == 409 and "此追缴已被他人更新（当前状态：待审核）" in body and "您填写的内容已保留" in body
    assert "金额有误</textarea>" in body and 'name="reject-version" value="2"' in body  # kept; the page is current
    assert Recovery.objects.get(pk=r.pk).status == "pending"
    # another officer approves in the meantime: the rejection form is gone, what was typed is shown with the refusal
    adjustments.approve_recovery(r, make_user("pay_2", "caseworker", TOWN_A), version=2)
    resp = c.post(reverse("payments:recovery_reject", args=[r.pk]), {"reject-version": "2", "reject-reason": "金额有误"})
    body = resp.content.decode()
    assert resp.status_code == 409 and 'data-testid="kept"' in body and "当前状态：追缴中" in body and "金额有误" in body
    assert 'data-testid="reject-form"' not in body
    # a stale repayment: refused, the receipt and amount stay in the form
    resp = c.post(reverse("payments:recovery_repay", args=[r.pk]),
                  {"pay-receipt_no": "HB-7", "pay-paid_on": "2026-02-03", "pay-amount": "100.00", "pay-version": "2"})  # fmt: skip
    body = resp.content.decode()
    assert resp.status_code == 409 and 'data-testid="repay-error"' in body and 'value="HB-7"' in body
    assert Repayment.objects.count() == 0
    # sent again from the page as it is now: recorded
    resp = c.post(reverse("payments:recovery_repay", args=[r.pk]),
                  {"pay-receipt_no": "HB-7", "pay-paid_on": "2026-02-03", "pay-amount": "100.00",
                   "pay-version": version(r)})  # fmt: skip
    assert resp.status_code == 302 and Repayment.objects.count() == 1


def test_a_form_without_its_version_is_refused(personas):
    _, r = made(personas)
    resp = logged_in(personas.caseworker_a).post(reverse("payments:recovery_approve", args=[r.pk]))
    assert resp.status_code == 400 and "页面已过期，请刷新后重试" in resp.content.decode()
    assert Recovery.objects.get(pk=r.pk).status == "pending"


def test_overdue_instalments_on_the_page_and_the_list(personas):
    """A plan of 1528.63 in three from 45 days ago (509.54, 509.54, 509.55: the second due 14–17 days ago, the
    third in 14–17 days). One repayment of 600.00 pays the first and 90.46 of the second: the second is overdue by
    419.08, the third not due."""
    from django.utils import timezone

    _, r = made(personas)
    c = logged_in(personas.caseworker_a)
    today = timezone.localdate()
    adjustments.plan(r, personas.reviewer, instalments=3, first_due=today - dt.timedelta(days=45))
    adjustments.approve_recovery(r, personas.caseworker_a)
    adjustments.repay(r, personas.reviewer, amount=Decimal("600.00"), paid_on=today, receipt_no="HB-1")
    body = c.get(reverse("payments:recovery", args=[r.pk])).content.decode()
    assert [body.count(f'data-state="{s}"') for s in ("paid", "overdue", "partial", "not_due")] == [1, 1, 0, 1]
    assert '<td class="text-end" data-testid="covered">90.46</td><td class="text-end" data-testid="left">419.08</td>' in body
    assert 'data-testid="overdue-total">逾期 419.08<' in body and "逾期 1 期，逾期未还合计 <strong>419.08</strong> 元" in body
    assert 'data-overdue="419.08"' in c.get(reverse("payments:recoveries")).content.decode()
