"""Tracking with the case number and code: the public status and notes, open deficiency notices with an
upload, the amount once approved — and one identical answer for every kind of failure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jiuzhu.cases import services as case_services
from jiuzhu.cases.models import Attachment, Case
from jiuzhu.cases.tests.kit import act
from jiuzhu.core.models import AuditEvent
from jiuzhu.testing.fixtures import TOWN_A, villages

from ..services import public_view
from .helpers import PDF, an_id, stored_files, upload, without_csrf

pytestmark = pytest.mark.django_db


def _case(programme: str = "dibao", **kw):
    return case_services.intake(actor=None, programme=programme, channel="portal", area_code=villages(TOWN_A)[0],
                                applicant_name="林秀英", applicant_id=an_id(), household_size=3,
                                signatures=[("commitment", "林秀英"), ("authorisation", "林秀英")], **kw)  # fmt: skip


def _track(client, case_no, code):
    return client.post("/portal/track/", {"case_no": case_no, "code": code})


def test_right_code_shows_public_status_notice_and_upload(client, personas):
    case, code = _case()
    act(personas.caseworker_a, case, "request_materials", items=["medical_bills", "other"], note="请补交住院费用清单",
        reason="内部备注：邻居反映另有收入")  # fmt: skip
    r = _track(client, f" {case.case_no.lower()} ", code.lower())  # case, spaces: forgiven
    html = r.content.decode()
    assert r.status_code == 200 and 'data-testid="track-result"' in html
    assert "需要补充材料，请查看补正告知" in html  # PUBLIC_STATES, not the staff's state label
    assert "申请已提交" in html and "请按补正告知书一次性补齐材料" in html  # the public notes, with dates
    assert "医疗费用票据及诊断证明" in html and "请补交住院费用清单" in html
    assert "内部备注" not in html and "cw_a" not in html and "林秀英" not in html and "林*英" in html
    before = stored_files()
    r = client.post("/portal/track/upload/", {"case": case.pk, "files": [upload("住院清单.pdf", PDF)]})
    assert 'data-testid="uploaded"' in r.content.decode()
    att = Attachment.objects.get(case=case)
    assert (att.kind, att.uploaded_via, att.uploaded_by) == ("supplement", "portal", None)
    assert len(stored_files()) == len(before) + 1
    ev = AuditEvent.objects.get(action="case.portal_upload", object_id=str(case.pk))
    assert ev.detail["files"] == 1 and ev.actor_username == "portal"
    # a fake file: refused, nothing stored
    r = client.post("/portal/track/upload/", {"case": case.pk, "files": [upload("x.pdf", b"<html></html>")]})
    assert "不是 PDF、JPG 或 PNG" in r.content.decode() and Attachment.objects.filter(case=case).count() == 1
    # another case's number in the upload form: not granted by this session
    other, _code = _case()
    r = client.post("/portal/track/upload/", {"case": other.pk, "files": [upload("a.pdf", PDF)]})
    assert 'data-testid="track-expired"' in r.content.decode() and not Attachment.objects.filter(case=other).exists()
    client.post("/portal/track/end/")
    r = client.post("/portal/track/upload/", {"case": case.pk, "files": [upload("a.pdf", PDF)]})
    assert 'data-testid="track-expired"' in r.content.decode() and Attachment.objects.filter(case=case).count() == 1


def test_wrong_code_unknown_case_and_malformed_input_get_the_same_answer(client, tree):
    case, code = _case()
    wrong = "".join("A" if ch != "A" else "B" for ch in code)
    unknown_no = case.case_no[:-5] + "99999"
    answers = [_track(client, case.case_no, wrong), _track(client, unknown_no, code), _track(client, "", ""),
               _track(client, "<script>", "' OR 1=1 --"), _track(client, case.case_no, code + "X"),
               client.post("/portal/track/", {})]  # fmt: skip
    assert {r.status_code for r in answers} == {200}
    bodies = {without_csrf(r.content) for r in answers}
    assert len(bodies) == 1, "the answers differ"
    html = bodies.pop().decode()
    assert "没有找到与该案件编号和查询码相符的记录" in html and case.case_no not in html and unknown_no not in html
    assert _track(client, case.case_no, code).status_code == 200


def test_triaged_cases_share_the_request_code(client, personas):
    req, code = case_services.intake(actor=None, programme="help", channel="portal", area_code=TOWN_A,
                                     applicant_name="待核实", summary="独居老人摔伤")  # fmt: skip
    act(personas.caseworker_a, req, "triage", programmes=["temporary", "elderly"], temp_type="expenditure")
    children = list(req.children.order_by("pk"))
    assert len(children) == 2
    html = _track(client, req.case_no, code).content.decode()
    assert all(c.case_no in html for c in [req, *children]) and "已按您的情况分别受理相关救助申请" in html
    # the number of one of the applications with the request's code: that one first, the others too
    html = _track(client, children[1].case_no, code).content.decode()
    assert html.index(children[1].case_no) < html.index(req.case_no) and children[0].case_no in html
    # but not another request's cases
    other, other_code = _case()
    assert 'data-testid="track-failed"' in _track(client, children[0].case_no, other_code).content.decode()


def test_amount_shown_once_approved(client, tree):
    case, code = _case()
    Case.objects.filter(pk=case.pk).update(state="approved", amount=Decimal("1340.00"), start_month=dt.date(2026, 12, 1))
    html = _track(client, case.case_no, code).content.decode()
    assert "已批准" in html and "每月 1340.00 元，自 2026年12月 起发放" in html
    case.refresh_from_db()
    v = public_view(case)
    assert set(v) == {"pk", "case_no", "programme", "temp_type", "applicant", "received_on", "status", "timeline",
                      "notices", "approved", "amount", "start_month", "one_off"}  # fmt: skip
    Case.objects.filter(pk=case.pk).update(state="county_review")
    html = _track(client, case.case_no, code).content.decode()
    assert "1340" not in html and "县级民政部门审核中" in html  # a proposed amount is not a decision
