"""动态管理 in Chromium (issue 6, acceptance 6): the township's caseworker opens 动态管理, generates the review tasks,
opens the household's review, runs the review's verification (a 税务 wage record shows the head in work, income
above the line), sees the engine propose 渐退 for Shaanxi's 12 months with its source, completes the review with
written reasons and downloads the 低保渐退通知书. The entitlement is then paid through the 12th month and stopped."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiuzhu.cases.models import Review
from jiuzhu.payments.models import Entitlement
from jiuzhu.payments.tests.kit import granted, sync
from jiuzhu.testing.fixtures import TOWN_A, make_personas, villages
from jiuzhu.testing.pdftext import text_of
from jiuzhu.verification.tests.test_run import feed

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_caseworker_completes_a_review_with_gradual_exit_and_prints_the_notice(session):
    p = make_personas()
    h = granted(p.caseworker_a, villages(TOWN_A)[0], amount="500.00", name="王渐退")
    sync()
    today = timezone.localdate()
    feed(h.members.order_by("pk").first(), "tax", "wage", amount=Decimal("3000.00"), period=today.replace(day=1))

    cw = session("cw_a")
    cw.click("[data-testid=nav-reviews]")
    cw.wait_for_url(re.compile(r"/cases/reviews/$"))
    cw.click("[data-testid=reviews-schedule]")
    cw.wait_for_url(re.compile(r"/cases/reviews/$"))
    review = Review.objects.get(household=h)
    assert review.kind == "scheduled" and review.status == "open"
    if review.due_on > today + dt.timedelta(days=30):  # (the first review is due a cycle after the start month)
        Review.objects.filter(pk=review.pk).update(due_on=today)
        cw.reload()
    row = cw.locator("[data-testid=review-row]", has_text=h.household_no)
    expect(row).to_be_visible()
    row.locator("[data-testid=review-link]").click()
    cw.wait_for_url(re.compile(rf"/cases/reviews/{review.pk}/$"))

    cw.click("[data-testid=review-verify]")
    expect(cw.locator("[data-testid=review-verification]")).to_contain_text("核对结论")
    expect(cw.locator("[data-testid=review-proposed]")).to_have_text("渐退")
    expect(cw.locator("[data-testid=review-exit-months]")).to_contain_text("12")
    expect(cw.locator("[data-testid=review-exit-months]")).to_contain_text("陕西省")
    cw.select_option("[name=outcome]", "gradual_exit")
    cw.fill("[name=reasons]", "户主已在县城就业，收入超过低保标准")
    cw.click("[data-testid=review-complete]")
    expect(cw.locator("[data-testid=review-status]")).to_have_text("已完成")
    expect(cw.locator("[data-testid=review-outcome]")).to_contain_text("渐退")
    cw.screenshot(path=str(ARTIFACTS / "review-gradual-exit.png"), full_page=True)

    href = cw.locator("[data-testid=review-notice]").get_attribute("href")
    r = cw.request.get(href)
    assert r.status == 200 and r.headers["content-type"] == "application/pdf" and r.body()[:5] == b"%PDF-"
    text = text_of(r.body()).replace("\n", "")
    assert "低保渐退通知书" in text and "12个月" in text and "户主已在县城就业" in text
    href = cw.locator("[data-testid=review-exit-notice]").get_attribute("href")
    r = cw.request.get(href)
    assert r.status == 200 and "停发通知书" in text_of(r.body()).replace("\n", "")

    done = Review.objects.get(pk=review.pk)
    assert (done.status, done.outcome, done.exit_months) == ("done", "gradual_exit", 12)
    e = Entitlement.objects.get(household=h)
    last = done.last_paid_month
    assert e.status == "stopped" and e.end_month == last
    assert (last.year * 12 + last.month) - (today.year * 12 + today.month) == 12  # next month + 11
