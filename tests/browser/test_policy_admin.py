"""A policy admin opens the parameter tree, previews raising the rural 低保 standard and saves it, in a real
browser; and the tree is usable on a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from jiuzhu.accounts.roles import Role
from jiuzhu.policyadmin.models import ParameterChange
from jiuzhu.policyadmin.store import current_store
from jiuzhu.policyadmin.tests import factories
from jiuzhu.testing.fixtures import CITY, PASSWORD, PROVINCE, make_personas, make_user

from .conftest import ARTIFACTS, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RURAL = "dibao.standard.rural"


def test_tree_preview_and_save_a_standard_change(page):
    p = make_personas()
    hh = factories.three(p.caseworker_a)
    make_user("pa_demo", Role.POLICY_ADMIN, PROVINCE, is_demo=True)  # demo accounts skip TOTP in demo mode

    login(page, "pa_demo", PASSWORD)
    page.click("[data-testid=nav-policy]")
    page.wait_for_url(re.compile(r"/policy/parameters/$"))
    rural = page.locator(f"tr[data-key='{RURAL}']")
    expect(rural.first).to_contain_text("农村低保标准")
    expect(rural.locator("[data-testid=badge-L]").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "policy-tree.png"), full_page=False)

    page.click(f"[data-testid='change-{RURAL}']")
    page.wait_for_url(re.compile(rf"/policy/parameters/{re.escape(RURAL)}/change/"))
    page.select_option("select[name=scope]", CITY)
    page.fill("input[name=value]", "700.00")
    page.fill("input[name=effective_from]", factories.ON.isoformat())
    page.fill("input[name=source]", "安政办发〔2025〕99号")
    page.click("[data-testid=preview]")
    result = page.locator("[data-testid=preview-result]")
    expect(result).to_be_visible()
    expect(page.locator("[data-testid=eligible-dibao]")).to_have_text("1 → 2")
    expect(page.locator("[data-testid=preview-households]")).to_contain_text(hh["newly"].household_no)
    expect(page.locator("[data-testid=preview-households]")).to_contain_text("李*增")
    assert "李新增" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "policy-preview.png"), full_page=True)
    assert not ParameterChange.objects.exists()

    page.click("[data-testid=save]")
    page.wait_for_url(re.compile(rf"/policy/parameters/{re.escape(RURAL)}/$"))
    expect(page.locator("[role=status]")).to_contain_text("已保存")
    expect(page.locator("[data-testid=changes]")).to_contain_text("安政办发〔2025〕99号")
    page.screenshot(path=str(ARTIFACTS / "policy-detail.png"), full_page=True)
    change = ParameterChange.objects.get()
    assert (change.value, change.area_code, change.created_by.username) == ("700.00", CITY, "pa_demo")
    assert current_store().resolve(RURAL, hh["newly"].area_code, factories.ON).value == "700.00"


def test_phone_viewport_tree_is_usable(page):
    make_personas()
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "cw_a", PASSWORD)
    page.wait_for_url(re.compile(r"/households/"))
    page.goto("/policy/parameters/?programme=dibao")
    expect(page.locator("[data-testid=tree-dibao]")).to_be_visible()
    # tables scroll inside their own box; the page itself does not scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "policy-tree-phone.png"), full_page=False)
