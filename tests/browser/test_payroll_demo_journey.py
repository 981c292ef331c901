"""The month's payroll on the demo county, in Chromium (issue 6, acceptance 1) — the data a new user meets after
``make demo``, not hand-made fixtures: ``jiuzhu demo-setup`` (divisions, 汉滨区's synthetic villages and households,
the demo accounts and cases, the departmental feeds, and the ``payroll-migrate`` step giving the registry's 低保 and
特困 recipients their entitlements), only smaller.

关庙镇's caseworker (cw_guanmiao) generates a month for the township with all programmes; the county reviewer
(rv_hanbin) approves it and downloads the bank CSV and the XLSX summary — the summary's 合计 equals the sum of the
CSV's lines to the 分; the caseworker imports the bank's return with two lines failed (账户已销户), corrects the two
households' accounts on their registry pages and re-issues them; the reviewer approves and exports the re-issue;
the same return file again changes nothing. Then 调标 (acceptance 2): the policy admin raises 安康市's rural 低保
standard from that month on the parameter pages; the caseworker's review (the 调标差额 tab) re-evaluates every
entitlement of the township and lists the differences, and the reviewer's approval makes the back-pay run whose
bank file pays exactly the review's total.

On PostgreSQL generation runs in a background thread and the run page polls its progress; on SQLite (the live
server's in-memory database is not visible to other threads) it runs in the request."""

from __future__ import annotations

import csv
import io
import re
import time
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from jiuzhu.accounts.demo import DEMO_PASSWORD
from jiuzhu.payments.models import Entitlement, PayrollLine, PayrollRun, StandardChange
from jiuzhu.registry.models import Household

from .conftest import ARTIFACTS
from .steps import download as _download
from .steps import wait_for_payroll_threads as _wait_for_threads

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOUSEHOLDS = 1000  # the demo county, small (20,000 in `make demo`): 关庙镇 gets a dozen or so entitlements
TOWNSHIP = "610902100"  # 关庙镇, cw_guanmiao's township
MONTH = f"{timezone.localdate():%Y-%m}"  # demo-setup migrates the recipients with this month as their first paid
CENT = Decimal("0.01")
RURAL = "dibao.standard.rural"
CITY = "6109"  # 安康市


