"""The village 公示/公布 lists, HTML and PDF, scanned: no full name of anyone in the database, no ID or phone
number, no row of a case that must not be shown (minor applicant, child allowance, 不予公示 for privacy) — and
every row that must be shown is there, so the scan cannot pass on an empty page.

The world: households registered in a village of 关庙镇 and one of 张滩镇, their applications driven through
the one service (``kit.act``) to 公示 (now, and expired a week ago) and to approval (公布); a request withdrawn
during 公示; and excluded cases whose board rows are written straight into the table, as a bug or old data
would leave them, to prove the query-time guard.

The PDF served is read back without a PDF library: its page streams are inflated (ReportLab's ASCII85 +
Flate) and the strings shown are decoded from the CID font's UTF-16BE, the way ``core/tests/test_pdf.py``
reads uncompressed output — and the reader is checked against that test's own extractor on the same document
rendered uncompressed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiuzhu.cases import services
from jiuzhu.cases.models import Case, Publicity
from jiuzhu.cases.tests.kit import act, head_id, registered_household, signed, verifier
from jiuzhu.core import crypto, idnumber, pdf
from jiuzhu.core.masking import mask_name
from jiuzhu.core.models import Division
from jiuzhu.core.pii_scan import scan_text
from jiuzhu.portal import services as portal
from jiuzhu.registry.models import Person
from jiuzhu.testing.fixtures import COUNTY, TOWN_A, TOWN_B, villages
from jiuzhu.testing.pdftext import page_strings

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def days(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


# ---- reading the served PDF --------------------------------------------------------------------------------------

# ---- the world ---------------------------------------------------------------------------------------------------

def _apply(cw, village: str, name: str, *, on: dt.date, programme: str = "dibao"):
    h = registered_household(cw, village, name=name)
    case, _code = services.intake(actor=cw, programme=programme, channel="window", area_code=village,
                                  applicant_name=name, applicant_id=head_id(h), household_size=2, received_on=on,
                                  signatures=signed(name))  # fmt: skip
    return case


def _to_publicity(cw, rv, case: Case, on: dt.date) -> Case:
    """Accepted five days before ``on``, investigated and verified, 初审意见 and 公示 on ``on``."""
    act(cw, case, "accept", on - dt.timedelta(days=5))
    act(cw, case, "start_investigation", on - dt.timedelta(days=4))
    act(cw, case, "record_investigation", on - dt.timedelta(days=4), investigators="李四、赵五", signed=True)
    act(cw, case, "request_verification", on - dt.timedelta(days=3))
    act(verifier(), case, "run_verification", on - dt.timedelta(days=2))
    return act(cw, case, "propose", on, opinion="家庭人均收入低于当地低保标准，拟同意")


def _approve(cw, rv, case: Case, proposed: dt.date) -> Case:
    _to_publicity(cw, rv, case, proposed)
    act(cw, case, "submit_to_county", proposed + dt.timedelta(days=8))
    return act(rv, case, "confirm", proposed + dt.timedelta(days=10))


def _forced_row(case: Case, name: str, kind: str = "publicity") -> None:
    """A board row the services would never write for this case."""
    Publicity.objects.create(case=case, kind=kind, area_code=case.area_code, programme=case.programme,
                             masked_name=mask_name(name), household_size=2, amount="500.00", starts_on=days(-1),
                             ends_on=days(6) if kind == "publicity" else None)  # fmt: skip


@pytest.fixture
def world(personas):
    cw_a, cw_b, rv = personas.caseworker_a, personas.caseworker_b, personas.reviewer
    v1, v2 = villages(TOWN_A)[0], villages(TOWN_B)[0]
    shown: dict[str, dict[str, list[str]]] = {v1: {"publicity": [], "publication": []},
                                              v2: {"publicity": [], "publication": []}}  # fmt: skip
    hidden: dict[str, list[str]] = {v1: [], v2: []}

    # 关庙镇: approved (公布 since), in 公示 now, 公示 expired a week ago, withdrawn during 公示
    _approve(cw_a, rv, _apply(cw_a, v1, "王大山", on=days(-30)), days(-24))
    shown[v1]["publication"].append("王*山")
    _to_publicity(cw_a, rv, _apply(cw_a, v1, "李春燕", on=days(-9)), days(-2))
    shown[v1]["publicity"].append("李*燕")
    _to_publicity(cw_a, rv, _apply(cw_a, v1, "周建国", on=days(-22)), days(-15))
    hidden[v1].append("周*国")
    withdrawn = _to_publicity(cw_a, rv, _apply(cw_a, v1, "陈志强", on=days(-8)), days(-1))
    act(cw_a, withdrawn, "withdraw", days(0))
    hidden[v1].append("陈*强")
    # 不予公示 for privacy (重大疾病), marked after the notice went up: the notice is still on the board
    private = _to_publicity(cw_a, rv, _apply(cw_a, v1, "冯玉兰", on=days(-8)), days(-1))
    Case.objects.filter(pk=private.pk).update(no_publicity=True, no_publicity_reason="privacy")
    hidden[v1].append("冯*兰")
    # a minor applicant, and the child allowance: never on a board, even with a row written by mistake
    minor_id = idnumber.make(COUNTY, days(-365 * 15), 41)
    minor, _ = services.intake(actor=cw_a, programme="dibao", channel="window", area_code=v1, applicant_name="吴小雨",
                               applicant_id=minor_id, received_on=days(-3), signatures=signed("吴小雨"))  # fmt: skip
    assert minor.applicant_is_minor and minor.no_publicity
    _forced_row(minor, "吴小雨")
    child, _ = services.intake(actor=cw_a, programme="child", channel="window", area_code=v1, applicant_name="郑思远",
                               received_on=days(-3))  # fmt: skip
    _forced_row(child, "郑思远", "publication")
    hidden[v1] += ["吴*雨", "郑*远"]

    # 张滩镇: approved, in 公示
    _approve(cw_b, rv, _apply(cw_b, v2, "褚卫东", on=days(-40)), days(-34))
    shown[v2]["publication"].append("褚*东")
    _to_publicity(cw_b, rv, _apply(cw_b, v2, "卫明珠", on=days(-7)), days(0))
    shown[v2]["publicity"].append("卫*珠")
    return shown, hidden


def _secrets() -> tuple[set[str], set[str]]:
    """Every full name and every ID and phone number held in the database (decrypted: the plaintext to look for)."""
    names = set(Person.objects.values_list("name", flat=True)) | set(Case.objects.values_list("applicant_name", flat=True))
    numbers = set()
    for p in Person.objects.all():
        numbers.add(crypto.decrypt(p.id_number_enc, context="person.id_number"))
    for c in Case.objects.exclude(applicant_id_enc=""):
        numbers.add(crypto.decrypt(c.applicant_id_enc, context="case.applicant_id"))
    return names, numbers


def test_boards_show_exactly_the_rows_allowed_and_nothing_personal(client, world):
    shown, hidden = world
    names, numbers = _secrets()
    assert len(names) >= 10 and len(numbers) >= 15  # 7 households of 2 and the minor applicant
    all_masks = {m for v in shown.values() for ms in v.values() for m in ms} | {m for ms in hidden.values() for m in ms}
    for code, expected in shown.items():
        vil = Division.objects.get(code=code)
        html = client.get(f"/portal/publicity/{code}/").content.decode()
        r = client.get(f"/portal/publicity/{code}.pdf")
        assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r["Cache-Control"] == "no-store"
        pages = page_strings(r.content)
        text = "\n".join(s for page in pages for s in page)
        assert portal.board_title(vil.name) in text and vil.parent.name in text and portal.OBJECTION_TEXT in text
        for where, body in (("html", html), ("pdf", text)):
            assert scan_text(body, f"{code} {where}") == []
            assert [n for n in names if n in body] == [], f"full name on the {where} board of {code}"
            assert [n for n in numbers if n in body] == []
            for m in all_masks - {m for ms in expected.values() for m in ms}:
                assert m not in body, f"{m} on the {where} board of {code}"
            for m in expected["publicity"] + expected["publication"]:
                assert body.count(m) == 1, f"{m} missing from the {where} board of {code}"
        # each in its section, and the HTML has exactly the expected rows
        pub, rest = html.split('data-testid="board-publication"')
        assert all(m in pub for m in expected["publicity"]) and all(m in rest for m in expected["publication"])
        assert html.count('data-testid="board-row"') == len(expected["publicity"]) + len(expected["publication"])
        assert "公示期 7 天" in text and text.index(expected["publicity"][0]) < text.index(expected["publication"][0])


def test_the_pdf_reader_reads_what_the_builder_wrote(world):
    """The served (compressed) PDF read by this test's reader = the uncompressed rendering read by the PDF
    builder's own test extractor, page for page."""
    vil = Division.objects.select_related("parent", "parent__parent").get(code=villages(TOWN_A)[0])
    doc = portal.board_doc(vil, TODAY, portal.board(vil.code, vil.name, TODAY))
    compressed = pdf.render(doc, invariant=True)
    assert b"/FlateDecode" in compressed
    assert page_strings(compressed) == page_strings(pdf.render(doc, invariant=True, compress=False))


def test_an_expired_notice_disappears_on_the_day_after(client, world):
    shown, _hidden = world
    v2 = villages(TOWN_B)[0]
    pub = Publicity.objects.get(area_code=v2, kind="publicity", withdrawn_on__isnull=True)
    assert pub.ends_on == days(7)
    rows = portal.board(v2, "x", days(7))
    assert [r.name for r in rows["publicity"]] == shown[v2]["publicity"]
    assert portal.board(v2, "x", days(8))["publicity"] == []
    assert [r.name for r in portal.board(v2, "x", days(8))["publication"]] == shown[v2]["publication"]
