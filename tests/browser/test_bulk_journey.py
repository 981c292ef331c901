"""Bulk re-verification in Chromium (动态管理): the county 核对 centre opens 批量核对 from the navigation, starts a
job for a township, watches its progress reach the end, reads the counts and the households needing attention,
and opens one's report. On PostgreSQL the job runs in its background thread and the page polls for it; on
SQLite (the live server's in-memory database is not visible to other threads) it runs in the request."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
from decimal import Decimal

import pytest
from django.db import connection
from playwright.sync_api import expect

from jiuzhu.batch.models import JobRun
from jiuzhu.cases.tests.kit import registered_household
from jiuzhu.registry.models import HouseholdEconomy
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, make_personas, villages
from jiuzhu.verification.bulk import KIND
from jiuzhu.verification.models import FeedRecord, VerificationRun

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ON = dt.date(2025, 12, 15)
_key = itertools.count()


def _rec(person, source, kind, period, amount, category="") -> FeedRecord:
    return FeedRecord(source=source, kind=kind, person_bi=person.id_number_bi, area_code=person.area_code,
                      amount=Decimal(amount), category=category, period=period, natural_key=f"b{next(_key)}")  # fmt: skip


def test_verifier_runs_bulk_reverification_and_reads_the_result(session, settings):
    settings.JIUZHU_JOBS_INLINE = connection.vendor == "sqlite"
    p = make_personas()
    village = villages(TOWN_A)[0]
    made = {"clean": registered_household(p.caseworker_a, village, size=2, name="孙清白"),
            "car": registered_household(p.caseworker_a, village, size=2, name="李小河"),
            "stopped": registered_household(p.caseworker_a, village, size=2, name="王工资"),
            "other": registered_household(p.caseworker_b, villages(TOWN_B)[0], size=1, name="冯外乡")}  # fmt: skip
    HouseholdEconomy.objects.filter(household__in=made.values()).update(current_dibao=True,
                                                                         current_dibao_amount=Decimal("300"))  # fmt: skip
    heads = {k: h.members.order_by("pk").first() for k, h in made.items()}
    FeedRecord.objects.bulk_create([_rec(heads["car"], "vehicle", "vehicle", dt.date(2024, 5, 1), "68000", "car"),
                                    _rec(heads["stopped"], "hrss", "wage", dt.date(2025, 6, 1), "1800")])  # fmt: skip

    vf = session("vf")
    vf.click("[data-testid=nav-verify-bulk]")
    vf.wait_for_url(re.compile(r"/verification/bulk/$"))
    vf.select_option("[name=area]", TOWN_A)
    vf.fill("[name=on]", ON.isoformat())
    expect(vf.locator("[name=programme]")).to_have_value("dibao")
    vf.click("[data-testid=bulk-start]")
    vf.wait_for_url(re.compile(r"/verification/bulk/\d+/$"))
    status = vf.locator("[data-testid=job-status]")
    expect(status).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(vf.locator("[data-testid=job-progress]")).to_have_attribute("value", "3")
    expect(vf.locator("[data-testid=job-done]")).to_contain_text("3 / 3")
    expect(vf.locator("[data-testid=count-households]")).to_have_text("3")
    expect(vf.locator("[data-testid=count-verified]")).to_have_text("3")
    job = JobRun.objects.get(kind=KIND)
    for t in threading.enumerate():  # the thread audits the job after marking it done: let it finish
        if t.name == f"verify-{job.pk}":
            t.join(timeout=60)
    assert job.status == "succeeded" and job.area_code == TOWN_A and job.counts["households"] == 3
    attention = VerificationRun.objects.filter(job=job, conclusion__in=["fails", "investigate"])
    expect(vf.locator("[data-testid=attention-row]")).to_have_count(attention.count())
    expect(vf.locator("[data-testid=attention]")).to_contain_text(made["stopped"].household_no)
    expect(vf.locator("[data-testid=count-findings]")).to_contain_text("工资性收入")
    vf.screenshot(path=str(ARTIFACTS / "verification-bulk-job.png"), full_page=True)
    # a household's report from the list
    stopped = attention.get(household=made["stopped"])
    vf.locator(f"[data-testid=attention] a[href='/verification/runs/{stopped.pk}/']").click()
    vf.wait_for_url(re.compile(rf"/verification/runs/{stopped.pk}/$"))
    expect(vf.locator("[data-testid=conclusion]")).to_have_attribute("data-conclusion", "investigate")
    expect(vf.locator("[data-testid=findings]")).to_contain_text("中断")
    # the list of jobs
    vf.goto("/verification/bulk/")
    expect(vf.locator("[data-testid=bulk-job-row]")).to_have_count(1)
    expect(vf.locator("[data-testid=bulk-jobs]")).to_contain_text(ON.isoformat())
    # the township's caseworker has no entry and is refused
    cw = session("cw_a")
    expect(cw.locator("[data-testid=nav-verify-bulk]")).to_have_count(0)
    assert cw.request.get(f"/verification/bulk/{job.pk}/").status == 403
