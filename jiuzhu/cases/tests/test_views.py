"""The staff pages: queue, window intake, case page, every action form renders; a POST through the page moves
the case; a stale form gets 409 with the input kept; another township gets 404 like a missing case."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from jiuzhu.cases import services
from jiuzhu.cases.models import Case
from jiuzhu.cases.procedures import PROCEDURES
from jiuzhu.testing.fixtures import TOWN_A, villages

from .kit import act, head_id, registered_household, signed

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _case(personas, programme="dibao", **kw):
    h = registered_household(personas.caseworker_a, villages(TOWN_A)[0])
    case, _ = services.intake(actor=personas.caseworker_a, programme=programme, channel="window",
                              area_code=h.area_code, applicant_name="王大山", applicant_id=head_id(h),
                              signatures=signed(), **kw)  # fmt: skip
    return case


def test_window_intake_and_case_page(personas):
    c = _client(personas.caseworker_a)
    h = registered_household(personas.caseworker_a, villages(TOWN_A)[1])
    r = c.post("/cases/new/", {"programme": "dibao", "channel": "window", "area_code": h.area_code,
                               "applicant_name": "王大山", "applicant_id": head_id(h), "household_size": 2,
                               "summary": "<script>alert(1)</script>", "signer_name": "王大山",
                               "signed_commitment": "on", "signed_authorisation": "on"})  # fmt: skip
    assert r.status_code == 302
    case = Case.objects.get()
    assert case.household_id == h.pk and case.signatures.count() == 2 and case.first_officer == personas.caseworker_a
    page = c.get(f"/cases/{case.pk}/")
    body = page.content.decode()
    assert page.status_code == 200 and case.case_no in body
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'data-testid="action-accept"' in body
    assert c.get("/cases/").status_code == 200 and case.case_no in c.get("/cases/").content.decode()


def test_invalid_id_is_a_clear_error_and_nothing_is_stored(personas):
    c = _client(personas.caseworker_a)
    r = c.post("/cases/new/", {"programme": "dibao", "channel": "window", "area_code": villages(TOWN_A)[0],
                               "applicant_name": "王大山", "applicant_id": "610902198001011234", "household_size": 2,
                               "summary": "x"})  # fmt: skip
    assert r.status_code == 200 and "校验位" in r.content.decode()
    assert Case.objects.count() == 0


@pytest.mark.parametrize("programme", sorted(PROCEDURES))
def test_every_action_form_renders(personas, programme):
    """Each action's page renders for a role allowed to take it (state checks happen on submit)."""
    kw = {"temp_type": "emergency", "temp_tier": 1} if programme == "temporary" else {}
    case = _case(personas, programme, **kw)
    cw, rv, vf = _client(personas.caseworker_a), _client(personas.reviewer), _client(personas.verifier)
    for key, a in PROCEDURES[programme].actions.items():
        client = cw if "caseworker" in a.roles else (rv if "reviewer" in a.roles else vf)
        r = client.get(f"/cases/{case.pk}/act/{key}/")
        assert r.status_code == 200, (programme, key, r.status_code)


def test_action_through_the_page_and_stale_form(personas):
    case = _case(personas)
    c = _client(personas.caseworker_a)
    v = case.version
    assert c.post(f"/cases/{case.pk}/act/accept/", {"version": v}).status_code == 302
    case.refresh_from_db()
    assert case.state == "accepted"
    r = c.post(f"/cases/{case.pk}/act/start_investigation/", {"version": v, "reason": "我的说明"})
    assert r.status_code == 409 and "已被他人更新" in r.content.decode() and "我的说明" in r.content.decode()


def test_other_township_gets_404_and_wrong_role_403(personas):
    case = _case(personas)
    missing = _client(personas.caseworker_b).get("/cases/999999/")
    other = _client(personas.caseworker_b).get(f"/cases/{case.pk}/")
    assert other.status_code == 404 and (other.status_code, other.content) == (missing.status_code, missing.content)
    assert _client(personas.caseworker_b).get(f"/cases/{case.pk}/act/accept/").status_code == 404
    assert _client(personas.supervisor).get(f"/cases/{case.pk}/act/accept/").status_code == 403
    assert _client(personas.supervisor).post(f"/cases/{case.pk}/act/accept/", {"version": case.version}).status_code == 403
    case.refresh_from_db()
    assert case.state == "received"


