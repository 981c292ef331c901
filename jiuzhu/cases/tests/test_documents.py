"""The printable documents of a case and the public check of their codes: each document only when its facts
exist, built from the case's records (names as the staff see them, never an ID number on internal forms, never the
tracking code), printed only by case-handling staff of the area, recorded and audited; the check shows nothing
personal, answers unknown and malformed codes alike, and is throttled per address."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client

from jiuzhu.cases import documents, services
from jiuzhu.cases.documents import Unavailable
from jiuzhu.cases.models import Case, DocumentLookup, IssuedDocument
from jiuzhu.core import pdf
from jiuzhu.core.models import AuditEvent
from jiuzhu.core.pdf import Checklist, Fields, Heading, Para, Table
from jiuzhu.registry.models import Household
from jiuzhu.testing.fixtures import TOWN_A, villages
from jiuzhu.testing.pdftext import text_of

from .kit import act, head_id, registered_household, signed

pytestmark = pytest.mark.django_db
D = dt.date
NOT_FOUND = "未找到与该核验码对应的文书"


# ---- driving cases -------------------------------------------------------------------------------------------


def _dibao_to_county(personas, *, materials: bool = True) -> tuple[Case, Household, str]:
    """A 低保 case at the window (首问: caseworker A) up to the county's review."""
    cw = personas.caseworker_a
    h = registered_household(cw, villages(TOWN_A)[0], size=3)
    case, code = services.intake(actor=cw, programme="dibao", channel="window", area_code=h.area_code,
                                 applicant_name="王大山", applicant_id=head_id(h), household_size=3,
                                 received_on=D(2026, 3, 2), signatures=signed())  # fmt: skip
    if materials:
        act(cw, case, "request_materials", D(2026, 3, 3), items=["income_statement", "other"], note="村委会出具的居住证明")
        act(cw, case, "supply_materials", D(2026, 3, 10))
    else:
        act(cw, case, "accept", D(2026, 3, 3))
    act(cw, case, "start_investigation", D(2026, 3, 11))
    act(cw, case, "record_investigation", D(2026, 3, 12), investigators="李四、赵五", signed=True,
        present_members="王大山", housing="土坯房两间", income="务农，年收入约三千元", conclusion="家庭生活困难")  # fmt: skip
    act(cw, case, "request_verification", D(2026, 3, 12))
    act(personas.verifier, case, "run_verification", D(2026, 3, 13))
    act(cw, case, "propose", D(2026, 3, 16), opinion="拟同意")
    act(cw, case, "submit_to_county", D(2026, 3, 24))
    case.refresh_from_db()
    return case, h, code


@pytest.fixture
def approved(personas) -> tuple[Case, Household, str]:
    case, h, code = _dibao_to_county(personas)
    act(personas.reviewer, case, "confirm", D(2026, 3, 25))
    case.refresh_from_db()
    assert case.state == "approved"
    return case, h, code


@pytest.fixture
def temporary(personas) -> Case:
    cw = personas.caseworker_a
    h = registered_household(cw, villages(TOWN_A)[0])
    services.reserve_append(township=TOWN_A, kind="topup", amount=Decimal("20000.00"), on=D(2026, 9, 1),
                            actor=personas.reviewer)  # fmt: skip
    case, _ = services.intake(actor=cw, programme="temporary", channel="window", area_code=h.area_code,
                              applicant_name="王大山", applicant_id=head_id(h), temp_type="emergency", temp_tier=1,
                              summary="夜间房屋失火", received_on=D(2026, 9, 28))  # fmt: skip
    act(cw, case, "advance_pay", D(2026, 9, 28), amount="500.00")
    case.refresh_from_db()
    return case


def _doc(case: Case, kind: str, actor=None) -> pdf.Doc:
    issued = services.issue_document(case=case, kind=kind, actor=actor)
    return documents.build(case, kind, issued)


def _texts(doc: pdf.Doc) -> list[str]:
    """Every string a document prints, block by block."""
    out = [doc.title, doc.authority, *doc.signature_lines]
    for b in doc.blocks:
        match b:
            case Para(text=t) | Heading(text=t):
                out.append(t)
            case Fields(items=items):
                out += [s for pair in items for s in pair]
            case Table(header=header, rows=rows):
                out += [*header, *(c for r in rows for c in r)]
            case Checklist(items=items):
                out += [t for t, _checked in items]
    return out


