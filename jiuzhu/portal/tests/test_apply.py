"""Applying online: one case with both signatures and every file, or nothing at all; a refresh or a second
click does not make a second case; the tracking code is shown once and kept nowhere."""

from __future__ import annotations

import pytest
from django.core import mail

from jiuzhu.cases import services as case_services
from jiuzhu.cases import storage
from jiuzhu.cases.models import Attachment, Case, Signature
from jiuzhu.core.models import AuditEvent
from jiuzhu.core.pii_scan import dump_database
from jiuzhu.portal import services
from jiuzhu.portal.models import PortalSubmission
from jiuzhu.portal.uploads import MAX_BODY
from jiuzhu.testing.fixtures import TOWN_A, villages

from .helpers import JPEG, PDF, PNG, an_id, apply_data, stored_files, upload

pytestmark = pytest.mark.django_db


def _nothing_stored(files_before: list[str]) -> None:
    assert Case.objects.count() == 0
    assert Attachment.objects.count() == 0 and Signature.objects.count() == 0
    assert PortalSubmission.objects.count() == 0
    assert stored_files() == files_before


def test_home_links_and_township_step_without_javascript(client, tree):
    r = client.get("/portal/")
    html = r.content.decode()
    for href in ('href="/portal/apply/"', 'href="/portal/track/"', 'href="/portal/report/"', 'href="/portal/publicity/"',
                 'href="/verify/"'):  # fmt: skip
        assert href in html
    assert "<script" not in html  # the portal needs no script at all (CSP: no inline script anyway)
    r = client.get("/portal/apply/")
    assert 'name="township"' in r.content.decode() and TOWN_A in r.content.decode()
    r = client.get("/portal/apply/", {"township": TOWN_A})
    html = r.content.decode()
    assert all(v in html for v in villages(TOWN_A)) and "如实申报承诺书" in html and "家庭经济状况核对授权书" in html
    assert "依法向公安" in html  # the authorisation's full text is on the page
    assert client.get("/portal/apply/", {"township": "999999999"}).content.decode().count('name="township"') == 1


def test_apply_creates_exactly_one_case_with_signatures_and_files(client, tree):
    data = apply_data(client, files=[upload("诊断证明.pdf", PDF), upload("票据.png", PNG), upload("IMG_1.JPG", JPEG)])
    r = client.post("/portal/apply/", data)
    assert r.status_code == 200, r.content.decode()
    case = Case.objects.get()
    code = r.context["code"]
    html = r.content.decode()
    assert case.case_no in html and code in html and "只在这里显示一次" in html
    assert case.channel == "portal" and case.programme == "dibao" and case.state == "received"
    assert case.area_code == villages(TOWN_A)[1] and case.township_code == TOWN_A
    assert case.household_size == 3 and case.applicant_phone_masked == "139****5678"
    assert case.tracking_hash == case_services.tracking_hash(case.case_no, code)
    assert sorted(case.signatures.values_list("kind", "signer_name", "via")) == [
        ("authorisation", "林秀英", "portal"), ("commitment", "林秀英", "portal")]  # fmt: skip
    atts = list(case.attachments.order_by("pk"))
    assert [(a.kind, a.uploaded_via, a.content_type) for a in atts] == [
        ("portal", "portal", "application/pdf"), ("portal", "portal", "image/png"), ("portal", "portal", "image/jpeg")]
    assert storage.load(atts[0].storage_name) == PDF and atts[2].filename == "IMG_1.jpg"
    assert AuditEvent.objects.filter(action="case.portal_upload", object_id=str(case.pk)).count() == 1
    # the code is not kept anywhere: not in any table (audit, session, submissions), not mailed
    assert mail.outbox == []
    assert not [line for line in dump_database() if code in line]


def test_refresh_and_double_submit_create_no_second_case(client, tree):
    data = apply_data(client, files=[upload("a.pdf", PDF)])
    first = client.post("/portal/apply/", data)
    code = first.context["code"]
    data["files"] = [upload("a.pdf", PDF)]
    again = client.post("/portal/apply/", data)  # the browser's refresh re-sends the same form
    assert again.status_code == 200
    html = again.content.decode()
    assert "已经提交过了" in html and Case.objects.get().case_no in html and code not in html
    assert Case.objects.count() == 1 and Attachment.objects.count() == 1
    # two requests with the same token at once: the one that loses the unique token row stores nothing
    nonce = services.read_token(data["token"])
    files = stored_files()
    app = services.Application("dibao", "", villages(TOWN_A)[0], "林秀英", an_id(), "13912345678", 3, "x", "林秀英")
    with pytest.raises(services.Duplicate):
        services.submit_application(app, [storage.check("b.pdf", PDF)], nonce=nonce, ip="127.0.0.1")
    assert Case.objects.count() == 1 and Attachment.objects.count() == 1 and stored_files() == files