def test_deadline_list_shows_overdue_work(personas):
    case = _case(personas)
    act(personas.caseworker_a, case, "accept", dt.date(2026, 1, 5))
    body = _client(personas.caseworker_a).get("/cases/deadlines/").content.decode()
    assert case.case_no in body and "已超期" in body
    assert case.case_no not in _client(personas.caseworker_b).get("/cases/deadlines/").content.decode()


def test_policy_admin_sets_delegation_for_a_county_and_it_applies(personas):
    from jiuzhu.cases.models import ProcedureSetting
    from jiuzhu.core.models import AuditEvent
    from jiuzhu.testing.fixtures import COUNTY

    c = _client(personas.policy_admin)
    assert _client(personas.caseworker_a).get("/cases/settings/").status_code == 404
    r = c.post("/cases/settings/", {"area_code": COUNTY, "delegated": "on", "paperwork_wd": 7, "tekun_check_pct": 30,
                                    "source": "安民发〔2026〕1号"})  # fmt: skip
    assert r.status_code == 302
    assert services.setting_for(villages(TOWN_A)[0]).delegated
    assert ProcedureSetting.objects.get(area_code=COUNTY).paperwork_wd == 7
    assert AuditEvent.objects.filter(action="case.procedure_setting").exists()
    r = c.post("/cases/settings/", {"area_code": COUNTY, "paperwork_wd": 5, "tekun_check_pct": 20, "source": "x"})
    assert r.status_code == 200 and ProcedureSetting.objects.get(area_code=COUNTY).tekun_check_pct == 30


def test_system_admin_imports_next_years_holidays_all_or_nothing(personas, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from jiuzhu.accounts.roles import Role
    from jiuzhu.core.models import WorkdayOverride
    from jiuzhu.testing.fixtures import make_user

    ny = timezone.localdate().year + 1  # a year the package does not know (it ends with the current year)
    admin = make_user("sys", Role.SYSTEM_ADMIN, "61")
    c = _client(admin)
    assert _client(personas.policy_admin).get("/cases/workdays/").status_code == 404
    page = c.get("/cases/workdays/").content.decode()
    assert f"{ny}年的节假日安排尚未录入" in page
    bad = f"date,is_workday,name,source\n{ny}-01-01,0,元旦,国办发明电X号\n{ny}-13-01,0,x,y\n"
    r = c.post("/cases/workdays/", {"file": SimpleUploadedFile("w.csv", bad.encode())})
    assert r.status_code == 200 and "第3行" in r.content.decode() and WorkdayOverride.objects.count() == 0
    good = f"date,is_workday,name,source\n{ny}-01-01,0,元旦,国办发明电X号\n"
    assert c.post("/cases/workdays/", {"file": SimpleUploadedFile("w.csv", good.encode())}).status_code == 302
    assert WorkdayOverride.objects.count() == 1
    assert f"{ny}年的节假日安排尚未录入" not in c.get("/cases/workdays/").content.decode()


def test_reviewer_queue_starts_with_what_waits_for_the_county(personas):
    waiting = _case(personas)
    other = _case(personas)
    act(personas.caseworker_a, waiting, "accept")
    act(personas.caseworker_a, waiting, "start_investigation")
    act(personas.caseworker_a, waiting, "request_verification")
    body = _client(personas.reviewer).get("/cases/").content.decode()
    assert waiting.case_no in body and other.case_no not in body
    assert other.case_no in _client(personas.reviewer).get("/cases/?state=").content.decode()


def test_a_refused_action_keeps_no_uploaded_file(personas):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from jiuzhu.cases import storage

    case = _case(personas)
    act(personas.caseworker_a, case, "withdraw")
    case.refresh_from_db()
    before = set(storage.root().iterdir())
    pdf = SimpleUploadedFile("签字.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", content_type="application/pdf")
    # a valid form, the file stored, then the step refused (a withdrawn case takes no signature): no file is left
    r = _client(personas.caseworker_a).post(f"/cases/{case.pk}/act/sign/", {"version": case.version, "kind": "commitment",
                                                                            "signer_role": "applicant",
                                                                            "signer_name": "王大山", "file": pdf})  # fmt: skip
    assert r.status_code == 200 and "不能执行" in r.content.decode()
    assert set(storage.root().iterdir()) == before and case.attachments.count() == 0
    pdf.seek(0)
    r = _client(personas.caseworker_a).post(f"/cases/{case.pk}/act/attach/", {"version": case.version + 5, "kind": "收入证明",
                                                                              "file": pdf})  # fmt: skip
    assert r.status_code == 409 and set(storage.root().iterdir()) == before
