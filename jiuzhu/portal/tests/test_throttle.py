"""Per-address limits: over the limit, HTTP 429 with a clear message, and nothing stored — not the case, not
the files, not even the request's count."""

from __future__ import annotations

import pytest

from jiuzhu.cases import services as case_services
from jiuzhu.cases.models import Attachment, Case
from jiuzhu.portal.models import PortalHit
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, villages

from .helpers import PDF, an_id, apply_data, stored_files, token_of, upload

pytestmark = pytest.mark.django_db


def test_sixth_application_in_an_hour_gets_429_and_stores_nothing(client, tree):
    for i in range(5):
        r = client.post("/portal/apply/", apply_data(client, id_number=an_id(seq=200 + i)))
        assert r.status_code == 200 and "tracking-code" in r.content.decode()
    hits, files = PortalHit.objects.count(), stored_files()
    r = client.post("/portal/apply/", apply_data(client, id_number=an_id(seq=300), files=[upload("a.pdf", PDF)]))
    assert r.status_code == 429 and "最多提交 5 份申请" in r.content.decode() and r["Retry-After"] == "3600"
    assert Case.objects.count() == 5 and Attachment.objects.count() == 0 and stored_files() == files
    assert PortalHit.objects.count() == hits
    # another address is not affected
    r = client.post("/portal/apply/", apply_data(client, id_number=an_id(seq=301)), REMOTE_ADDR="10.9.8.7")
    assert r.status_code == 200 and Case.objects.count() == 6


def test_reports_are_limited_too(client, tree):
    for _ in range(5):
        r = client.get("/portal/report/", {"township": TOWN_B})
        client.post("/portal/report/", {"township": TOWN_B, "token": token_of(r.content.decode()), "what": "困难",
                                        "relation": "other"})  # fmt: skip
    assert Case.objects.count() == 5
    r = client.get("/portal/report/", {"township": TOWN_B})
    r = client.post("/portal/report/", {"township": TOWN_B, "token": token_of(r.content.decode()), "what": "困难",
                                        "relation": "other"})  # fmt: skip
    assert r.status_code == 429 and "12345" in r.content.decode() and Case.objects.count() == 5


def test_tracking_lookups_limited_to_20_in_10_minutes(client, tree):
    case, code = case_services.intake(actor=None, programme="dibao", channel="portal", area_code=villages(TOWN_A)[0],
                                      applicant_name="林秀英")  # fmt: skip
    for _ in range(20):
        assert client.post("/portal/track/", {"case_no": case.case_no, "code": "AAAAAAAA"}).status_code == 200
    hits = PortalHit.objects.count()
    r = client.post("/portal/track/", {"case_no": case.case_no, "code": code})  # even the right code
    assert r.status_code == 429 and "查询过于频繁" in r.content.decode() and r["Retry-After"] == "600"
    assert PortalHit.objects.count() == hits and "portal_track" not in client.session


def test_invalid_form_posts_are_limited(client, tree, settings):
    settings.PORTAL_LIMITS = {"form": (2, 3600), "pdf": (1, 600)}
    for _ in range(2):
        assert client.post("/portal/apply/", apply_data(client, id_number="1")).status_code == 200
    assert client.post("/portal/apply/", apply_data(client)).status_code == 429
    assert Case.objects.count() == 0
    village = villages(TOWN_A)[0]
    assert client.get(f"/portal/publicity/{village}.pdf").status_code == 200
    assert client.get(f"/portal/publicity/{village}.pdf").status_code == 429


def test_old_hits_are_pruned(tree):
    import datetime as dt

    from django.utils import timezone

    from jiuzhu.portal import throttle

    PortalHit.objects.create(ip="1.2.3.4", kind="track", at=timezone.now() - dt.timedelta(hours=3))
    assert throttle.allow("5.6.7.8", "track")
    assert list(PortalHit.objects.values_list("ip", flat=True)) == ["5.6.7.8"]
