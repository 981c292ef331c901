"""Reporting a household in difficulty: a 求助 in the right township's intake queue, the reporter's phone
encrypted, and a case number and code to follow it."""

from __future__ import annotations

import pytest

from jiuzhu.cases.models import Case
from jiuzhu.cases.views import township_queue_q
from jiuzhu.core.pii_scan import dump_database
from jiuzhu.portal import services
from jiuzhu.portal.models import HardshipReport
from jiuzhu.testing.fixtures import TOWN_B, villages

from .helpers import token_of

pytestmark = pytest.mark.django_db


def _data(client, **overrides):
    r = client.get("/portal/report/", {"township": TOWN_B})
    data = {"township": TOWN_B, "token": token_of(r.content.decode()), "village": "", "person_name": "",
            "what": "村东头的老人独居，前几天摔伤了腿，没人照顾，家里也没有吃的。", "relation": "neighbour",
            "reporter_name": "赵春花", "reporter_phone": "13787654321"}  # fmt: skip
    data.update(overrides)
    return data


def test_report_lands_as_help_in_the_township_queue(client, personas):
    r = client.post("/portal/report/", _data(client))
    assert r.status_code == 200 and 'data-testid="tracking-code"' in r.content.decode()
    case = Case.objects.get()
    assert (case.programme, case.channel, case.state) == ("help", "portal", "received")
    assert case.area_code == TOWN_B and case.township_code == TOWN_B and case.applicant_name == "待核实"
    assert case.applicant_phone_enc == ""  # the reporter is not the applicant
    assert Case.objects.filter(township_queue_q(personas.caseworker_b)).get() == case
    assert not Case.objects.filter(township_queue_q(personas.caseworker_a)).exists()
    assert "报告人：赵春花（邻居）" in case.summary and "137****4321" in case.summary
    rep = HardshipReport.objects.get(case=case)
    assert services.reporter_phone(rep) == "13787654321" and rep.reporter_phone_masked == "137****4321"
    assert not [line for line in dump_database() if "13787654321" in line]  # encrypted at rest
    # the reporter follows it with the code
    html = client.post("/portal/track/", {"case_no": case.case_no, "code": r.context["code"]}).content.decode()
    assert "已收到，等待乡镇（街道）受理" in html


def test_self_report_in_a_village_and_anonymous_report(client, tree):
    village = villages(TOWN_B)[2]
    client.post("/portal/report/", _data(client, village=village, relation="self", person_name="", reporter_name="钱大勇"))
    case = Case.objects.get()
    assert case.area_code == village and case.applicant_name == "钱大勇" and case.applicant_phone_masked == "137****4321"
    client.post("/portal/report/", _data(client, reporter_name="", reporter_phone="", person_name="孙某"))
    case = Case.objects.order_by("-pk").first()
    assert case.applicant_name == "孙某" and "未留姓名" in case.summary and "未留联系电话" in case.summary


def test_report_errors_keep_the_text_and_store_nothing(client, tree):
    r = client.post("/portal/report/", _data(client, what="", reporter_phone="12345"))
    html = r.content.decode()
    assert "请填写11位手机号码" in html and 'data-testid="error-what"' in html and 'value="赵春花"' in html
    r = client.post("/portal/report/", _data(client, village="610902100201"))  # a village of another township
    assert 'data-testid="error-village"' in r.content.decode()
    assert Case.objects.count() == 0 and HardshipReport.objects.count() == 0


def test_report_refresh_does_not_make_a_second_request(client, tree):
    data = _data(client)
    client.post("/portal/report/", data)
    r = client.post("/portal/report/", data)
    assert "已经提交过了" in r.content.decode() and Case.objects.count() == 1
