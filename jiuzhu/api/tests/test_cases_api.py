"""``/api/v1/cases``: a request from the 12345/12349 hotline or another department through a caseworker
integration account, a case's status, and actions through ``services.perform`` (403 / 409 / 422), with the
API's conventions: out of the caller's area is 404 exactly like a missing case."""

from __future__ import annotations

import pytest

from jiuzhu.accounts.roles import Role
from jiuzhu.api.tests.conftest import ApiClient, body_text, full_ids_in
from jiuzhu.cases import services
from jiuzhu.cases.models import Case, Transition
from jiuzhu.cases.tests.kit import head_id, registered_household
from jiuzhu.core.models import AuditEvent
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, make_user, villages

NOT_FOUND = b'{"detail": "Not Found", "code": "not_found"}'
MISSING_NO = "SQ-610902100-2026-99999"


def _request(area: str, **kw):
    return {"channel": "hotline", "area_code": area, "applicant_name": "欧阳明华", "applicant_phone": "13800138000",
            "household_size": 3, "summary": "12345转来：家中失火，无处居住", **kw}  # fmt: skip


@pytest.fixture
def hotline(personas):
    """The integration account: a caseworker account of township A."""
    return ApiClient(make_user("hotline_a", Role.CASEWORKER, TOWN_A, full_name="12345热线对接"))


def _dibao(personas, api: ApiClient) -> Case:
    h = registered_household(personas.caseworker_a, villages(TOWN_A)[0], name="欧阳明华")
    r = api.post("/cases/requests", _request(villages(TOWN_A)[0], programme="dibao", channel="department",
                                             applicant_id=head_id(h)))  # fmt: skip
    assert r.status_code == 201, r.content
    return Case.objects.get(case_no=r.json()["case_no"])


def test_hotline_request_creates_a_help_case(personas, hotline):
    r = hotline.post("/cases/requests", _request(TOWN_A))
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == {"case_no", "tracking_code", "state"} and body["state"] == "received"
    case = Case.objects.get(case_no=body["case_no"])
    assert case.channel == "hotline" and case.programme == "help" and case.area_code == TOWN_A
    assert case.first_officer == hotline.user and case.applicant_phone_masked == "138****8000"
    assert case.tracking_hash == services.tracking_hash(case.case_no, body["tracking_code"])
    assert Transition.objects.filter(case=case, action="create").count() == 1
    assert AuditEvent.objects.filter(action="case.create", object_id=str(case.pk), actor_username="hotline_a").exists()
    # the code is returned once: the status never shows it
    status = hotline.get(f"/cases/{case.case_no}")
    assert status.status_code == 200 and body["tracking_code"] not in status.content.decode()


def test_named_programme_links_the_registered_household(personas, hotline):
    case = _dibao(personas, hotline)
    assert case.channel == "department" and case.programme == "dibao" and case.household_id is not None
    assert case.area_code == case.household.area_code


def test_other_township_is_404_and_nothing_is_created(personas, hotline):
    for area in (TOWN_B, villages(TOWN_B)[0], "440106001"):
        r = hotline.post("/cases/requests", _request(area))
        assert r.status_code == 404 and r.content == NOT_FOUND, area
    assert not Case.objects.exists()


def test_invalid_id_is_422_naming_the_field(personas, hotline):
    r = hotline.post("/cases/requests", _request(TOWN_A, applicant_id="610902198001011234"))
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert [e["loc"] for e in detail] == [["body", "applicant_id"]] and "校验位" in detail[0]["msg"]
    # a named programme needs the ID number; 临时救助 its type; the area must be a township or village
    r = hotline.post("/cases/requests", _request(TOWN_A, programme="temporary", applicant_phone="12ab"))
    locs = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert r.status_code == 422 and locs == {("body", "applicant_id"), ("body", "applicant_phone"), ("body", "temp_type")}
    assert hotline.post("/cases/requests", _request("610902100999")).status_code == 422  # no such village
    assert hotline.post("/cases/requests", _request(TOWN_A, channel="window")).status_code == 422
    assert hotline.post("/cases/requests", _request(TOWN_A, state="approved")).status_code == 422  # unknown key
    assert hotline.post("/cases/requests", _request(TOWN_A, summary="a\x00b")).status_code == 422
    assert not Case.objects.exists()


def test_roles_that_may_not_register_requests(personas):
    # visible area, role without intake: 403; outside the area: 404 (the API's convention)
    for user in (personas.supervisor, personas.reviewer, personas.assistant_a, personas.auditor):
        r = ApiClient(user).post("/cases/requests", _request(villages(TOWN_A)[0]))
        assert r.status_code == 403 and r.json()["code"] == "forbidden", user.username
    assert ApiClient(personas.supervisor).post("/cases/requests", _request("440106001")).status_code == 404
    assert ApiClient(personas.reviewer_2).post("/cases/requests", _request(TOWN_A)).status_code == 404
    assert ApiClient(None).post("/cases/requests", _request(TOWN_A)).status_code == 401
    assert not Case.objects.exists()
    assert AuditEvent.objects.filter(action="case.create", result="denied").count() == 4


