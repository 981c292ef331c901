"""Adjustments: 补发 of months not paid (a decision after its start month, a month skipped for want of an account),
worked out by hand to the 分; maker-checker on the back-pay run; no month paid twice; 停发 / 暂停 / 恢复 / 减发; 追缴
with the fraud fine and a repayment plan, the balance never negative (also in the database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from jiuzhu.cases.tests.kit import AS_OF
from jiuzhu.payments import adjustments, services
from jiuzhu.payments.models import Adjustment, Entitlement, PayrollLine, PayrollRun, Recovery
from jiuzhu.registry.models import Household, HouseholdEconomy, PersonEconomy
from jiuzhu.registry.services import household_create
from jiuzhu.testing.fixtures import TOWN_A, new_id, villages

from .kit import change_account, decide, exported_run, paid_twice, return_csv, sync

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)


def family(actor: Any, *, size: int = 3, wage: str = "300.00", account: str = "6228480402564890018") -> Household:
    """A rural household of ``size`` adults aged 36–46 in 2026 (no 分类施保 category), the head earning ``wage`` a
    month, the others nothing. In 汉滨区 (安康市) the rural 低保 standard is 610.00 元 from 2025-07-01 (pack
    610900), so 低保 = 610.00 × size − wage (差额, REFERENCE §2.3)."""
    births = [dt.date(1980 + 3 * i, 5, 1) for i in range(size)]
    members = [{"name": "李明" if i == 0 else f"李{'一二三四'[i % 4]}", "id_number": new_id(birth=b),
                "relation": "02" if i == 0 else ("10" if i == 1 else "20")} for i, b in enumerate(births)]  # fmt: skip
    h = household_create(actor=actor, area_code=villages(TOWN_A)[0], urban_rural="rural", address="一组",
                         bank_name="农村信用社", bank_account=account, members=members)  # fmt: skip
    for i, p in enumerate(h.members.order_by("pk")):
        PersonEconomy.objects.create(person=p, area_code=p.area_code, as_of=AS_OF, source="declared",
                                     wage=Decimal(wage) if i == 0 else Decimal("0"))  # fmt: skip
    HouseholdEconomy.objects.create(household=h, area_code=h.area_code, as_of=AS_OF, source="declared",
                                    financial=Decimal("1000"), houses=1, housing_area_m2=Decimal("60"))  # fmt: skip
    return h


def regular(maker: Any, checker: Any, month: dt.date) -> PayrollRun:
    return exported_run(maker, checker, TOWN_A, month)


def pay_all(run: PayrollRun, actor: Any) -> None:
    from jiuzhu.payments.returns import import_return

    rows = [(ln.reference, f"{ln.amount:.2f}", "成功", "") for ln in run.lines.all()]
    import_return(return_csv(rows), filename=f"r{run.pk}.csv", actor=actor)


def test_backpay_for_a_decision_after_its_start_month_by_hand(personas):
    cw, rv = personas.caseworker_a, personas.reviewer
    other = family(cw, wage="0.00")
    decide(other, start=JAN)
    sync()
    regular(cw, rv, JAN)  # January and February paid without the late household
    regular(cw, rv, FEB)
    h = family(cw, wage="301.37")
    decide(h, start=JAN)  # decided in March, paying from January
    sync()
    # 610.00 × 3 − 301.37 = 1830.00 − 301.37 = 1528.63 a month; January and February owed: 2 × 1528.63 = 3057.26
    res = adjustments.backpay(TOWN_A, cw, through=FEB)
    run = res.run
    assert run is not None and run.kind == "backpay" and run.status == "generated"
    assert sorted((ln.month, ln.amount, ln.seq) for ln in run.lines.all()) == \
        [(JAN, Decimal("1528.63"), 0), (FEB, Decimal("1528.63"), 0)]
    assert run.total_amount == Decimal("3057.26") and run.line_count == 2
    # maker-checker as any run
    with pytest.raises(services.Forbidden):
        services.approve(run, cw)
    services.approve(run, rv)
    # again: nothing owed any more (the months are live), no new run
    assert adjustments.backpay(TOWN_A, cw, through=FEB).run is None
    # the March payroll pays March only; a regular run for January again would skip it as already paid
    march = services.generate(area_code=TOWN_A, month=MAR, programme="dibao", actor=cw)
    assert march.lines.get(household=h).amount == Decimal("1528.63")
    assert PayrollLine.objects.filter(household=h, status__in=PayrollLine.LIVE).count() == 3
    assert paid_twice() == []


def test_backpay_of_a_month_skipped_for_want_of_an_account(personas):
    cw, rv = personas.caseworker_a, personas.reviewer
    h = family(cw, size=2, wage="123.45", account="")
    decide(h, start=JAN)
    sync()
    jan = regular(cw, rv, JAN)
    assert jan.skips.get().reason == "no_account" and jan.line_count == 0
    # no account yet: owed, but not payable — reported, no run
    res = adjustments.backpay(TOWN_A, cw, through=JAN)
    assert res.run is None and res.skipped[0]["month"] == "2026-01"
    change_account(cw, h)
    # 610.00 × 2 − 123.45 = 1096.55
    run = adjustments.backpay(TOWN_A, cw, through=JAN).run
    assert run is not None and [(ln.month, ln.amount) for ln in run.lines.all()] == [(JAN, Decimal("1096.55"))]
    assert run.lines.get().reference == f"JZ{run.pk}E{Entitlement.objects.get(household=h).pk}M202601"


def test_no_month_paid_twice_by_the_database(personas):
    cw, rv = personas.caseworker_a, personas.reviewer
    h = family(cw)
    decide(h, start=JAN)
    sync()
    jan = regular(cw, rv, JAN)
    line = jan.lines.get()
    e = Entitlement.objects.get(household=h)
    dup = PayrollLine(run=jan, entitlement=e, household=h, person=line.person, area_code=line.area_code,
                      programme="dibao", month=JAN, amount=Decimal("1.00"), engine_amount=Decimal("1.00"),
                      explanation_ref="x", reference="JZdup", payee_name="x", bank_name="x", bank_account_enc="x",
                      bank_account_bi="x", bank_account_masked="x", seq=0)  # fmt: skip
    other = PayrollRun.objects.create(kind="backpay", area_code=TOWN_A, month=MAR, programme="all", made_by=cw,
                                      status="generated", request_hash="x")  # fmt: skip
    dup.run = other
    with pytest.raises(IntegrityError), transaction.atomic():
        dup.save()
    # a supplement (seq 1) for the month is allowed once
    dup.seq, dup.reference = 1, "JZsup1"
    dup.save()
    dup2 = PayrollLine.objects.get(pk=dup.pk)
    dup2.pk, dup2.reference = None, "JZsup2"
    with pytest.raises(IntegrityError), transaction.atomic():
        dup2.save()


def test_stop_suspend_resume_reduce(personas, monkeypatch):
    cw = personas.caseworker_a
    monkeypatch.setattr(adjustments, "this_month", lambda: JAN)
    h = family(cw)
    decide(h, start=JAN)
    sync()
    e = Entitlement.objects.get(household=h)
    with pytest.raises(adjustments.Refused):
        adjustments.suspend(e, cw, "  ")
    with pytest.raises(services.Forbidden):
        adjustments.suspend(e, personas.caseworker_b, "外出务工")
    adjustments.suspend(e, cw, "外出务工未按时复核")  # from February
    e.refresh_from_db()
    assert e.status == "suspended"
    assert not services.in_scope(TOWN_A, FEB, "dibao").filter(pk=e.pk).exists()
    adjustments.resume(e, cw, "已复核", from_month=MAR)
    e.refresh_from_db()
    assert e.status == "active"
    # back-pay leaves the suspended month (February) out: January and March owed
    assert adjustments.owed_months([e], MAR)[e.pk] == [JAN, MAR]
    adjustments.reduce(e, cw, Decimal("400.00"), "拒绝就业三次，减发本人部分")
    e.refresh_from_db()
    assert e.amount == Decimal("400.00")
    adjustments.stop(e, cw, "家庭收入超过标准")  # from February: January is the last month
    e.refresh_from_db()
    assert (e.status, e.end_month) == ("stopped", JAN)
    assert [a.kind for a in Adjustment.objects.filter(entitlement=e)] == ["suspend", "resume", "reduce", "stop"]
    assert adjustments.owed_months([e], MAR)[e.pk] == [JAN]


def test_a_reduction_is_what_the_payroll_pays_and_backpay_and_review_keep_it(personas, monkeypatch):
    """减发 from February: the engine still gives 1,530.00 (3 × 610.00 − 300.00); January pays that, February
    1,200.00 with 330.00 withheld. A back-pay of February (its line failed and was cancelled) owes 1,200.00,
    not 1,530.00; lifting the deduction pays the engine's amount again."""
    cw, rv = personas.caseworker_a, personas.reviewer
    monkeypatch.setattr(adjustments, "this_month", lambda: JAN)
    h = family(cw)
    decide(h, start=JAN, amount="1530.00")
    sync()
    e = Entitlement.objects.get(household=h)
    jan = regular(cw, rv, JAN).lines.get()
    assert (jan.amount, jan.engine_amount, jan.deducted) == (Decimal("1530.00"), Decimal("1530.00"), Decimal("0.00"))
    adjustments.reduce(e, cw, Decimal("1200.00"), "拒绝就业三次，减发本人部分")
    e.refresh_from_db()
    assert (e.amount, e.deduction, e.deduction_from) == (Decimal("1200.00"), Decimal("330.00"), FEB)
    feb_run = services.generate(area_code=TOWN_A, month=FEB, programme="dibao", actor=cw)
    feb = feb_run.lines.get()
    assert (feb.amount, feb.engine_amount, feb.deducted) == (Decimal("1200.00"), Decimal("1530.00"), Decimal("330.00"))
    assert feb_run.total_amount == Decimal("1200.00")
    from .test_views import client

    page = client(rv).get(f"/payments/runs/{feb_run.pk}/").content.decode()
    assert 'data-testid="line-deducted">330.00<' in page  # the run page shows what was withheld
    services.cancel(feb_run, cw, "重新生成")  # February not paid: back-pay owes it, reduced
    monkeypatch.setattr(adjustments, "this_month", lambda: MAR)
    res = adjustments.backpay(area_code=TOWN_A, actor=cw, through=FEB)
    assert res.run is not None
    owed = {ln.month: (ln.amount, ln.deducted) for ln in res.run.lines.all()}
    assert owed == {FEB: (Decimal("1200.00"), Decimal("330.00"))}
    lifted = adjustments.lifecycle.set_deduction(e, Decimal("0"), MAR, actor=cw, reason="恢复")
    assert (lifted.deduction, lifted.deduction_from, lifted.amount) == (Decimal("0.00"), None, Decimal("1530.00"))
    mar = services.generate(area_code=TOWN_A, month=MAR, programme="dibao", actor=cw).lines.get()
    assert (mar.amount, mar.deducted) == (Decimal("1530.00"), Decimal("0.00"))


