"""Acceptance 6: login → search → open a household → edit → see the history, in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from jiuzhu.registry.models import Household
from jiuzhu.testing.fixtures import PASSWORD, TOWN_A, make_household, make_personas, villages

from .conftest import ARTIFACTS, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_caseworker_search_open_edit_history(page):
    p = make_personas()
    hh = make_household(p.caseworker_a, villages(TOWN_A)[0], size=3, name="欧阳秀兰")
    make_household(p.caseworker_a, villages(TOWN_A)[1], size=2, name="陈建国")

    login(page, "cw_a", PASSWORD)
    page.wait_for_url(re.compile(r"/households/"))
    page.fill("[data-testid=search-q]", "欧阳")
    page.click("[data-testid=search-submit]")
    table = page.locator("[data-testid=household-table]")
    # the unfiltered list already shows both; wait for htmx to swap in the search result
    expect(table).not_to_contain_text("陈建国")
    expect(table).to_contain_text(hh.household_no)

    table.get_by_role("link", name=hh.household_no).click()
    page.wait_for_url(re.compile(rf"/households/{hh.pk}/$"))
    members = page.locator("[data-testid=members]").inner_text()
    assert "欧阳秀兰" in members
    assert not re.search(r"\d{17}[\dX]", page.content()), "full ID number on the page"

    page.click("[data-testid=edit-household]")
    page.fill("input[name=address]", "关庙镇二组18号")
    page.fill("input[name=reason]", "入户核实地址")
    page.click("[data-testid=save]")
    page.wait_for_url(re.compile(rf"/households/{hh.pk}/$"))
    assert page.locator("[data-testid=address]").inner_text() == "关庙镇二组18号"
    history = page.locator("[data-testid=history]").inner_text()
    assert "入户核实地址" in history and "关庙镇二组18号" in history and "cw_a" in history
    page.screenshot(path=str(ARTIFACTS / "registry-journey.png"), full_page=True)
    assert Household.objects.get(pk=hh.pk).address == "关庙镇二组18号"


def test_phone_viewport_list_is_usable(page):
    p = make_personas()
    make_household(p.caseworker_a, villages(TOWN_A)[0], name="张小花")
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "cw_a", PASSWORD)
    page.wait_for_url(re.compile(r"/households/"))
    # no horizontal scrolling of the whole page on a phone
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.locator("[data-testid=household-table]").is_visible()