def _login(session: Any, username: str, nav: str = "nav-payments") -> Any:
    pg = session(None)
    pg.goto("/login/")
    pg.fill("input[name=username]", username)
    pg.fill("input[name=password]", DEMO_PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_load_state()
    expect(pg.locator(f"[data-testid={nav}]")).to_be_visible()
    return pg


def _lines_state() -> list[tuple[Any, ...]]:
    return list(PayrollLine.objects.order_by("pk").values_list("pk", "status", "failure_reason", "settled_on"))  # fmt: skip


def test_demo_county_month_generated_approved_exported_returned_and_reissued(session, settings, tmp_path):
    settings.JIUZHU_JOBS_INLINE = connection.vendor == "sqlite"
    settings.VAR_DIR = tmp_path  # demo-setup writes the departmental feeds under var/feeds
    t0 = time.perf_counter()
    out = io.StringIO()
    call_command("demo_setup", households=HOUSEHOLDS, stdout=out)
    assert "payroll: entitlements migrated from the registry" in out.getvalue(), out.getvalue()
    in_town = Entitlement.objects.filter(area_code__startswith=TOWNSHIP, origin="migration")
    assert in_town.count() >= 4, out.getvalue()
    setup_s = time.perf_counter() - t0

    # 1. the caseworker generates the month for 关庙镇, all programmes
    cw = _login(session, "cw_guanmiao")
    cw.click("[data-testid=nav-payments]")
    cw.wait_for_url(re.compile(r"/payments/$"))
    cw.select_option("[name=area]", TOWNSHIP)
    cw.fill("[name=month]", MONTH)
    cw.select_option("[name=programme]", "all")
    cw.click("[data-testid=generate]")
    cw.wait_for_url(re.compile(r"/payments/runs/\d+/$"))
    status = cw.locator("[data-testid=run-status]")
    expect(status).to_have_attribute("data-status", "generated", timeout=60_000)
    _wait_for_threads()
    run = PayrollRun.objects.get()
    assert (run.area_code, f"{run.month:%Y-%m}", run.programme, run.made_by.username) == (
        TOWNSHIP, MONTH, "all", "cw_guanmiao")  # fmt: skip
    assert run.line_count >= 4
    lines_sum = sum(run.lines.values_list("amount", flat=True), Decimal("0.00"))
    assert run.total_amount == lines_sum
    assert run.line_count + run.skips.count() == in_town.count()
    expect(cw.locator("[data-testid=line-count]")).to_have_text(f"{run.line_count:,}")
    expect(cw.locator("[data-testid=total-amount]")).to_have_text(str(run.total_amount))
    expect(cw.locator("[data-testid=maker-note]")).to_be_visible()
    expect(cw.locator("[data-testid=approve]")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    cw.screenshot(path=str(ARTIFACTS / "demo-payroll-generated.png"), full_page=True)

    # 2. the county reviewer approves and downloads the bank CSV and the summary workbook
    rv = _login(session, "rv_hanbin")
    rv.click("[data-testid=nav-payments]")
    rv.click(f"[data-testid=run-row][data-run='{run.pk}'] a")
    rv.wait_for_url(re.compile(rf"/payments/runs/{run.pk}/$"))
    rv.click("[data-testid=approve]")
    expect(rv.locator("[data-testid=run-status]")).to_have_attribute("data-status", "approved")
    name, data = _download(rv, "export-csv")
    assert name == f"payroll-{TOWNSHIP}-{MONTH.replace('-', '')}-all-{run.pk}.csv"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    csv_total = sum((Decimal(r["金额"]) for r in rows), Decimal("0.00"))
    assert len(rows) == run.line_count and csv_total == run.total_amount
    name, data = _download(rv, "export-xlsx")
    assert name.endswith(".xlsx")
    summary = [r for r in load_workbook(io.BytesIO(data))["汇总"].iter_rows(values_only=True) if r]
    grand = next(r for r in summary if r[0] == "合计")
    values = [v for v in grand if v not in (None, "")]
    assert Decimal(str(values[-1])).quantize(CENT) == csv_total  # to the 分
    assert values[-2] == len(rows)
    run.refresh_from_db()
    assert run.status == "exported" and run.approved_by.username == "rv_hanbin"
    rv.screenshot(path=str(ARTIFACTS / "demo-payroll-exported.png"), full_page=True)

    # 3. the bank's return: two lines failed (closed accounts), the rest paid
    failing = {rows[0]["业务参考号"], rows[-1]["业务参考号"]}
    body = ["业务参考号,金额,处理结果,失败原因,处理日期"]
    for r in rows:
        bad = r["业务参考号"] in failing
        body.append(f"{r['业务参考号']},{r['金额']},{'失败' if bad else '成功'},{'账户已销户' if bad else ''},"
                    f"{MONTH}-15")  # fmt: skip
    ret = ("\r\n".join(body) + "\r\n").encode()
    cw.click("[data-testid=nav-payments]")
    cw.click("[data-testid=tab-returns]")
    cw.set_input_files("[name=file]", files=[{"name": "return.csv", "mimeType": "text/csv", "buffer": ret}])
    cw.click("[data-testid=return-upload]")
    expect(cw.locator("[data-testid=return-applied]")).to_be_visible()
    expect(cw.locator("[data-testid=count-failed]")).to_have_text("2")
    expect(cw.locator("[data-testid=count-paid]")).to_have_text(str(len(rows) - 2))
    failed = list(PayrollLine.objects.filter(run=run, status="failed").order_by("pk"))
    assert {ln.reference for ln in failed} == failing
    # the returns page says where to go next: the run with the failed lines
    expect(cw.locator(f"[data-testid=failed-run][data-run='{run.pk}']")).to_contain_text("2")
    cw.click(f"[data-testid=failed-run][data-run='{run.pk}'] a")
    cw.wait_for_url(re.compile(rf"/payments/runs/{run.pk}/$"))
    expect(cw.locator("[data-testid=failed-row]")).to_have_count(2)

    # 4. the accounts corrected on the households' registry pages, then the failed lines re-issued
    for i, ln in enumerate(failed):
        cw.goto(f"/payments/runs/{run.pk}/")
        row = cw.locator(f"[data-testid=failed-row][data-reference='{ln.reference}']")
        row.locator("[data-testid=correct-account]").click()
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
    new_accounts = set(again.lines.values_list("bank_account_bi", flat=True))
    assert new_accounts == set(Household.objects.filter(pk__in=[ln.household_id for ln in failed])
                               .values_list("bank_account_bi", flat=True))  # fmt: skip

    # 5. the other officer approves and exports the re-issue
    rv.goto(f"/payments/runs/{again.pk}/")
    rv.click("[data-testid=approve]")
    expect(rv.locator("[data-testid=run-status]")).to_have_attribute("data-status", "approved")
    name, data = _download(rv, "export-csv")
    assert name.endswith("-reissue.csv")
    reissued = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert sum((Decimal(r["金额"]) for r in reissued), Decimal("0.00")) == again.total_amount
    again.refresh_from_db()
    assert again.status == "exported"

    # 6. the same return again changes nothing
    before = _lines_state()
    cw.goto("/payments/returns/")
    cw.set_input_files("[name=file]", files=[{"name": "return.csv", "mimeType": "text/csv", "buffer": ret}])
    cw.click("[data-testid=return-upload]")
    expect(cw.locator("[data-testid=return-duplicate]")).to_be_visible()
    assert _lines_state() == before
    statuses = list(PayrollLine.objects.filter(run=run).values_list("status", flat=True))
    assert statuses.count("reissued") == 2 and statuses.count("paid") == len(rows) - 2
    cw.screenshot(path=str(ARTIFACTS / "demo-payroll-return-duplicate.png"), full_page=True)

    # 7. 调标 (acceptance 2): the policy admin raises 安康市's rural 低保 standard from the month; the caseworker's
    # review re-evaluates every entitlement of the township and lists the differences before the reviewer approves
    pa = _login(session, "pa_shaanxi", nav="nav-policy")
    pa.goto(f"/policy/parameters/{RURAL}/change/")
    pa.select_option("select[name=scope]", CITY)
    pa.fill("input[name=value]", "640.00")
    pa.fill("input[name=effective_from]", f"{MONTH}-01")
    pa.fill("input[name=source]", "安政办发〔2026〕30号 关于提高城乡低保标准的通知")
    pa.click("[data-testid=preview]")
    expect(pa.locator("[data-testid=preview-result]")).to_be_visible(timeout=60_000)
    pa.click("[data-testid=save]")
    pa.wait_for_url(re.compile(rf"/policy/parameters/{re.escape(RURAL)}/$"))
    cw.goto("/payments/")
    cw.click("[data-testid=tab-standards]")
    cw.fill("[name=effective_month]", MONTH)
    cw.fill("[name=through]", MONTH)
    cw.click("[data-testid=preview]")
    cw.wait_for_url(re.compile(r"/payments/standards/\d+/$"))
    review_status = cw.locator("[data-testid=standard-status]")
    expect(review_status).to_have_attribute("data-status", "previewed", timeout=60_000)
    review = StandardChange.objects.get()
    assert review.entitlements == in_town.count()  # every entitlement of the township re-evaluated
    expect(cw.locator("[data-testid=standard-changes]")).to_contain_text("640.00")
    expect(cw.locator("[data-testid=standard-area]")).to_contain_text("关庙镇")
    expect(cw.locator("[data-testid=difference]")).to_have_count(len(review.rows))
    backpay_sum = sum((Decimal(r["backpay"]) for r in review.rows), Decimal("0"))
    assert review.rows and review.backpay_total == backpay_sum
    expect(cw.locator("[data-testid=backpay-total]")).to_have_text(str(review.backpay_total))
    expect(cw.locator("[data-testid=maker-note]")).to_be_visible()
    cw.screenshot(path=str(ARTIFACTS / "demo-standard-review.png"), full_page=True)
    rv.goto(f"/payments/standards/{review.pk}/")
    rv.click("[data-testid=approve]")
    rv.wait_for_url(re.compile(r"/payments/runs/\d+/$"))
    backpay = PayrollRun.objects.get(kind="backpay")
    assert backpay.total_amount == review.backpay_total and backpay.line_count == sum(
        1 for r in review.rows for m in r["months"] if Decimal(m["due"]) > Decimal(m["paid"]))  # fmt: skip
    expect(rv.locator("[data-testid=backpay-of]")).to_contain_text(f"#{review.pk}")
    name, data = _download(rv, "export-csv")
    supplements = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert sum((Decimal(r["金额"]) for r in supplements), Decimal("0.00")) == review.backpay_total
    print(f"demo-setup {setup_s:.1f} s; {run.line_count} lines, {run.total_amount} 元; re-issue {again.total_amount}; "
          f"调标 {len(review.rows)} differences, back-pay {review.backpay_total}")  # fmt: skip