def test_recovery_with_fraud_fine_plan_and_repayments_by_hand(personas):
    cw, rv = personas.caseworker_a, personas.reviewer
    h = family(cw, wage="301.37")
    decide(h, start=JAN)
    sync()
    for m in (JAN, FEB):
        pay_all(regular(cw, rv, m), cw)  # 1528.63 paid for each month
    # concealed: the head really earned 900.00 a month. Re-evaluated: 1830.00 − 900.00 = 930.00 a month, so each
    # month 1528.63 − 930.00 = 598.63 too much; two months 1197.26; fine ×1.5 = 1795.89; total 2993.15
    head = h.members.order_by("pk").first()
    PersonEconomy.objects.filter(person=head).update(wage=Decimal("900.00"))
    e = Entitlement.objects.get(household=h)
    with pytest.raises(adjustments.Refused):  # a fine needs the fraud decision
        adjustments.create_recovery(e, cw, first_month=JAN, last_month=FEB, reason="隐瞒收入", fine_multiple=Decimal("1.5"))
    with pytest.raises(adjustments.Refused):  # 1–3 times only
        adjustments.create_recovery(e, cw, first_month=JAN, last_month=FEB, reason="隐瞒收入", fraud=True,
                                    decision_no="汉民罚〔2026〕3号", fine_multiple=Decimal("3.5"))  # fmt: skip
    r = adjustments.create_recovery(e, cw, first_month=JAN, last_month=FEB, reason="隐瞒工资收入", fraud=True,
                                    decision_no="汉民罚〔2026〕3号", fine_multiple=Decimal("1.5"))  # fmt: skip
    assert [x["over"] for x in r.months] == ["598.63", "598.63"]
    assert (r.overpaid, r.fine, r.total) == (Decimal("1197.26"), Decimal("1795.89"), Decimal("2993.15"))
    assert r.status == "pending"  # binding only once another officer approves it
    with pytest.raises(adjustments.Refused, match="2026-02 已在追缴第") as again:  # a month is recovered once
        adjustments.create_recovery(e, rv, first_month=FEB, last_month=FEB, reason="重复立案")
    assert str(r.pk) in str(again.value) and "待审核" in str(again.value)
    assert Recovery.objects.filter(entitlement=e).count() == 1
    # plan, drafted before approval: 2993.15 in 4 instalments = 748.28 × 3 + 748.31 (299315 分 // 4 = 74828, the
    # remainder on the last)
    rows = adjustments.plan(r, cw, instalments=4, first_due=dt.date(2026, 1, 31))
    assert [(i.due_on, i.amount) for i in rows] == [
        (dt.date(2026, 1, 31), Decimal("748.28")), (dt.date(2026, 2, 28), Decimal("748.28")),
        (dt.date(2026, 3, 31), Decimal("748.28")), (dt.date(2026, 4, 30), Decimal("748.31"))]
    with pytest.raises(adjustments.Refused, match="只有审核通过的追缴可以登记退回"):
        adjustments.repay(r, cw, amount=Decimal("748.28"), paid_on=dt.date(2026, 2, 1), receipt_no="R1")
    r = adjustments.approve_recovery(r, rv)
    assert (r.status, r.approved_by) == ("open", rv)
    adjustments.repay(r, cw, amount=Decimal("748.28"), paid_on=dt.date(2026, 2, 1), receipt_no="R1")
    adjustments.repay(r, cw, amount=Decimal("748.28"), paid_on=dt.date(2026, 2, 1), receipt_no="R1")  # no-op
    r.refresh_from_db()
    assert r.repaid == Decimal("748.28") and r.balance == Decimal("2244.87")
    with pytest.raises(adjustments.Refused):
        adjustments.repay(r, cw, amount=Decimal("2244.88"), paid_on=dt.date(2026, 3, 1), receipt_no="R2")
    adjustments.repay(r, cw, amount=Decimal("2244.87"), paid_on=dt.date(2026, 3, 1), receipt_no="R2")
    r.refresh_from_db()
    assert r.status == "settled" and r.balance == 0
    # the database refuses a negative balance and a fine without fraud
    with pytest.raises(IntegrityError), transaction.atomic():
        Recovery.objects.filter(pk=r.pk).update(repaid=Decimal("3000.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Recovery.objects.filter(pk=r.pk).update(fraud=False)


def test_recovery_without_fraud_has_no_fine(personas):
    cw, rv = personas.caseworker_a, personas.reviewer
    h = family(cw, size=2, wage="0.00")
    decide(h, start=JAN)
    sync()
    pay_all(regular(cw, rv, JAN), cw)  # 1220.00 paid
    e = Entitlement.objects.get(household=h)
    with pytest.raises(adjustments.Refused):  # nothing overpaid under the same facts
        adjustments.create_recovery(e, cw, first_month=JAN, last_month=JAN, reason="复核")
    r = adjustments.create_recovery(e, cw, first_month=JAN, last_month=JAN, reason="死亡未报告", not_entitled=True)
    assert (r.overpaid, r.fine, r.total, r.fine_multiple) == (Decimal("1220.00"), 0, Decimal("1220.00"), None)


def test_adjust_page_makes_a_back_pay_run_and_refuses_other_roles(client, personas):
    from django.urls import reverse

    cw, rv = personas.caseworker_a, personas.reviewer
    regular(cw, rv, JAN)
    h = family(cw, wage="301.37")
    decide(h, start=JAN)
    sync()
    client.force_login(personas.policy_admin)
    assert client.get(reverse("payments:adjust")).status_code == 403
    assert client.get(reverse("payments:standards")).status_code == 403
    client.force_login(cw)
    r = client.get(reverse("payments:adjust"))
    assert r.status_code == 200 and "生成补发批次" in r.content.decode()
    r = client.post(reverse("payments:adjust"), {"bp-area": TOWN_A, "bp-through": "2026-01", "bp-programme": "all",
                                                 "backpay": "1"})  # fmt: skip
    run = PayrollRun.objects.get(kind="backpay")
    assert r.status_code == 302 and r["Location"] == reverse("payments:run", args=[run.pk])
    assert run.total_amount == Decimal("1528.63")  # January: 610.00 × 3 − 301.37
    r = client.post(reverse("payments:adjust"), {"bp-area": TOWN_A, "bp-through": "2026-01", "bp-programme": "all",
                                                 "backpay": "1"}, follow=True)  # fmt: skip
    assert "没有可以补发的月份" in r.content.decode() and PayrollRun.objects.filter(kind="backpay").count() == 1
    r = client.get(reverse("payments:run", args=[run.pk]))
    assert r.status_code == 200
