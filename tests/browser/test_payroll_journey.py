"""The month's payroll in Chromium, end to end (issue 6, acceptance 1): the township's caseworker generates January
for the township with all programmes (decided entitlements and a recipient migrated from the registry), the county
reviewer — a second officer — approves it and downloads the CSV and the XLSX summary (the summary's total equals
the sum of the CSV's lines to the 分), the caseworker imports the bank's return with two lines failed (账户已销户);
re-issue is refused until the households' accounts are corrected on their registry pages, then the failed lines
are re-issued and the re-issue approved by the reviewer; the same return file again changes nothing.

On PostgreSQL the generation runs in a background thread and the run page polls its progress; on SQLite (the live
server's in-memory database is not visible to other threads) it runs in the request."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from openpyxl import load_workbook
from playwright.sync_api import expect

from jiuzhu.cases.tests.kit import registered_household
from jiuzhu.payments import services
from jiuzhu.payments.models import Entitlement, PayrollLine, PayrollRun
from jiuzhu.payments.tests.kit import MONTH, granted, sync
from jiuzhu.registry.models import Household, HouseholdEconomy
from jiuzhu.testing.fixtures import TOWN_A, make_personas, villages

from .conftest import ARTIFACTS
from .steps import download as _download
from .steps import wait_for_payroll_threads as _wait_for_threads

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_month_payroll_generated_approved_exported_returned_and_reissued(session, settings):
    settings.JIUZHU_JOBS_INLINE = connection.vendor == "sqlite"
    p = make_personas()
    vs = villages(TOWN_A)
    decided = [granted(p.caseworker_a, vs[i % 2], name=n) for i, n in enumerate(("王大山", "李小河", "赵春花"))]
    granted(p.caseworker_a, vs[1], programme="elderly", amount="100.00", name="孙长寿")  # too young: a skip
    sync()
    migrated = registered_household(p.caseworker_a, vs[0], name="冯旧册")
    HouseholdEconomy.objects.filter(household=migrated).update(current_dibao=True, current_dibao_amount=Decimal("280"))
    services.entitlements_from_registry(TOWN_A, p.caseworker_a, start=MONTH)
    assert Entitlement.objects.filter(origin="migration").count() == 1

    # 1. the caseworker generates the month for the township, all programmes
    cw = session("cw_a")
    cw.click("[data-testid=nav-payments]")
    cw.wait_for_url(re.compile(r"/payments/$"))
    cw.select_option("[name=area]", TOWN_A)
    cw.fill("[name=month]", MONTH.strftime("%Y-%m"))
    cw.select_option("[name=programme]", "all")
    cw.click("[data-testid=generate]")
    cw.wait_for_url(re.compile(r"/payments/runs/\d+/$"))
    expect(cw.locator("[data-testid=run-status]")).to_have_attribute("data-status", "generated", timeout=60_000)
    _wait_for_threads()
    run = PayrollRun.objects.get()
    assert (run.area_code, run.month, run.programme, run.made_by) == (TOWN_A, MONTH, "all", p.caseworker_a)
    paid_households = set(run.lines.values_list("household_id", flat=True))
    assert paid_households == {h.pk for h in [*decided, migrated]}
    expect(cw.locator("[data-testid=line-count]")).to_have_text(str(run.line_count))
    expect(cw.locator("[data-testid=total-amount]")).to_have_text(f"{run.total_amount}")
    expect(cw.locator("[data-testid=skip-not_eligible]")).to_have_text("1")
    expect(cw.locator("[data-testid=maker-note]")).to_be_visible()
    expect(cw.locator("[data-testid=approve]")).to_have_count(0)
    expect(cw.locator("[data-testid=line-row]").first).to_contain_text("*")  # masked accounts only
    cw.screenshot(path=str(ARTIFACTS / "payroll-run-generated.png"), full_page=True)
    # the same request again lands on the same run
    cw.goto("/payments/")
    cw.select_option("[name=area]", TOWN_A)
    cw.fill("[name=month]", MONTH.strftime("%Y-%m"))
    cw.click("[data-testid=generate]")
    cw.wait_for_url(re.compile(rf"/payments/runs/{run.pk}/$"))
    assert PayrollRun.objects.count() == 1

    # 2. the county reviewer approves and downloads the bank CSV and the summary workbook
    rv = session("rv")
    rv.click("[data-testid=nav-payments]")
    rv.click(f"[data-testid=run-row][data-run='{run.pk}'] a")
    rv.wait_for_url(re.compile(rf"/payments/runs/{run.pk}/$"))
    rv.click("[data-testid=approve]")
    expect(rv.locator("[data-testid=run-status]")).to_have_attribute("data-status", "approved")
    expect(rv.locator("[data-testid=approved-by]")).not_to_have_text("—")
    name, data = _download(rv, "export-csv")
    assert name.endswith(".csv") and name.startswith(f"payroll-{TOWN_A}-{MONTH:%Y%m}-all-{run.pk}")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    csv_total = sum((Decimal(r["金额"]) for r in rows), Decimal("0.00"))
    assert len(rows) == run.line_count and csv_total == run.total_amount
    name, data = _download(rv, "export-xlsx")
    assert name.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(data))["汇总"]
    grand = next(r for r in sheet.iter_rows(values_only=True) if r and r[0] == "合计")
    values = [v for v in grand if v not in (None, "")]
    assert Decimal(str(values[-1])).quantize(Decimal("0.01")) == csv_total  # to the 分
    assert values[-2] == len(rows)
    run.refresh_from_db()
    assert run.status == "exported" and run.approved_by == p.reviewer
    rv.screenshot(path=str(ARTIFACTS / "payroll-run-exported.png"), full_page=True)

    # 3. the bank's return: two lines failed (closed accounts), the rest paid
    failing = rows[:2]
    body = ["业务参考号,金额,处理结果,失败原因,处理日期"]
    for r in rows:
        bad = r in failing
        body.append(f"{r['业务参考号']},{r['金额']},{'失败' if bad else '成功'},{'账户已销户' if bad else ''},2026-01-15")
    ret = ("\r\n".join(body) + "\r\n").encode()
    cw.click("[data-testid=nav-payments]")
    cw.click("[data-testid=tab-returns]")
    cw.set_input_files("[name=file]", files=[{"name": "return-202601.csv", "mimeType": "text/csv", "buffer": ret}])
    cw.click("[data-testid=return-upload]")
    expect(cw.locator("[data-testid=return-applied]")).to_be_visible()
    expect(cw.locator("[data-testid=count-failed]")).to_have_text("2")
    expect(cw.locator("[data-testid=count-paid]")).to_have_text(str(len(rows) - 2))
    failed = list(PayrollLine.objects.filter(run=run, status="failed").order_by("pk"))
    assert {ln.reference for ln in failed} == {r["业务参考号"] for r in failing}

    # 4. re-issue is refused until the accounts are corrected
    cw.goto(f"/payments/runs/{run.pk}/")
    expect(cw.locator("[data-testid=failed-row]")).to_have_count(2)
    cw.click("[data-testid=reissue]")
    expect(cw.locator(".alert").first).to_be_visible()
    expect(cw.locator("body")).to_contain_text("银行账号尚未更正")
    assert PayrollRun.objects.count() == 1
    for i, ln in enumerate(failed):
        cw.goto(f"/payments/runs/{run.pk}/")
        cw.locator(f"[data-testid=failed-row][data-reference='{ln.reference}'] [data-testid=correct-account]").click()
        cw.wait_for_url(re.compile(rf"/households/{ln.household_id}/edit/$"))
        cw.fill("[name=bank_account]", f"62170000100012345{i}7")
        cw.fill("[name=reason]", "原账户已销户，更正银行账号")
        cw.click("[data-testid=save]")
        cw.wait_for_url(re.compile(rf"/households/{ln.household_id}/$"))
    cw.goto(f"/payments/runs/{run.pk}/")
    expect(cw.locator("[data-testid=account-corrected]")).to_have_count(2)
    cw.click("[data-testid=reissue]")
    cw.wait_for_url(re.compile(r"/payments/runs/\d+/$"))
    again = PayrollRun.objects.get(kind="reissue")
    assert cw.url.endswith(f"/payments/runs/{again.pk}/")
    assert again.line_count == 2 and again.total_amount == sum((ln.amount for ln in failed), Decimal("0.00"))
    expect(cw.locator("[data-testid=reissue-of]")).to_contain_text(f"#{run.pk}")
    expect(cw.locator("[data-testid=maker-note]")).to_be_visible()
    new_accounts = set(again.lines.values_list("bank_account_bi", flat=True))
    assert new_accounts == set(Household.objects.filter(pk__in=[ln.household_id for ln in failed])
                               .values_list("bank_account_bi", flat=True))  # fmt: skip

    # 5. the other officer approves the re-issue
    rv.goto(f"/payments/runs/{again.pk}/")
    rv.click("[data-testid=approve]")
    expect(rv.locator("[data-testid=run-status]")).to_have_attribute("data-status", "approved")
    name, data = _download(rv, "export-csv")
    assert name.endswith("-reissue.csv") and len(list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))) == 2

    # 6. the same return again changes nothing
    before = list(PayrollLine.objects.order_by("pk").values_list("pk", "status", "failure_reason", "settled_on"))
    cw.goto("/payments/returns/")
    cw.set_input_files("[name=file]", files=[{"name": "return-202601.csv", "mimeType": "text/csv", "buffer": ret}])
    cw.click("[data-testid=return-upload]")
    expect(cw.locator("[data-testid=return-duplicate]")).to_be_visible()
    assert list(PayrollLine.objects.order_by("pk").values_list("pk", "status", "failure_reason", "settled_on")) == before
    statuses = dict(PayrollLine.objects.filter(run=run).values_list("reference", "status"))
    assert sorted(statuses.values()).count("reissued") == 2
    cw.screenshot(path=str(ARTIFACTS / "payroll-return-duplicate.png"), full_page=True)
