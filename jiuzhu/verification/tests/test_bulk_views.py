"""The bulk re-verification pages (``views_bulk``): only the 核对 role (refusals audited), a job started from the
form runs and its page shows the counts and the households needing attention, another area's job is a 404 like
a missing one, the progress fragment polls until the job is finished."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jiuzhu.accounts.roles import Role
from jiuzhu.batch.models import JobRun
from jiuzhu.cases.tests.kit import registered_household
from jiuzhu.core.models import AuditEvent
from jiuzhu.registry.models import HouseholdEconomy
from jiuzhu.testing.fixtures import COUNTY, COUNTY_2, TOWN_A, TOWN_B, make_user, villages
from jiuzhu.verification import bulk, views_bulk
from jiuzhu.verification.models import FeedRecord, VerificationRun

pytestmark = pytest.mark.django_db
ON = dt.date(2025, 12, 15)
MISSING = 987654321
_key = itertools.count()


def _rec(person, source, kind, period, amount, category="") -> FeedRecord:
    return FeedRecord(source=source, kind=kind, person_bi=person.id_number_bi, area_code=person.area_code,
                      amount=Decimal(amount), category=category, period=period, natural_key=f"v{next(_key)}")  # fmt: skip


def _dibao(h) -> None:
    HouseholdEconomy.objects.filter(household=h).update(current_dibao=True, current_dibao_amount=Decimal("300"))


@pytest.fixture
def world(personas):
    """Three recipient households in 关庙镇 (one clean, one hiding a car, one whose salary stopped) and one in
    张滩镇."""
    cw = personas.caseworker_a
    va = villages(TOWN_A)[0]
    made = {"clean": registered_household(cw, va, size=2, name="孙清白"),
            "car": registered_household(cw, va, size=2, name="李小河"),
            "stopped": registered_household(cw, va, size=2, wage="200", name="王工资"),
            "other": registered_household(personas.caseworker_b, villages(TOWN_B)[0], size=1, name="冯外乡")}  # fmt: skip
    for h in made.values():
        _dibao(h)
    heads = {k: h.members.order_by("pk").first() for k, h in made.items()}
    FeedRecord.objects.bulk_create([
        _rec(heads["car"], "vehicle", "vehicle", dt.date(2024, 5, 1), "68000", category="car"),
        _rec(heads["stopped"], "hrss", "wage", dt.date(2025, 6, 1), "1800"),
    ])  # fmt: skip
    return made


def _client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_refused_without_verify_and_audited(world, personas):
    job = bulk.bulk_prepare(actor=personas.verifier, area_code=TOWN_A, on=ON)
    cw, rv = _client(personas.caseworker_a), _client(personas.reviewer)
    for c in (cw, rv):
        assert c.get("/verification/bulk/").status_code == 403
        r = c.post("/verification/bulk/", {"area": TOWN_A, "on": ON.isoformat(), "programme": "dibao"})
        assert r.status_code == 403 and "本次访问已记录" in r.content.decode()
    # a job of their area: refused, audited with the job; another township's caseworker: a 404
    cw_b = _client(personas.caseworker_b)
    for path in (f"/verification/bulk/{job.pk}/", f"/verification/bulk/{job.pk}/progress/"):
        assert rv.get(path).status_code == 403 and cw.get(path).status_code == 403
        assert cw_b.get(path).status_code == 404
    denied = AuditEvent.objects.filter(action="verification.bulk_denied", result="denied")
    for who in ("cw_a", "rv"):
        assert denied.filter(actor_username=who, object_id="").count() == 2
        assert denied.filter(actor_username=who, object_id=str(job.pk), object_area=TOWN_A).count() == 2
    assert not denied.filter(actor_username="cw_b").exists()
    assert JobRun.objects.filter(kind=bulk.KIND).count() == 1  # the refused POSTs started nothing
    # the nav entry is the verifier's only
    assert "nav-verify-bulk" not in rv.get("/cases/").content.decode()
    assert "nav-verify-bulk" in _client(personas.verifier).get("/cases/").content.decode()


def test_form_offers_own_area_and_townships_and_checks_input(world, personas):
    vf = _client(personas.verifier)
    r = vf.get("/verification/bulk/")
    assert r.status_code == 200
    body = r.content.decode()
    options = re.findall(r'<option value="(\d+)"', body)
    assert options[0] == COUNTY and TOWN_A in options and TOWN_B in options
    assert all(len(o) in (6, 9) and o.startswith(COUNTY) for o in options)  # no village, nothing outside
    assert re.search(rf'<option value="{COUNTY}" selected>', body)
    assert 'value="dibao" selected' in body and "求助（待分办）" not in body
    assert f'type="date" name="on" value="{timezone.localdate():%Y-%m-%d}"' in body
    for data in ({"area": "610921100", "on": ON.isoformat(), "programme": "dibao"},  # another county
                 {"area": TOWN_A, "on": (timezone.localdate() + dt.timedelta(days=2)).isoformat(), "programme": "dibao"},
                 {"area": TOWN_A, "on": "2025-13-01", "programme": "dibao"},
                 {"area": TOWN_A, "on": ON.isoformat(), "programme": "help"}):  # fmt: skip
        r = vf.post("/verification/bulk/", data)
        assert r.status_code == 400, data
    assert not JobRun.objects.filter(kind=bulk.KIND).exists()


def test_start_a_job_inline_and_read_its_counts(world, personas, settings):
    settings.JIUZHU_JOBS_INLINE = True
    vf = _client(personas.verifier)
    r = vf.post("/verification/bulk/", {"area": TOWN_A, "on": ON.isoformat(), "programme": "dibao"})
    job = JobRun.objects.get(kind=bulk.KIND)
    assert r.status_code == 302 and r["Location"] == reverse("verification:bulk_job", args=[job.pk])
    assert job.status == JobRun.Status.SUCCEEDED and job.done == job.total == 3 and job.created_by == personas.verifier
    assert job.params["on"] == ON.isoformat() and job.area_code == TOWN_A
    runs = {r.household_id: r for r in VerificationRun.objects.filter(job=job)}
    assert set(runs) == {world[k].pk for k in ("clean", "car", "stopped")}
    assert runs[world["stopped"].pk].conclusion == "investigate"
    assert runs[world["car"].pk].conclusion in ("fails", "investigate")
    attention = [r for r in runs.values() if r.conclusion in ("fails", "investigate")]

    r = vf.get(r["Location"])
    body = r.content.decode()
    assert r.status_code == 200 and 'data-status="succeeded"' in body and "hx-get" not in body  # finished: no polling
    c = job.counts["conclusions"]
    for key in ("meets", "fails", "investigate"):
        assert re.search(rf'data-testid="count-{key}">{c.get(key, 0)}<', body), key
    assert 'data-testid="count-households">3<' in body
    assert "机动车辆" in body and "工资性收入" in body  # findings by kind
    assert len(re.findall(r'data-testid="attention-row"', body)) == len(attention)
    for run in attention:
        assert reverse("verification:report", args=[run.pk]) in body
        assert run.household.household_no in body
    if runs[world["clean"].pk].conclusion == "meets":
        assert reverse("verification:report", args=[runs[world["clean"].pk].pk]) not in body
    assert "王工资" in body  # the 核对 role reads names in full (VIEW_NAMES); others never get here
    viewed = AuditEvent.objects.get(action="verification.bulk_viewed")
    assert viewed.object_id == str(job.pk) and sorted(viewed.detail["households"]) == sorted(r.household_id for r in attention)
    assert AuditEvent.objects.filter(action="verification.bulk_requested", object_id=str(job.pk)).count() == 1
    assert AuditEvent.objects.filter(action="verification.bulk", object_id=str(job.pk)).count() == 1
    # the list: newest first, with its counts
    other = bulk.bulk_prepare(actor=personas.verifier, area_code=TOWN_B, on=ON)
    body = vf.get("/verification/bulk/").content.decode()
    rows = re.findall(r'data-testid="bulk-job-row">\s*<td><a href="/verification/bulk/(\d+)/"', body)
    assert rows == [str(other.pk), str(job.pk)]
    assert "关庙镇" in body and ON.isoformat() in body


def test_attention_list_is_paginated(world, personas, settings, monkeypatch):
    settings.JIUZHU_JOBS_INLINE = True
    monkeypatch.setattr(views_bulk, "PER_PAGE", 1)
    vf = _client(personas.verifier)
    vf.post("/verification/bulk/", {"area": TOWN_A, "on": ON.isoformat(), "programme": "dibao"})
    job = JobRun.objects.get(kind=bulk.KIND)
    n = VerificationRun.objects.filter(job=job, conclusion__in=["fails", "investigate"]).count()
    assert n >= 1
    seen = set()
    for page in range(1, n + 1):
        body = vf.get(f"/verification/bulk/{job.pk}/", {"page": page}).content.decode()
        found = re.findall(r'href="/verification/runs/(\d+)/"', body)
        assert len(found) == 1
        seen.update(found)
        assert ("下一页" in body) == (page < n)
    assert len(seen) == n
    assert vf.get(f"/verification/bulk/{job.pk}/", {"page": "x"}).status_code == 200  # a bad page: the first


def test_another_areas_job_is_a_404_like_a_missing_one(world, personas):
    job = bulk.bulk_prepare(actor=personas.verifier, area_code=TOWN_A, on=ON)
    elsewhere = _client(make_user("vf2", Role.VERIFIER, COUNTY_2))
    township = _client(make_user("vf_b", Role.VERIFIER, TOWN_B))
    for c in (elsewhere, township):
        for suffix in ("", "progress/"):
            r = c.get(f"/verification/bulk/{job.pk}/{suffix}")
            m = c.get(f"/verification/bulk/{MISSING}/{suffix}")
            assert r.status_code == 404 and (r.status_code, r.content) == (m.status_code, m.content)
        assert f"/verification/bulk/{job.pk}/" not in c.get("/verification/bulk/").content.decode()
    # a township verifier may not start a job for the county
    r = township.post("/verification/bulk/", {"area": COUNTY, "on": ON.isoformat(), "programme": "dibao"})
    assert r.status_code == 400 and JobRun.objects.filter(kind=bulk.KIND).count() == 1
    # but sees the county's jobs of its township
    own = bulk.bulk_prepare(actor=personas.verifier, area_code=TOWN_B, on=ON)
    assert township.get(f"/verification/bulk/{own.pk}/").status_code == 200


def test_progress_polls_until_finished(world, personas):
    vf = _client(personas.verifier)
    job = bulk.bulk_prepare(actor=personas.verifier, area_code=TOWN_A, on=ON)
    url = f"/verification/bulk/{job.pk}/progress/"
    body = vf.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in body and f'hx-get="{url}"' in body and 'data-status="pending"' in body
    assert vf.get(url, {"format": "json"}).json() == {
        "id": job.pk, "status": "pending", "done": 0, "total": 0, "percent": 0, "message": "等待开始",
        "finished": False, "counts": {}}  # fmt: skip
    assert 'hx-trigger="every 1s"' in vf.get(f"/verification/bulk/{job.pk}/").content.decode()  # the page polls
    bulk.bulk_run(job.pk)
    body = vf.get(url).content.decode()
    assert "hx-get" not in body and 'data-status="succeeded"' in body and 'data-testid="job-counts"' in body
    state = vf.get(url, {"format": "json"}).json()
    assert state["finished"] and state["status"] == "succeeded" and state["done"] == state["total"] == 3
    assert state["percent"] == 100 and state["counts"]["households"] == 3
    assert vf.post(url).status_code == 405


def test_a_failed_job_says_so(world, personas, settings, monkeypatch):
    settings.JIUZHU_JOBS_INLINE = True

    def boom(*a, **k):
        raise RuntimeError("engine down")

    monkeypatch.setattr(bulk, "evaluate_all", boom)
    vf = _client(personas.verifier)
    r = vf.post("/verification/bulk/", {"area": TOWN_A, "on": ON.isoformat(), "programme": "dibao"})
    job = JobRun.objects.get(kind=bulk.KIND)
    assert r.status_code == 302 and job.status == JobRun.Status.FAILED
    body = vf.get(r["Location"]).content.decode()
    assert 'data-status="failed"' in body and "hx-get" not in body and f"任务编号 {job.pk}" in body


def test_pages_in_english(world, personas, settings):
    from jiuzhu.web.tests.test_i18n import assert_english_chrome, chrome, english

    settings.JIUZHU_JOBS_INLINE = True
    vf = english(_client(personas.verifier), "cookie")
    r = vf.post("/verification/bulk/", {"area": TOWN_A, "on": ON.isoformat(), "programme": "dibao"})
    job = JobRun.objects.get(kind=bulk.KIND)
    assert job.params["language"] == "en" and job.status == JobRun.Status.SUCCEEDED
    names = ("汉滨区", "关庙镇", "张滩镇", *(h.head_name for h in world.values()), *(h.household_no for h in world.values()))
    for path in ("/verification/bulk/", r["Location"], f"/verification/bulk/{job.pk}/progress/"):
        body = vf.get(path).content.decode()
        assert_english_chrome(chrome(body, *names))
    body = vf.get(r["Location"]).content.decode()
    assert "Households needing attention" in body and "Motor vehicles" in body and "Start bulk" not in body