def _fields(doc: pdf.Doc) -> dict[str, str]:
    return {k: v for b in doc.blocks if isinstance(b, Fields) for k, v in b.items}


def _assert_pdf(doc: pdf.Doc, case: Case) -> None:
    data = pdf.render(doc, compress=False, invariant=True)
    assert data.startswith(b"%PDF")
    text = text_of(data)
    assert case.case_no in text and doc.verification_code in text


# ---- the documents -------------------------------------------------------------------------------------------


def test_dibao_documents_from_its_records(personas, approved):
    case, h, tracking_code = approved
    full_id = head_id(h)

    receipt = _doc(case, "receipt", personas.caseworker_a)
    issued = IssuedDocument.objects.get(case=case, kind="receipt")
    assert receipt.verification_code == pdf.normalise_verification_code(issued.verification_code)
    assert receipt.title == "最低生活保障申请受理通知书" and receipt.seal
    assert receipt.authority == "汉滨区关庙镇人民政府"
    assert receipt.watermark == "演示数据"  # the test run is in demo mode
    f = _fields(receipt)
    assert f["申请人"] == "王大山" and f["身份证号"] == case.applicant_id_masked != full_id
    assert f["受理日期"] == "2026年3月3日" and f["首问责任人"] == personas.caseworker_a.display_name
    assert f["办理时限"] == "自受理之日起30个工作日内办结（补正材料期间不计入），应于2026年4月21日前办结"
    text = "\n".join(_texts(receipt))
    assert "/portal/track/" in text and tracking_code not in text and full_id not in text
    _assert_pdf(receipt, case)

    deficiency = _doc(case, "deficiency")
    boxes = next(b for b in deficiency.blocks if isinstance(b, Checklist))
    assert boxes.items == [(services.MATERIALS["income_statement"], False), (services.MATERIALS["other"], False)]
    held = next(b for b in deficiency.blocks if isinstance(b, Table))
    assert [r[0] for r in held.rows] == list(services.HELD_BY_GOVERNMENT.values())
    assert {r[1] for r in held.rows} == {"无需提供，由我单位通过部门核查获取"}
    text = "\n".join(_texts(deficiency))
    assert "村委会出具的居住证明" in text and "暂停计算" in text
    _assert_pdf(deficiency, case)

    investigation = _doc(case, "investigation")
    members = next(b for b in investigation.blocks if isinstance(b, Table))
    names = set(h.members.values_list("name", flat=True))
    assert {r[1] for r in members.rows} == names and len(names) == 3  # full names: an internal form
    text = "\n".join(_texts(investigation))
    for p in h.members.all():  # no ID number, not even masked
        assert p.id_number_masked not in text and p.id_number_masked[-4:] not in "".join(r[4] for r in members.rows)
    assert "土坯房两间" in text and "家庭生活困难" in text
    assert investigation.signature_lines == ["调查人员（李四）", "调查人员（赵五）", "在场家庭成员"]
    assert _fields(investigation)["调查人员"] == "李四、赵五"
    _assert_pdf(investigation, case)

    confirmation = _doc(case, "confirmation", personas.reviewer)
    assert confirmation.title == "最低生活保障批准通知书" and confirmation.authority == "汉滨区民政局"
    f = _fields(confirmation)
    assert f["救助金额"] == f"每月{case.amount:,.2f}元" and f["起始发放月份"] == "2026年4月"
    decision = case.decisions.get()
    text = "\n".join(_texts(confirmation))
    for reason in decision.explanation["reasons"]:
        assert reason.replace("−", "－") in text  # the minus sign is outside GBK: its look-alike, not 〓
    assert pdf.MISSING_GLYPH not in pdf.printable(text)
    params = next(b for b in confirmation.blocks if isinstance(b, Table))
    assert params.header == ["参数", "取值", "依据文件", "条款", "可信度"]
    assert len(params.rows) == len(decision.explanation["parameters"])
    for row in params.rows:
        assert ("未经确认的示例值" in row[1]) == (row[4] == "L")
    _assert_pdf(confirmation, case)

    for kind in ("rejection", "temp_approval"):
        with pytest.raises(Unavailable):
            documents.check(case, kind)
    assert documents.available(case) == ["receipt", "deficiency", "investigation", "confirmation"]


