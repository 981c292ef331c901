"""Acceptance 1 of the verification issue, in Chromium: departmental files are ingested (in each department's
own layout), the township asks for verification, the county 核对 centre runs it; a household hiding a car and
one hiding a salary are caught and the report explains it; a clean household passes. The township sees the
conclusion only; the report is the centre's."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jiuzhu.cases import services
from jiuzhu.cases.models import Case
from jiuzhu.cases.tests.kit import act, head_id, registered_household, signed
from jiuzhu.core import crypto
from jiuzhu.testing.fixtures import TOWN_A, make_personas, villages
from jiuzhu.verification.ingest import ingest

from .conftest import ARTIFACTS
from .steps import do

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _id(p) -> str:
    return crypto.decrypt(p.id_number_enc, context="person.id_number")


def _ready(personas, h) -> Case:
    cw = personas.caseworker_a
    case, _ = services.intake(actor=cw, programme="dibao", channel="window", area_code=h.area_code,
                              applicant_name="王大山", applicant_id=head_id(h), signatures=signed())  # fmt: skip
    act(cw, case, "accept")
    act(cw, case, "start_investigation")
    return case


def test_hidden_car_and_salary_caught_clean_household_passes(session):
    p = make_personas()
    village = villages(TOWN_A)[0]
    clean = registered_household(p.caseworker_a, village, size=2, name="王大山")
    car = registered_household(p.caseworker_a, village, size=2, name="李小河")
    salary = registered_household(p.caseworker_a, village, size=2, name="赵长林")
    month = timezone.localdate().strftime("%Y%m")
    heads = {k: h.members.order_by("pk").first() for k, h in (("clean", clean), ("car", car), ("salary", salary))}
    son = salary.members.order_by("pk").last()
    hrss = ("公民身份号码,姓名,险种类型,缴费基数,缴费年月,待遇类型,月待遇金额,待遇年月,参保单位,业务流水号\n"
            f"{_id(heads['clean'])},王大山,养老,200,{month},,,,某合作社,L0001\n"
            f"{_id(son)},赵二,养老,3800,{month},,,,某制造公司,L0002\n")  # fmt: skip
    vehicle = ("所有人证件号码,所有人,号牌号码,车辆类型,初次登记日期,机动车状态,评估价值\n"
               f"{_id(heads['car'])},李小河,陕G12345,小型轿车,2024-05-01,正常,68000\n"
               f"{_id(heads['clean'])},王大山,陕G0M001,二轮摩托车,2023/3/1,正常,2500\n")  # fmt: skip
    assert ingest("hrss", hrss.encode("gbk"), "人社缴费明细.csv").status == "loaded"  # a GBK file, as departments send
    assert ingest("vehicle", vehicle.encode("utf-8"), "车辆登记.csv").status == "loaded"

    cases = {k: _ready(p, h) for k, h in (("clean", clean), ("car", car), ("salary", salary))}
    cw, vf = session("cw_a"), session("vf")
    for case in cases.values():
        do(cw, case, "request_verification")
        do(vf, case, "run_verification")
    # the 核对 centre reads the report
    for key, expected, finding in (("clean", "meets", None), ("car", "fails", "车辆登记显示 1 辆"),
                                   ("salary", "fails", "3,800.00 元/月")):  # fmt: skip
        vf.goto(f"/cases/{cases[key].pk}/")
        vf.click("[data-testid=verification-report]")
        vf.wait_for_url(re.compile(r"/verification/runs/\d+/$"))
        expect(vf.locator("[data-testid=conclusion]")).to_have_attribute("data-conclusion", expected)
        if finding:
            expect(vf.locator("[data-testid=findings]")).to_contain_text(finding)
        else:
            expect(vf.locator("[data-testid=findings]")).to_contain_text("未发现与申报不一致")
        expect(vf.locator("[data-testid=queries]")).to_contain_text("signature:")
    vf.screenshot(path=str(ARTIFACTS / "verification-report.png"), full_page=True)
    r = vf.request.get(vf.url.rstrip("/") + ".pdf")
    assert r.status == 200 and r.body()[:5] == b"%PDF-"
    # the township: the conclusion, not the departments' figures; the report is refused
    cw.goto(f"/cases/{cases['car'].pk}/")
    expect(cw.locator("[data-testid=verification]")).to_contain_text("不符合")
    assert "车辆登记显示" not in cw.content() and cw.locator("[data-testid=verification-report]").count() == 0
    cw.goto(f"/cases/{cases['clean'].pk}/")
    expect(cw.locator("[data-testid=verification]")).to_contain_text("符合")
    run_url = vf.url
    resp = cw.request.get(run_url)
    assert resp.status == 403
