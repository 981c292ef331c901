"""A caseworker opens a household, clicks 政策评估 and reads a programme's result; on paper the navigation is
gone. The page fixture fails the test on any request to another origin or any browser error (CSP included)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from jiuzhu.registry.models import HouseholdEconomy, Person, PersonEconomy
from jiuzhu.testing.fixtures import PASSWORD, TOWN_A, make_household, make_personas, villages

from .conftest import ARTIFACTS, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_open_household_click_evaluate_see_result_and_print_layout(page):
    p = make_personas()
    hh = make_household(p.caseworker_a, villages(TOWN_A)[0], size=3, name="欧阳秀兰")
    HouseholdEconomy.objects.create(household=hh, area_code=hh.area_code, financial=Decimal("2000.00"),
                                    as_of=dt.date(2024, 6, 1))  # fmt: skip
    for person in Person.objects.filter(household=hh):
        PersonEconomy.objects.create(person=person, area_code=person.area_code, as_of=dt.date(2024, 6, 1))

    login(page, "cw_a", PASSWORD)
    page.wait_for_url(re.compile(r"/households/"))
    page.goto(f"/households/{hh.pk}/")
    page.click("[data-testid=evaluate-household]")
    page.wait_for_url(re.compile(rf"/households/{hh.pk}/evaluate/$"))

    page.fill("#eval-date", "2024-07-01")
    page.click("[data-testid=evaluate-submit]")
    page.wait_for_url(re.compile(r"date=2024-07-01"))
    dibao = page.locator("[data-testid=programme-dibao]")
    expect(dibao).to_contain_text("最低生活保障")
    expect(dibao.locator("[data-testid=state]")).to_have_text(re.compile("符合|不符合"))
    expect(dibao.locator("[data-testid=reasons]")).to_contain_text("农村低保标准")
    expect(page.locator("[data-testid=unit]")).to_contain_text("欧阳秀兰")
    expect(page.locator("[data-testid=badge-L]").first).to_be_visible()
    assert not re.search(r"\d{17}[\dX]", page.content()), "full ID number on the page"

    page.emulate_media(media="print")
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.locator("[data-testid=date-form]")).to_be_hidden()
    expect(page.locator("[data-testid=print]")).to_be_hidden()
    expect(page.locator("[data-testid=signatures]")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "evaluate-print.png"), full_page=True)
    page.emulate_media(media="screen")
    expect(page.locator("[data-testid=print]")).to_be_visible()
    # the 打印 button calls window.print() from the site's own script (no inline handler under the CSP)
    page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    page.click("[data-testid=print]")
    assert page.evaluate("window.__printed") == 1