def test_rejection_tells_the_appeal_rights(personas):
    case, _h, _code = _dibao_to_county(personas, materials=False)
    assert documents.available(case) == ["receipt", "investigation"]  # no deficiency notice, no decision yet
    act(personas.reviewer, case, "reject", D(2026, 3, 25), reason="其子在外务工，家庭人均收入高于当地低保标准")
    case.refresh_from_db()
    doc = _doc(case, "rejection", personas.reviewer)
    assert doc.title == "最低生活保障不予批准通知书" and doc.authority == "汉滨区民政局"
    text = "\n".join(_texts(doc))
    assert "其子在外务工" in text
    assert ("如对本决定不服，可以自收到本通知书之日起六十日内向汉滨区人民政府申请行政复议，或者自收到本通知书之日起"
            "六个月内依法向人民法院提起行政诉讼。") in text  # fmt: skip
    with pytest.raises(Unavailable):
        documents.check(case, "confirmation")
    _assert_pdf(doc, case)


def test_temporary_assistance_with_an_advance_payment(personas, temporary):
    case, cw = temporary, personas.caseworker_a
    # paid in advance: the approval form exists (township, awaiting its paperwork); no notice of approval yet
    assert documents.available(case) == ["receipt", "temp_approval"]
    early = _doc(case, "temp_approval")
    assert _fields(early)["审批层级"].startswith("先行救助")
    act(cw, case, "sign", D(2026, 10, 9), kind="commitment", signer_name="王大山")
    act(cw, case, "record_investigation", D(2026, 10, 9), investigators="甲,乙", signed=True, mode="remote",
        reason="火灾当晚电话核实")  # fmt: skip
    act(cw, case, "complete_paperwork", D(2026, 10, 9), reason="火灾致房屋损毁，已核实")
    case.refresh_from_db()
    doc = documents.build(case, "temp_approval", IssuedDocument.objects.get(case=case, kind="temp_approval"))
    assert doc.title == "临时救助审批表" and doc.authority == "汉滨区关庙镇人民政府" and doc.seal
    assert doc.signature_lines == ["经办人", "审核人", "审批人"]
    f = _fields(doc)
    assert f["救助类型"] == "急难型" and f["救助档次"] == "第1档" and f["审批金额"] == "500.00元"
    assert f["审批层级"] == "乡镇（街道）审批"
    paid = next(b for b in doc.blocks if isinstance(b, Table))
    assert paid.rows == [["1", "500.00元", "2026年9月28日", "2026年9月28日", "乡镇备用金（先行救助）"]]
    _assert_pdf(doc, case)

    notice = _doc(case, "confirmation")
    assert notice.title == "临时救助审批通知书" and "起始发放月份" not in _fields(notice)
    assert _fields(notice)["救助金额"] == "一次性500.00元"
    assert documents.filename(case, "confirmation") == f"{case.case_no}-临时救助审批通知书.pdf"


def test_watermark_only_in_demo_mode(settings, temporary):
    settings.DEMO_MODE = False
    assert _doc(temporary, "temp_approval").watermark == ""


def test_case_number_masked_in_the_middle():
    assert documents.mask_case_no("SQ-610902100-2026-00012") == "SQ-610902100-2026-***12"


# ---- the print view ------------------------------------------------------------------------------------------


def _url(case: Case, kind: str) -> str:
    return f"/cases/{case.pk}/documents/{kind}.pdf"


