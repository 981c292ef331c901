"""Acceptance 1 and 2 of the applications issue, in Chromium: each journey clicks through the real pages as the
township caseworker and the county reviewer (two browser sessions), and the applicant follows it on the portal.

Waiting out the 7-day publicity is the one thing a browser cannot do: the test moves the posted notice's dates
back by eight days in the database ("a week passes") and says so where it happens."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db.models import F
from playwright.sync_api import Page, expect

from jiuzhu.cases.models import Case, Publicity
from jiuzhu.cases.tests.kit import head_id, registered_household
from jiuzhu.testing.fixtures import TOWN_A, make_personas, villages

from .conftest import ARTIFACTS
from .steps import do

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_week_passes(case: Case) -> None:
    """The 7-day publicity cannot be waited out in a test: move the notice back eight days."""
    Publicity.objects.filter(case=case, kind="publicity").update(starts_on=F("starts_on") - dt.timedelta(days=8),
                                                                ends_on=F("ends_on") - dt.timedelta(days=8))  # fmt: skip


def pdf_ok(pg: Page, case: Case, kind: str) -> None:
    r = pg.request.get(f"/cases/{case.pk}/documents/{kind}.pdf")
    assert r.status == 200 and r.headers["content-type"] == "application/pdf" and r.body()[:5] == b"%PDF-", kind


def test_dibao_window_to_publication(session):
    """Staff side of the 低保 journey (the portal side is in test_portal_journey)."""
    p = make_personas()
    h = registered_household(p.caseworker_a, villages(TOWN_A)[0], size=2, name="王大山")
    cw, rv = session("cw_a"), session("rv")
    cw.goto("/cases/new/")
    cw.select_option("[name=programme]", "dibao")
    cw.select_option("[name=area_code]", h.area_code)
    cw.fill("[name=applicant_name]", "王大山")
    cw.fill("[name=applicant_id]", head_id(h))
    cw.fill("[name=household_size]", "2")
    cw.fill("[name=summary]", "务工收入中断，申请低保")
    cw.click("[data-testid=submit]")
    cw.wait_for_url(re.compile(r"/cases/\d+/$"))
    case = Case.objects.get()
    assert case.household_id == h.pk
    do(cw, case, "request_materials", {"items": ["income_statement"], "signer_name": "王大山",
                                       "signed_commitment": True, "signed_authorisation": True},
       expect_state="awaiting_materials")  # fmt: skip
    expect(cw.locator("[data-testid=due-overall]")).to_contain_text("暂停计时")
    pdf_ok(cw, case, "deficiency")
    do(cw, case, "supply_materials", expect_state="accepted")
    expect(cw.locator("[data-testid=due-overall]")).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2}"))
    do(cw, case, "start_investigation", expect_state="investigating")
    do(cw, case, "record_investigation", {"investigators": "李四、赵五", "housing": "土坯房两间", "signed": True})
    do(cw, case, "request_verification")
    vf = session("vf")
    do(vf, case, "run_verification")
    expect(vf.locator("[data-testid=verification]")).to_contain_text("符合")
    do(cw, case, "propose", {"opinion": "家庭人均收入低于当地低保标准，拟同意"}, expect_state="publicity")
    do(cw, case, "record_objection", {"content": "邻居反映其子在外务工收入较高"}, expect_state="objection")
    do(cw, case, "democratic_review", {"participants": "村民代表9人", "minutes": "其子已分户另居", "votes_for": "8",
                                       "votes_against": "1"})  # fmt: skip
    a_week_passes(case)
    do(cw, case, "submit_to_county", expect_state="county_review")
    rv.goto(f"/cases/{case.pk}/act/confirm/")
    expect(rv.locator("[data-testid=preview-amount]")).to_have_text(re.compile(r"^\d+\.\d{2}$"))
    do(rv, case, "confirm", expect_state="approved")
    case.refresh_from_db()
    expect(rv.locator("[data-testid=case-amount]")).to_have_text(str(case.amount))
    expect(rv.locator("[data-testid=decision]")).to_contain_text("低保")
    for kind in ("receipt", "investigation", "confirmation"):
        pdf_ok(rv, case, kind)
    rv.screenshot(path=str(ARTIFACTS / "case-dibao-approved.png"), full_page=True)
    pub = Publicity.objects.get(case=case, kind="publication")
    assert pub.amount == case.amount


def _window_intake(cw: Page, h: Any, programme: str, **extra: str) -> Case:
    cw.goto("/cases/new/")
    cw.select_option("[name=programme]", programme)
    cw.select_option("[name=area_code]", h.area_code)
    cw.fill("[name=applicant_name]", "王大山")
    cw.fill("[name=applicant_id]", head_id(h))
    cw.fill("[name=summary]", "申请救助")
    for k, v in extra.items():
        if k == "temp_type":
            cw.select_option("[name=temp_type]", v)
        else:
            cw.fill(f"[name={k}]", v)
    cw.check("[name=signed_commitment]")
    cw.check("[name=signed_authorisation]")
    cw.fill("[name=signer_name]", "王大山")
    cw.click("[data-testid=submit]")
    cw.wait_for_url(re.compile(r"/cases/\d+/$"))
    return Case.objects.order_by("-pk").first()  # type: ignore[return-value]


def test_tekun_with_self_care_assessment(session):
    from jiuzhu.registry.models import Person

    p = make_personas()
    h = registered_household(p.caseworker_a, villages(TOWN_A)[0], size=1, wage="0", financial="500")
    Person.objects.filter(household=h).update(birth_date=dt.date(1948, 3, 1), labour_capacity="none")
    applicant, case, case_no, code = _portal_apply(session, h, "tekun")
    cw, rv = session("cw_a"), session("rv")
    do(cw, case, "accept", expect_state="accepted")
    do(cw, case, "start_investigation", expect_state="investigating")
    do(cw, case, "record_investigation", {"investigators": "李四、赵五", "signed": True})
    do(cw, case, "request_verification")
    do(session("vf"), case, "run_verification")
    do(cw, case, "propose", {"opinion": "无劳动能力、无生活来源，拟同意"}, expect_state="publicity")
    a_week_passes(case)
    do(cw, case, "submit_to_county", expect_state="county_review")
    rv.goto(f"/cases/{case.pk}/")
    expect(rv.locator("[data-testid=flag-random]")).to_be_visible()  # the county's ≥ 30 % on-site check
    do(rv, case, "record_investigation", {"investigators": "县甲、县乙", "signed": True})
    person = h.members.get()
    do(rv, case, "assess_self_care", {"person": str(person.pk), "eating": True, "dressing": True, "walking": True,
                                      "assessor": "县民政局评估组"})  # fmt: skip
    do(rv, case, "confirm", expect_state="approved")
    pdf_ok(rv, case, "confirmation")
    case.refresh_from_db()
    assert "批准" in _track(applicant, case_no, code)
    expect(applicant.locator("[data-testid=decision-amount]")).to_contain_text(str(case.amount))


def test_temporary_emergency_paid_first_then_paperwork(session):
    from decimal import Decimal

    from jiuzhu.cases import services

    p = make_personas()
    services.reserve_append(township=TOWN_A, kind="topup", amount=Decimal("10000.00"), on=dt.date(2026, 1, 1), actor=p.reviewer)
    h = registered_household(p.caseworker_a, villages(TOWN_A)[0], size=3)
    cw = session("cw_a")
    case = _window_intake(cw, h, "temporary", temp_type="emergency", temp_tier="1")
    do(cw, case, "advance_pay", {"amount": "800.00"}, expect_state="advance_paid")
    expect(cw.locator("[data-testid=due-paperwork]")).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2}"))
    cw.goto("/cases/reserve/")
    expect(cw.locator("[data-testid=reserve-balance]")).to_have_text("9200.00")
    do(cw, case, "record_investigation", {"investigators": "李四、赵五", "mode": "remote", "reason": "火灾当晚电话核实",
                                          "signed": True})  # fmt: skip
    do(cw, case, "complete_paperwork", {"reason": "火灾致房屋损毁，已核实并补签"}, expect_state="approved")
    expect(cw.locator("[data-testid=due-paperwork]")).to_contain_text("按时办结")
    pdf_ok(cw, case, "temp_approval")


def test_temporary_that_needs_county_approval(session):
    p = make_personas()
    h = registered_household(p.caseworker_a, villages(TOWN_A)[0], size=4, wage="0", financial="500")
    applicant, case, case_no, code = _portal_apply(session, h, "temporary", temp_type="expenditure")
    cw, rv = session("cw_a"), session("rv")
    do(cw, case, "accept", expect_state="accepted")
    do(cw, case, "set_tier", {"temp_type": "expenditure", "temp_tier": "3"})
    do(cw, case, "start_investigation", expect_state="investigating")
    do(cw, case, "record_investigation", {"investigators": "李四、赵五", "signed": True})
    do(cw, case, "propose", {"opinion": "因病支出过大，拟救助"}, expect_state="publicity")
    a_week_passes(case)
    cw.goto(f"/cases/{case.pk}/act/township_approve/")
    cw.click("[data-testid=submit]")
    expect(cw.locator("[data-testid=form-errors]")).to_contain_text(re.compile("超过乡镇审批额度|报县级审批"))
    do(cw, case, "submit_to_county", expect_state="county_review")
    rv.goto(f"/cases/{case.pk}/act/confirm/")
    expect(rv.locator("[data-testid=engine-preview]")).to_contain_text("审批层级")
    level = rv.locator("[data-testid=engine-preview]").inner_text()
    if "一事一议" in level:
        do(rv, case, "refer_conference", {"reason": "金额超过县级审批额度"}, expect_state="conference")
        do(rv, case, "conference_decide", {"participants": "民政、卫健、医保", "minutes": "一事一议，同意救助",
                                           "amount": "20000.00"}, expect_state="approved")  # fmt: skip
    else:
        do(rv, case, "confirm", expect_state="approved")
    pdf_ok(rv, case, "temp_approval")
    assert "批准" in _track(applicant, case_no, code)


def _portal_apply(session: Any, h: Any, programme: str, temp_type: str = "") -> tuple[Page, Case, str, str]:
    """An applicant on a phone applies online; returns their page, the case, its number and tracking code."""
    applicant = session(None)
    applicant.set_viewport_size({"width": 390, "height": 844})
    applicant.goto(f"/portal/apply/?township={h.area_code[:9]}")
    applicant.select_option("[name=programme]", programme)
    if temp_type:
        applicant.select_option("[name=temp_type]", temp_type)
    applicant.select_option("[name=village]", h.area_code)
    applicant.fill("[name=applicant_name]", "王大山")
    applicant.fill("[name=id_number]", head_id(h))
    applicant.fill("[name=phone]", "13800138000")
    applicant.fill("[name=household_size]", str(h.member_count or 1))
    applicant.fill("[name=reason]", "家庭生活困难，申请救助")
    applicant.check("[name=commitment]")
    applicant.check("[name=authorisation]")
    applicant.fill("[name=signer_name]", "王大山")
    applicant.click("[data-testid=apply-form] button[type=submit]")
    case_no = applicant.locator("[data-testid=case-no]").inner_text().strip()
    code = applicant.locator("[data-testid=tracking-code]").inner_text().strip()
    case = Case.objects.get(case_no=case_no)
    assert case.channel == "portal" and case.household_id == h.pk
    return applicant, case, case_no, code


def _track(pg: Page, case_no: str, code: str) -> str:
    pg.goto("/portal/track/")
    pg.fill("[name=case_no]", case_no)
    pg.fill("[name=code]", code)
    pg.click("form:has([name=code]) button[type=submit]")
    pg.wait_for_load_state()
    return pg.locator("[data-testid=public-status]").first.inner_text()


def test_dibao_from_the_portal_with_the_applicant_following_it(session):
    """Acceptance 1: online application → acceptance with a deficiency notice → materials supplied (uploaded on
    the portal) → investigation → verification (stub) → publicity with an objection → democratic review →
    county confirmation → publication list; the applicant sees each status on the portal."""
    p = make_personas()
    h = registered_household(p.caseworker_a, villages(TOWN_A)[0], size=2, name="王大山")
    applicant = session(None)
    applicant.set_viewport_size({"width": 390, "height": 844})  # a phone
    applicant.goto(f"/portal/apply/?township={TOWN_A}")
    applicant.select_option("[name=programme]", "dibao")
    applicant.select_option("[name=village]", h.area_code)
    applicant.fill("[name=applicant_name]", "王大山")
    applicant.fill("[name=id_number]", head_id(h))
    applicant.fill("[name=phone]", "13800138000")
    applicant.fill("[name=household_size]", "2")
    applicant.fill("[name=reason]", "务工收入中断，家庭生活困难")
    applicant.check("[name=commitment]")
    applicant.check("[name=authorisation]")
    applicant.fill("[name=signer_name]", "王大山")
    applicant.click("[data-testid=apply-form] button[type=submit]")
    case_no = applicant.locator("[data-testid=case-no]").inner_text().strip()
    code = applicant.locator("[data-testid=tracking-code]").inner_text().strip()
    case = Case.objects.get(case_no=case_no)
    assert case.channel == "portal" and case.household_id == h.pk and case.signatures.count() == 2
    assert "等待" in _track(applicant, case_no, code)

    cw, rv = session("cw_a"), session("rv")
    do(cw, case, "request_materials", {"items": ["income_statement"]}, expect_state="awaiting_materials")
    assert "补充材料" in _track(applicant, case_no, code)
    expect(applicant.locator("[data-testid=notice]")).to_contain_text("家庭收入情况书面声明")
    applicant.set_input_files(f"#files-{case.pk}", files=[{"name": "收入声明.pdf", "mimeType": "application/pdf",
                                                           "buffer": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"}])  # fmt: skip
    applicant.click(f"form:has(#files-{case.pk}) button[type=submit]")
    expect(applicant.locator("[data-testid=uploaded]")).to_be_visible()
    assert case.attachments.filter(uploaded_via="portal").count() == 1
    do(cw, case, "supply_materials", expect_state="accepted")
    assert "已受理" in _track(applicant, case_no, code)
    do(cw, case, "start_investigation", expect_state="investigating")
    do(cw, case, "record_investigation", {"investigators": "李四、赵五", "signed": True})
    do(cw, case, "request_verification")
    do(session("vf"), case, "run_verification")
    assert "调查" in _track(applicant, case_no, code)
    do(cw, case, "propose", {"opinion": "拟同意"}, expect_state="publicity")
    assert "公示" in _track(applicant, case_no, code)
    applicant.goto(f"/portal/publicity/{h.area_code}/")
    expect(applicant.locator("[data-testid=board-publicity]")).to_contain_text("王*山")
    assert "王大山" not in applicant.content()
    do(cw, case, "record_objection", {"content": "有人反映其子收入较高"}, expect_state="objection")
    assert "复查" in _track(applicant, case_no, code)
    do(cw, case, "democratic_review", {"participants": "村民代表9人", "minutes": "其子已分户", "votes_for": "9",
                                       "votes_against": "0"})  # fmt: skip
    a_week_passes(case)
    do(cw, case, "submit_to_county", expect_state="county_review")
    assert "县级" in _track(applicant, case_no, code)
    do(rv, case, "confirm", expect_state="approved")
    case.refresh_from_db()
    assert "批准" in _track(applicant, case_no, code)
    expect(applicant.locator("[data-testid=decision-amount]")).to_contain_text(str(case.amount))
    applicant.goto(f"/portal/publicity/{h.area_code}/")
    expect(applicant.locator("[data-testid=board-publication]")).to_contain_text("王*山")
    expect(applicant.locator("[data-testid=board-publication]")).to_contain_text(str(case.amount))
    applicant.screenshot(path=str(ARTIFACTS / "portal-publication.png"), full_page=True)
    r = applicant.request.get(f"/portal/publicity/{h.area_code}.pdf")
    assert r.status == 200 and r.body()[:5] == b"%PDF-"
