"""The village boards' pages: choosing the village without JavaScript, the date windows of 公示 and 公布, and
nothing but the whitelisted fields (the full scan of a realistic world is tests/test_publicity_scan.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from jiuzhu.cases.models import Case, Publicity
from jiuzhu.core.models import Division
from jiuzhu.testing.fixtures import TOWN_A, villages

pytestmark = pytest.mark.django_db


def _row(village: str, name: str, kind: str, starts: int, ends: int | None, **case_kw) -> None:
    today = timezone.localdate()
    n = Case.objects.count() + 1
    case = Case.objects.create(case_no=f"SQ-{TOWN_A}-2026-{n:05d}", programme=case_kw.pop("programme", "dibao"),
                               state="publicity", area_code=village, township_code=TOWN_A, applicant_name=name,
                               received_on=today, summary="患重病，住址一组", **case_kw)  # fmt: skip
    Publicity.objects.create(case=case, kind=kind, area_code=village, programme=case.programme, masked_name=name[0] + "*",
                             household_size=3, amount=Decimal("612.50"), starts_on=today + dt.timedelta(days=starts),
                             ends_on=None if ends is None else today + dt.timedelta(days=ends))  # fmt: skip


def test_choose_township_then_village(client, tree):
    html = client.get("/portal/publicity/").content.decode()
    assert 'name="township"' in html and "<optgroup" in html
    html = client.get("/portal/publicity/", {"township": TOWN_A}).content.decode()
    assert all(f'href="/portal/publicity/{v}/"' in html for v in villages(TOWN_A))
    assert client.get(f"/portal/publicity/{TOWN_A}000/").status_code == 404  # not a village
    assert client.get("/portal/publicity/12345/").status_code == 404


def test_windows_and_fields(client, tree):
    v = villages(TOWN_A)[0]
    _row(v, "甲", "publicity", -7, 0)  # last day today: shown
    _row(v, "乙", "publicity", -8, -1)  # ended yesterday
    _row(v, "丙", "publicity", 1, 8)  # not yet started
    _row(v, "丁", "publication", -100, None)  # until withdrawn
    _row(v, "戊", "publication", -100, -1)  # benefit ended
    _row(v, "己", "publication", -10, None, no_publicity=True)
    _row(v, "庚", "publication", -10, None, programme="child")
    _row(villages(TOWN_A)[1], "辛", "publication", -10, None)  # another village
    html = client.get(f"/portal/publicity/{v}/").content.decode()
    assert "甲*" in html and "丁*" in html and "612.50" in html and "最低生活保障" in html
    for hidden in ("乙*", "丙*", "戊*", "己*", "庚*", "辛*", "患重病", "一组"):
        assert hidden not in html, hidden
    assert html.count('data-testid="board-row"') == 2
    vil = Division.objects.get(code=v)
    assert vil.name in html and "对公示对象有异议的，可在公示期内向乡镇（街道）人民政府或县级民政部门反映。" in html
    Publicity.objects.filter(masked_name="丁*").update(withdrawn_on=timezone.localdate())
    assert "丁*" not in client.get(f"/portal/publicity/{v}/").content.decode()
    r = client.get(f"/portal/publicity/{v}.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-") and "filename*=UTF-8''" in r["Content-Disposition"]