def test_print_records_the_code_once_and_audits_every_print(client: Client, personas, temporary):
    case = temporary
    client.force_login(personas.caseworker_a)
    r = client.get(_url(case, "temp_approval"))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and r["Cache-Control"] == "no-store"
    assert "filename*=UTF-8''" in r["Content-Disposition"] and "%E4%B8%B4%E6%97%B6" in r["Content-Disposition"]
    code = IssuedDocument.objects.get(case=case, kind="temp_approval").verification_code
    assert client.get(_url(case, "temp_approval")).status_code == 200
    assert IssuedDocument.objects.get(case=case, kind="temp_approval").verification_code == code
    events = AuditEvent.objects.filter(object_id=str(case.pk))
    assert events.filter(action="case.document_issued").count() == 1
    printed = events.filter(action="case.document_printed")
    assert printed.count() == 2 and printed.first().detail == {"kind": "temp_approval"}
    # the village assistant of the household's village and the county reviewer handle cases too
    for user in (personas.assistant_a, personas.reviewer):
        client.force_login(user)
        assert client.get(_url(case, "temp_approval")).status_code == 200


def test_print_is_404_outside_the_area_for_other_roles_and_without_the_facts(client: Client, personas, temporary):
    case = temporary
    for user in (personas.caseworker_b, personas.supervisor, personas.auditor, personas.reviewer_2):
        client.force_login(user)
        assert client.get(_url(case, "temp_approval")).status_code == 404, user.username
    client.force_login(personas.caseworker_a)
    for kind in ("confirmation", "rejection", "deficiency", "investigation", "nonsense"):
        assert client.get(_url(case, kind)).status_code == 404, kind
    assert client.get(f"/cases/{case.pk + 1000}/documents/receipt.pdf").status_code == 404
    assert not IssuedDocument.objects.filter(case=case).exists()  # nothing recorded by refused prints
    client.logout()
    assert client.get(_url(case, "temp_approval")).status_code == 302  # to the login page


# ---- the public check ----------------------------------------------------------------------------------------


def _not_found_block(html: str) -> str:
    m = re.search(r'<div[^>]*data-testid="verify-not-found".*?</div>', html, flags=re.S)
    assert m
    return m.group(0)


def test_verify_a_genuine_code_shows_nothing_personal(personas, temporary):
    case = temporary
    issued = services.issue_document(case=case, kind="temp_approval", actor=personas.caseworker_a)
    typed = " " + pdf.normalise_verification_code(issued.verification_code).lower().replace("-", " ") + " "
    r = Client().post("/verify/", {"code": typed})  # anonymous: a public page
    html = r.content.decode()
    assert r.status_code == 200 and 'data-testid="verify-genuine"' in html
    masked = documents.mask_case_no(case.case_no)
    assert "临时救助审批表" in html and masked in html and "汉滨区关庙镇人民政府" in html
    assert case.case_no not in html and "王大山" not in html and "500" not in html
    assert Client().get("/verify/", {"code": issued.verification_code}).content.decode().count(masked) == 1


def test_verify_answers_unknown_and_malformed_codes_alike(personas, temporary):
    services.issue_document(case=temporary, kind="temp_approval", actor=personas.caseworker_a)
    c = Client()
    unknown = c.post("/verify/", {"code": "2345-6789-ABCD"})
    malformed = c.post("/verify/", {"code": "not a code at all <script>"})
    assert unknown.status_code == malformed.status_code == 200
    assert NOT_FOUND in _not_found_block(unknown.content.decode())
    assert _not_found_block(unknown.content.decode()) == _not_found_block(malformed.content.decode())
    assert "<script>" not in malformed.content.decode()
    empty = c.get("/verify/")
    assert empty.status_code == 200 and NOT_FOUND not in empty.content.decode()


def test_verify_is_throttled_per_address(settings):
    settings.VERIFY_LOOKUP_LIMIT = 3
    c = Client(REMOTE_ADDR="10.9.0.1")
    for _ in range(3):
        assert c.post("/verify/", {"code": "2345-6789-ABCD"}).status_code == 200
    r = c.post("/verify/", {"code": "2345-6789-ABCD"})
    assert r.status_code == 429 and "查询过于频繁，请10分钟后再试" in r.content.decode()
    assert c.get("/verify/").status_code == 200  # the empty form is not a lookup
    assert Client(REMOTE_ADDR="10.9.0.2").post("/verify/", {"code": "2345-6789-ABCD"}).status_code == 200
    assert DocumentLookup.objects.filter(ip="10.9.0.1").count() == 4
