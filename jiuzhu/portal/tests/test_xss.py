"""Markup typed into the portal is stored as typed and shown as text: on the staff case page, the track page
and the village board."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jiuzhu.cases.models import Case, Publicity
from jiuzhu.testing.fixtures import TOWN_A, villages

from .helpers import apply_data

pytestmark = pytest.mark.django_db
SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_script_in_the_reason_is_stored_as_text_and_escaped_on_the_staff_page(client, personas):
    r = client.post("/portal/apply/", apply_data(client, reason=f"家里困难{SCRIPT}<img src=x onerror=alert(2)>",
                                                 applicant_name="林<b>秀英", signer_name="林<b>秀英"))  # fmt: skip
    assert r.status_code == 200, r.content.decode()
    case = Case.objects.get()
    assert SCRIPT in case.summary  # stored as typed
    client.force_login(personas.caseworker_a)
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert ESCAPED in html and SCRIPT not in html and "<img src=x" not in html and "林&lt;b&gt;秀英" in html
    client.logout()
    html = client.post("/portal/track/", {"case_no": case.case_no, "code": r.context["code"]}).content.decode()
    assert "林*****" in html and "秀英" not in html  # masked: nothing of the markup is left to show


def test_markup_on_the_board_is_escaped(client, personas):
    case = Case.objects.create(case_no="SQ-x-1", programme="dibao", state="publicity", area_code=villages(TOWN_A)[0],
                               township_code=TOWN_A, applicant_name="x", received_on=dt.date(2026, 1, 1))  # fmt: skip
    today = timezone.localdate()
    Publicity.objects.create(case=case, kind="publicity", area_code=case.area_code, programme="dibao",
                             masked_name=SCRIPT, household_size=2, starts_on=today, ends_on=today)  # fmt: skip
    html = client.get(f"/portal/publicity/{case.area_code}/").content.decode()
    assert SCRIPT not in html and "&lt;" in html
    pdf = client.get(f"/portal/publicity/{case.area_code}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