def test_status_for_staff_in_the_area(personas, hotline):
    case = _dibao(personas, hotline)
    own = ApiClient(personas.caseworker_a).get(f"/cases/{case.case_no}")
    assert own.status_code == 200
    body = own.json()
    assert body["applicant_name"] == "欧阳明华" and body["state"] == "received" and body["public_state"]
    assert [t["action"] for t in body["transitions"]] == ["create"] and body["transitions"][0]["on"]
    assert {"accept", "request_materials", "link_household"} <= {a["key"] for a in body["actions"]}
    assert {a["key"]: a["needs_file"] for a in body["actions"]}["attach"] is True
    assert not full_ids_in(body_text(own))
    sv = ApiClient(personas.supervisor).get(f"/cases/{case.case_no}").json()
    assert sv["applicant_name"] != "欧阳明华" and "*" in sv["applicant_name"] and sv["actions"] == []
    for user in (personas.caseworker_b, personas.reviewer_2):
        api = ApiClient(user)
        other, missing = api.get(f"/cases/{case.case_no}"), api.get(f"/cases/{MISSING_NO}")
        assert other.status_code == missing.status_code == 404 and other.content == missing.content == NOT_FOUND
    assert ApiClient(personas.caseworker_a).get("/cases/SQ%2F..").status_code in (404, 422)


def test_actions_200_403_409_422(personas, hotline):
    case = _dibao(personas, hotline)
    cw = ApiClient(personas.caseworker_a)
    path = f"/cases/{case.case_no}/actions"
    # 422: the step's conditions (no signed commitment yet) — one message each, nothing written
    refused = cw.post(f"{path}/accept", {"version": 1})
    assert refused.status_code == 422
    assert [e["msg"] for e in refused.json()["detail"]] == ["申请人尚未签署如实申报承诺书", "申请人尚未签署家庭经济状况核对授权书"]
    # 403: a role that may not accept (visible case); 404: another township, an unknown action
    for user in (personas.supervisor, personas.reviewer, personas.assistant_a):
        r = ApiClient(user).post(f"{path}/accept", {"version": 1})
        assert r.status_code == 403 and r.json() == {"detail": "无权执行此操作", "code": "forbidden"}, user.username
    assert ApiClient(personas.caseworker_b).post(f"{path}/accept", {"version": 1}).content == NOT_FOUND
    assert cw.post(f"{path}/approve_everything", {"version": 1}).status_code == 404
    # 422: fields the action does not have, bad values, file uploads
    bad = cw.post(f"{path}/accept", {"version": 1, "data": {"state": "approved", "signer_name": {"x": 1}}})
    assert bad.status_code == 422 and {tuple(e["loc"]) for e in bad.json()["detail"]} == {
        ("body", "data", "state"), ("body", "data", "signer_name")}
    assert cw.post(f"{path}/attach", {"version": 1, "data": {"kind": "x"}}).json()["detail"][0]["loc"] == ["path", "action"]
    assert cw.post(f"{path}/accept", {"version": 1, "on": "2999-01-01"}).json()["detail"][0]["loc"] == ["body", "on"]
    case.refresh_from_db()
    assert case.state == "received" and case.version == 1 and case.transitions.count() == 1
    # 200
    ok = cw.post(f"{path}/accept", {"version": 1, "data": {"signer_name": "欧阳明华", "signed_commitment": True,
                                                           "signed_authorisation": True, "reason": "热线转办"}})  # fmt: skip
    assert ok.status_code == 200, ok.content
    assert ok.json()["state"] == "accepted" and ok.json()["version"] == 2
    assert [t["action"] for t in ok.json()["transitions"]] == ["create", "accept"]
    assert {d["key"] for d in ok.json()["deadlines"]} >= {"overall", "investigation_start"}
    case.refresh_from_db()
    assert case.state == "accepted" and case.owner == personas.caseworker_a and case.signatures.count() == 2
    # 409: someone acted on version 1 first — with who did what
    stale = cw.post(f"{path}/request_materials", {"version": 1, "data": {"items": ["income_statement"]}})
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert "已被他人更新" in stale.json()["detail"] and "cw_a" in stale.json()["detail"]
    # a record action with a bogus household number is refused (422), with the current version
    link = cw.post(f"{path}/link_household", {"version": 2, "data": {"household_no": "H000"}})
    assert link.status_code == 422 and "H000" in link.json()["detail"][0]["msg"]
    case.refresh_from_db()
    assert case.version == 2 and case.transitions.count() == 2


def test_help_request_triaged_through_the_api(personas, hotline):
    h = registered_household(personas.caseworker_a, villages(TOWN_A)[0], name="欧阳明华")
    r = hotline.post("/cases/requests", _request(villages(TOWN_A)[0], applicant_id=head_id(h)))
    case = Case.objects.get(case_no=r.json()["case_no"])
    t = ApiClient(personas.caseworker_a).post(f"/cases/{case.case_no}/actions/triage", {
        "version": 1, "data": {"programmes": ["dibao", "temporary"], "temp_type": "emergency", "temp_tier": 1}})  # fmt: skip
    assert t.status_code == 200, t.content
    assert t.json()["state"] == "referred"
    children = {c.programme: c for c in case.children.all()}
    assert set(children) == {"dibao", "temporary"} and all(c.channel == "hotline" for c in children.values())
    assert children["temporary"].temp_type == "emergency"
    # the hotline's tracking code follows the new applications
    assert {c.tracking_hash for c in children.values()} == {case.tracking_hash}


def test_transfer_answers_even_though_the_case_left_the_area(personas, hotline):
    r = hotline.post("/cases/requests", _request(TOWN_A))
    no = r.json()["case_no"]
    t = ApiClient(personas.caseworker_a).post(f"/cases/{no}/actions/transfer", {
        "version": 1, "data": {"to_area": TOWN_B, "reason": "户籍在张滩镇"}})  # fmt: skip
    assert t.status_code == 200, t.content
    assert t.json()["township_code"] == TOWN_B and t.json()["actions"] == []
    assert ApiClient(personas.caseworker_a).get(f"/cases/{no}").status_code == 404
    assert ApiClient(personas.caseworker_b).get(f"/cases/{no}").status_code == 200
