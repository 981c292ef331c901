"""Maker-checker, the database's constraints, export layouts, bank returns (re-import a no-op, unknown references
reported), re-issue after the account is corrected, and cancel."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from defusedxml import ElementTree as DET
from django.db import IntegrityError, transaction
from openpyxl import load_workbook

from jiuzhu.core import crypto
from jiuzhu.core.models import AuditEvent
from jiuzhu.payments import services
from jiuzhu.payments.exports import CSV_HEADERS, PAIN, export
from jiuzhu.payments.models import BankReturn, PayrollLine, PayrollRun
from jiuzhu.payments.returns import import_return
from jiuzhu.testing.fixtures import TOWN_A, make_user, villages

from .kit import MONTH, approved_run, change_account, exported_run, granted, paid_twice, return_csv, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def three(personas):
    vs = villages(TOWN_A)
    hs = [granted(personas.caseworker_a, vs[i % len(vs)]) for i in range(3)]
    sync()
    return hs


def test_maker_cannot_approve_own_run_in_code_and_in_the_database(personas, three):
    run = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a)
    with pytest.raises(services.Forbidden):
        services.approve(run, personas.caseworker_a)
    with pytest.raises(services.Refused):
        export(run, personas.caseworker_a)  # not approved
    with pytest.raises(IntegrityError), transaction.atomic():
        PayrollRun.objects.filter(pk=run.pk).update(approved_by=personas.caseworker_a, status="approved")
    with pytest.raises(IntegrityError), transaction.atomic():
        PayrollRun.objects.filter(pk=run.pk).update(status="approved")  # approved without a checker
    with pytest.raises(services.Forbidden):
        services.approve(run, personas.caseworker_b)  # another township's officer
    run = services.approve(run, personas.reviewer)
    assert (run.status, run.approved_by) == ("approved", personas.reviewer)
    with pytest.raises(services.Refused):
        services.approve(run, personas.reviewer)
    assert AuditEvent.objects.filter(action="payroll.approve", object_id=str(run.pk)).count() == 1


def test_constraints_hold_whatever_the_code_does(personas, three):
    run = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a)
    line = run.lines.first()
    with pytest.raises(IntegrityError), transaction.atomic():  # a second live run for the same request
        PayrollRun.objects.create(area_code=TOWN_A, month=MONTH, programme="dibao", made_by=personas.caseworker_a,
                                  request_hash="x")  # fmt: skip
    other = PayrollRun.objects.create(area_code=TOWN_A[:6], month=MONTH, programme="dibao", made_by=personas.reviewer,
                                      request_hash="y")  # fmt: skip

    def copy(**kw):
        fields = {f.attname: getattr(line, f.attname) for f in PayrollLine._meta.concrete_fields if f.attname != "id"}
        return PayrollLine.objects.create(**(fields | {"run_id": other.pk, "reference": "X1"} | kw))

    with pytest.raises(IntegrityError), transaction.atomic():  # the same household, programme and month again
        copy()
    with pytest.raises(IntegrityError), transaction.atomic():  # same person through another household
        copy(household_id=three[2].pk) if line.household_id != three[2].pk else copy(household_id=three[1].pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        copy(status="paid")
    with pytest.raises(IntegrityError), transaction.atomic():
        PayrollLine.objects.filter(pk=line.pk).update(amount=Decimal("0.00"))
    PayrollLine.objects.filter(pk=line.pk).update(status="failed")
    copy(status="pending")  # a failed line is not live: its replacement may be
    with pytest.raises(IntegrityError), transaction.atomic():
        PayrollLine.objects.filter(pk=line.pk).update(status="paid")


def test_export_layouts(personas, three):
    run = approved_run(personas.caseworker_a, personas.reviewer, TOWN_A)
    bundle = export(run, personas.caseworker_a)
    assert bundle.run.status == "exported"
    names = sorted(bundle.files)
    stem = f"payroll-{TOWN_A}-202601-dibao-{run.pk}"
    assert names == [f"{stem}.csv", f"{stem}.xlsx", f"{stem}.xml"]
    lines = list(run.lines.order_by("pk"))
    total = sum(ln.amount for ln in lines)
    # CSV: BOM, header, one row per line, full accounts, amounts with two decimals
    raw = bundle.files[f"{stem}.csv"]
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == CSV_HEADERS and len(rows) == 1 + len(lines)
    assert [r[1] for r in rows[1:]] == [ln.reference for ln in lines]
    assert {r[3] for r in rows[1:]} == {"6228480402564890018"}
    assert sum(Decimal(r[5]) for r in rows[1:]) == total and all(r[5].count(".") == 1 and len(r[5].split(".")[1]) == 2 for r in rows[1:])
    # pain.001: counts, control sum, one transaction per line with its reference
    doc = DET.fromstring(bundle.files[f"{stem}.xml"])
    ns = {"p": PAIN}
    assert doc.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", ns).text == str(len(lines))
    assert Decimal(doc.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", ns).text) == total
    txs = doc.findall("p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf", ns)
    assert [t.find("p:PmtId/p:EndToEndId", ns).text for t in txs] == [ln.reference for ln in lines]
    assert {t.find("p:Amt/p:InstdAmt", ns).get("Ccy") for t in txs} == {"CNY"}
    # the summary sheet a finance office signs: the township's row and the grand total
    wb = load_workbook(io.BytesIO(bundle.files[f"{stem}.xlsx"]))
    assert wb.sheetnames == ["发放明细", "汇总"]
    assert wb["发放明细"].max_row == 1 + len(lines)
    sm = [list(r) for r in wb["汇总"].iter_rows(values_only=True)]
    header = next(r for r in sm if r and r[0] == "区划代码")
    town = next(r for r in sm if r and r[0] == TOWN_A)
    grand = next(r for r in sm if r and r[0] == "合计")
    assert header[-2:] == ["合计人次", "合计金额"]
    assert town[-2:] == [len(lines), float(total)] and grand[-2:] == [len(lines), float(total)]
    assert any(r and r[0] == "财务负责人（签字）" for r in sm)
    # a second export is the same payment order, byte for byte
    again = export(run, personas.reviewer)
    assert again.files[f"{stem}.csv"] == raw and again.files[f"{stem}.xml"] == bundle.files[f"{stem}.xml"]
    assert AuditEvent.objects.filter(action="payroll.export", object_id=str(run.pk)).count() == 2


def test_csv_cells_are_neutralised(personas):
    from jiuzhu.registry.models import Household

    h = granted(personas.caseworker_a, villages(TOWN_A)[0])
    Household.objects.filter(pk=h.pk).update(bank_name="=HYPERLINK(1)")  # free text in the registry
    sync()
    run = approved_run(personas.caseworker_a, personas.reviewer, TOWN_A)
    raw = export(run, personas.caseworker_a).files[f"payroll-{TOWN_A}-202601-dibao-{run.pk}.csv"]
    assert "'=HYPERLINK(1)" in raw.decode("utf-8-sig")


def test_return_file_applies_once_reports_unknown_and_refuses_bad_rows(personas, three):
    run = exported_run(personas.caseworker_a, personas.reviewer, TOWN_A)
    a, b, c = run.lines.order_by("pk")
    bad = return_csv([(a.reference, "1.001", "成功", ""), (b.reference, str(b.amount), "失败", ""),
                      (c.reference, "99999.00", "OK", "")])  # fmt: skip
    res = import_return(bad, filename="bad.csv", actor=personas.reviewer)
    assert not res.applied
    assert [(e["row"], e["column"]) for e in res.errors] == [(2, "金额"), (3, "失败原因"), (4, "处理结果")]
    assert not BankReturn.objects.exists() and set(run.lines.values_list("status", flat=True)) == {"pending"}
    wrong_amount = return_csv([(a.reference, str(a.amount + 1), "成功", "")])
    res = import_return(wrong_amount, filename="w.csv", actor=personas.reviewer)
    assert [(e["row"], e["column"]) for e in res.errors] == [(2, "金额")]

    good = return_csv([(a.reference, str(a.amount), "成功", ""), (b.reference, str(b.amount), "失败", "账户已销户"),
                       ("JZ999999E1", "10.00", "成功", "")])  # fmt: skip
    res = import_return(good, filename="r1.csv", actor=personas.reviewer)
    assert res.applied and res.counts == {"rows": 3, "paid": 1, "failed": 1, "unchanged": 0, "unknown": 1, "conflicts": 0}
    assert res.unknown == [{"row": 4, "reference": "JZ999999E1"}]
    statuses = dict(run.lines.values_list("reference", "status"))
    assert statuses == {a.reference: "paid", b.reference: "failed", c.reference: "pending"}
    assert run.lines.get(pk=b.pk).failure_reason == "账户已销户"
    # the same file again: nothing happens
    again = import_return(good, filename="r1-copy.csv", actor=personas.reviewer)
    assert again.duplicate and not again.applied and BankReturn.objects.count() == 1
    assert dict(run.lines.values_list("reference", "status")) == statuses
    # another file saying the paid line failed: reported, not applied; the pending one is settled
    later = return_csv([(a.reference, str(a.amount), "失败", "误报"), (c.reference, str(c.amount), "成功", "")])
    res = import_return(later, filename="r2.csv", actor=personas.reviewer)
    assert res.counts["conflicts"] == 1 and res.counts["paid"] == 1
    assert run.lines.get(pk=a.pk).status == "paid"
    rec = services.reconciliation(run)
    assert rec["paid"] + rec["failed"] + rec["pending"] + rec["reissued"] == run.total_amount


def test_return_for_another_area_is_unknown(personas, three):
    run = exported_run(personas.caseworker_a, personas.reviewer, TOWN_A)
    a = run.lines.first()
    res = import_return(return_csv([(a.reference, str(a.amount), "成功", "")]), filename="x.csv", actor=personas.caseworker_b)
    assert res.applied and res.counts["unknown"] == 1 and run.lines.get(pk=a.pk).status == "pending"


def test_failed_line_reissued_after_account_corrected_never_paid_twice(personas, three):
    run = exported_run(personas.caseworker_a, personas.reviewer, TOWN_A)
    a, b, c = run.lines.order_by("pk")
    import_return(return_csv([(a.reference, str(a.amount), "成功", ""), (b.reference, str(b.amount), "失败", "账户已销户"),
                              (c.reference, str(c.amount), "失败", "户名不符")]), filename="r.csv", actor=personas.reviewer)  # fmt: skip
    with pytest.raises(services.Refused) as e:
        services.reissue(run, personas.caseworker_a)
    assert b.reference in str(e.value)  # the account is still the closed one
    change_account(personas.caseworker_a, b.household)
    re = services.reissue(run, personas.caseworker_a, line_ids=[b.pk])
    assert (re.kind, re.status, re.line_count, re.total_amount) == ("reissue", "generated", 1, b.amount)
    new = re.lines.get()
    assert (new.reissue_of_id, new.status, new.bank_account_masked[-4:]) == (b.pk, "pending", "4567")
    assert crypto.decrypt(new.bank_account_enc, context="household.bank_account") == "6217000010001234567"
    assert run.lines.get(pk=b.pk).status == "reissued"
    with pytest.raises(services.Refused):
        services.reissue(run, personas.caseworker_a, line_ids=[b.pk])  # already re-issued
    with pytest.raises(services.Forbidden):
        services.approve(re, personas.caseworker_a)
    services.approve(re, personas.reviewer)
    files = export(re, personas.caseworker_a).files
    assert any(name.endswith("-reissue.csv") for name in files)
    # the bank pays the re-issue; a late "paid" for the old line is a conflict, not a second payment
    res = import_return(return_csv([(new.reference, str(new.amount), "成功", ""), (b.reference, str(b.amount), "成功", "")]),
                        filename="r2.csv", actor=personas.reviewer)  # fmt: skip
    assert res.counts["paid"] == 1 and res.counts["conflicts"] == 1
    assert paid_twice() == []
    assert PayrollLine.objects.filter(household=b.household, status="paid").count() == 1
    rec = services.reconciliation(run)
    assert rec["paid"] + rec["failed"] + rec["reissued"] == run.total_amount


def test_cancel_frees_the_month_and_a_cancelled_reissue_frees_the_failed_line(personas, three):
    run = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a)
    with pytest.raises(services.Refused):
        services.cancel(run, personas.caseworker_a, " ")
    services.cancel(run, personas.caseworker_a, "参数录入有误")
    assert set(run.lines.values_list("status", flat=True)) == {"cancelled"}
    fresh = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a)
    assert fresh.pk != run.pk and fresh.line_count == 3
    services.approve(fresh, personas.reviewer)
    export(fresh, personas.reviewer)
    with pytest.raises(services.Refused):
        services.cancel(fresh, personas.caseworker_a, "晚了")  # the bank has it
    a = fresh.lines.first()
    import_return(return_csv([(a.reference, str(a.amount), "失败", "账户冻结")]), filename="r.csv", actor=personas.reviewer)
    change_account(personas.caseworker_a, a.household)
    re = services.reissue(fresh, personas.caseworker_a)
    services.cancel(re, personas.reviewer, "重发有误")
    assert fresh.lines.get(pk=a.pk).status == "failed"
    again = services.reissue(fresh, personas.caseworker_a)
    assert again.lines.get().reissue_of_id == a.pk


def test_second_officer_in_the_same_township_may_approve(personas, three):
    other = make_user("cw_a2", "caseworker", TOWN_A)
    run = approved_run(personas.caseworker_a, other, TOWN_A)
    assert run.approved_by == other