def test_invalid_id_number_keeps_the_form_and_stores_nothing(client, tree):
    before = stored_files()
    bad = an_id()[:-1] + ("0" if an_id()[-1] != "0" else "1")
    r = client.post("/portal/apply/", apply_data(client, id_number=bad, files=[upload("a.pdf", PDF)]))
    html = r.content.decode()
    assert r.status_code == 200 and "身份证号码校验位错误" in html
    assert 'value="林秀英"' in html and "丈夫因病去世" in html and f'value="{bad}"' in html
    assert 'data-testid="files-lost"' in html  # the chosen files must be chosen again, and the page says so
    _nothing_stored(before)


def test_other_field_errors(client, tree):
    r = client.post("/portal/apply/", apply_data(client, phone="0915-1234567", programme="temporary",
                                                 signer_name="别人", commitment="", reason="电话 13912345678"))  # fmt: skip
    html = r.content.decode()
    for text in ("请填写11位手机号码", "急难型或支出型", "签名须与申请人姓名一致", "说明中请不要填写身份证号"):
        assert text in html, text
    assert 'data-testid="error-commitment"' in html
    assert Case.objects.count() == 0
    # 'help' is not a programme one applies for; the staff triage it
    r = client.post("/portal/apply/", apply_data(client, programme="help"))
    assert 'data-testid="error-programme"' in r.content.decode() and Case.objects.count() == 0


@pytest.mark.parametrize("name,data,message", [
    ("申请表.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "不是 PDF、JPG 或 PNG"),  # an .exe renamed
    ("照片.jpg", b"<html><script>alert(1)</script></html>", "不是 PDF、JPG 或 PNG"),  # HTML renamed
    ("扫描件.pdf", b"%PDF-1.7\n" + b"0" * 5000, "不是完整的 PDF"),  # cut off in transfer
    ("大文件.pdf", b"%PDF-1.4\n" + b"0" * (10 * 2**20) + b"%%EOF", "超过 10 MB"),
])  # fmt: skip
def test_fake_and_oversized_files_are_refused_by_name_and_nothing_is_stored(client, tree, name, data, message):
    before = stored_files()
    r = client.post("/portal/apply/", apply_data(client, files=[upload("好的.pdf", PDF), upload(name, data)]))
    html = r.content.decode()
    assert r.status_code == 200 and message in html and f"“{name}”" in html
    assert 'value="林秀英"' in html and 'data-testid="files-lost"' in html
    _nothing_stored(before)


def test_too_many_files_and_too_large_a_body(client, tree):
    before = stored_files()
    r = client.post("/portal/apply/", apply_data(client, files=[upload(f"{i}.pdf", PDF) for i in range(11)]))
    assert "最多上传 10 个文件" in r.content.decode()
    _nothing_stored(before)
    # a declared body beyond ten full files is refused before anything is read
    r = client.post("/portal/apply/", apply_data(client), CONTENT_LENGTH=str(MAX_BODY + 1))
    assert r.status_code == 413 and "提交的内容过大" in r.content.decode()
    _nothing_stored(before)


def test_post_without_csrf_token_is_refused(tree):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    data = apply_data(c)
    assert c.post("/portal/apply/", data).status_code == 403
    assert c.post("/portal/track/", {"case_no": "x", "code": "y"}).status_code == 403
    assert c.post("/portal/report/", {"township": TOWN_A, "what": "x"}).status_code == 403
    assert Case.objects.count() == 0


def test_expired_or_forged_token_asks_to_submit_again(client, tree):
    r = client.post("/portal/apply/", apply_data(client, token="forged:token:value"))
    html = r.content.decode()
    assert "页面已过期" in html and Case.objects.count() == 0
    r = client.post("/portal/apply/", apply_data(client, token=r.context["form"]["token"].value()))
    assert r.status_code == 200 and Case.objects.count() == 1
