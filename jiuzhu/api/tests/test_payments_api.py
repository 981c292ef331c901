"""``/payments``: SECURITY PAY-ONCE (the same ``Idempotency-Key`` replayed 1,000 times answers the same bytes and
writes nothing; the same key with another body is 409), PAY-LOCK (a stale ``version`` is 409 for approving a run
and for changing an entitlement; of concurrent requests with the same version exactly one wins), area scoping
(404 outside, like a missing object), maker ≠ checker, and no full account number or ciphertext in any answer."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid

import pytest
from django.db import connection
from django.test import Client

from jiuzhu.api.tests.conftest import ApiClient, body_text, full_ids_in
from jiuzhu.batch.models import JobRun
from jiuzhu.core.models import AuditEvent
from jiuzhu.payments.models import Adjustment, Entitlement, PayrollLine, PayrollRun, PayrollSkip
from jiuzhu.payments.tests.kit import entitlement_of, granted, sync
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, make_user, villages

ACCOUNT = "6228480402564890018"  # every test household's account (cases.tests.kit.registered_household)
BODY = {"area_code": TOWN_A, "month": "2026-01", "programme": "dibao"}


def rows() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (PayrollRun, PayrollLine, PayrollSkip, JobRun, AuditEvent, Adjustment)}


def post_run(client: ApiClient, body: dict, key: str | None):
    headers = {"Authorization": f"Bearer {client.token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.client.post("/api/v1/payments/runs", json.dumps(body), content_type="application/json",
                              headers=headers)  # fmt: skip


def assert_nothing_sensitive(response, *ciphertexts: str) -> None:
    text = body_text(response)
    assert ACCOUNT not in text and ACCOUNT[-8:] not in text
    assert not full_ids_in(text)
    for c in ciphertexts:
        assert c not in text
    for word in ("bank_account_enc", "bank_account_bi", "idempotency_key", "request_hash", "snapshot"):
        assert word not in text


@pytest.fixture
def world(personas):
    vs = villages(TOWN_A)
    hs = [granted(personas.caseworker_a, vs[i % 2]) for i in range(4)]
    hs.append(granted(personas.caseworker_a, vs[0], programme="tekun"))
    granted(personas.caseworker_b, villages(TOWN_B)[0])
    sync()
    return hs


# --- PAY-ONCE --------------------------------------------------------------------------------------------


def test_pay_once_replays_are_byte_identical_and_a_changed_body_is_409(personas, world):
    api_a = ApiClient(personas.caseworker_a)
    key = str(uuid.uuid4())
    first = post_run(api_a, BODY, key)
    assert first.status_code == 201, first.content
    run = PayrollRun.objects.get()
    out = first.json()
    assert out == {"id": run.pk, "area_code": TOWN_A, "month": "2026-01", "programme": "dibao", "kind": "regular",
                   "status": "generated", "version": run.version, "line_count": 4, "total_amount": out["total_amount"],
                   "counts": run.counts}  # fmt: skip
    assert out["total_amount"] == f"{run.total_amount:.2f}" and out["counts"]["lines"] == 4
    before, lines = rows(), run.lines.count()
    for _ in range(1000):
        again = post_run(api_a, BODY, key)
        assert again.status_code == 201 and again.content == first.content
    assert rows() == before and PayrollRun.objects.count() == 1 and run.lines.count() == lines == 4
    # the same key with a changed body: rejected every time, nothing written
    changed = [{**BODY, "month": "2026-02"}, {**BODY, "programme": "all"}, {**BODY, "programme": "tekun"},
               {**BODY, "area_code": villages(TOWN_A)[0]}, {**BODY, "area_code": villages(TOWN_A)[1]}]  # fmt: skip
    for body in changed:
        r = post_run(api_a, body, key)
        assert r.status_code == 409, (body, r.content)
        assert r.json() == {"detail": "该幂等键已用于另一发放请求。", "code": "idempotency_conflict"}
    assert rows() == before
    # and the original request still answers the same bytes
    assert post_run(api_a, BODY, key).content == first.content


def test_the_same_request_with_another_key_is_the_same_run(personas, world):
    api_a = ApiClient(personas.caseworker_a)
    first = post_run(api_a, BODY, "key-one")
    other = post_run(ApiClient(personas.reviewer), BODY, "key-two")
    assert (first.status_code, other.status_code) == (201, 200)
    assert other.json()["id"] == first.json()["id"] and PayrollRun.objects.count() == 1


def test_a_replay_gets_the_first_answer_even_after_the_run_changed(personas, world):
    """The stored result (PAY-ONCE): approved since, the run answers GET with its new status and version, but the
    key's replay still answers what the first request was told, byte for byte, and writes nothing."""
    api_a = ApiClient(personas.caseworker_a)
    key = str(uuid.uuid4())
    first = post_run(api_a, BODY, key)
    assert first.status_code == 201
    from jiuzhu.payments import services

    run = services.approve(PayrollRun.objects.get(), personas.reviewer)
    assert api_a.get(f"/payments/runs/{run.pk}").json()["status"] == "approved"
    before = rows()
    again = post_run(api_a, BODY, key)
    assert again.status_code == 201 and again.content == first.content and again.json()["status"] == "generated"
    assert rows() == before


def test_a_key_that_found_another_requests_run_is_still_bound_to_its_body(personas, world):
    """A key whose request found the live run another request had made (200) created nothing of its own; it is
    still bound to its body: the same key with another body is 409 and makes no run."""
    post_run(ApiClient(personas.reviewer), BODY, "reviewer-key")
    api_a = ApiClient(personas.caseworker_a)
    found = post_run(api_a, BODY, "found-key")
    assert found.status_code == 200 and PayrollRun.objects.count() == 1
    before = rows()
    other = post_run(api_a, {**BODY, "month": "2026-02"}, "found-key")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert rows() == before and PayrollRun.objects.count() == 1
    assert post_run(api_a, BODY, "found-key").content == found.content


@pytest.mark.parametrize(
    "key", [None, "", "x" * 65, "has space", "ключ"], ids=["missing", "empty", "too-long", "space", "non-ascii"]
)
def test_idempotency_key_is_required_and_checked(personas, world, key):
    r = post_run(ApiClient(personas.caseworker_a), BODY, key)
    assert r.status_code == 422, r.content
    assert any("Idempotency-Key" in map(str, e["loc"]) or "idempotency" in str(e["loc"]).lower()
               for e in r.json()["detail"])  # fmt: skip
    assert not PayrollRun.objects.exists()


@pytest.mark.parametrize("body", [
    {**BODY, "month": "2026-13"}, {**BODY, "month": "2026-1"}, {**BODY, "programme": "temporary"},
    {**BODY, "area_code": "61090210"}, {**BODY, "extra": 1}, {"area_code": TOWN_A, "month": "2026-01"},
])  # fmt: skip
def test_invalid_bodies_are_422(personas, world, body):
    r = post_run(ApiClient(personas.caseworker_a), body, "k")
    assert r.status_code == 422, r.content
    assert not PayrollRun.objects.exists()


def test_unknown_area_in_yours_is_422(personas, world):
    r = post_run(ApiClient(personas.caseworker_a), {**BODY, "area_code": TOWN_A + "999"}, "k")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "area_code"]


# --- scoping and roles -----------------------------------------------------------------------------------


def test_out_of_area_is_404_like_a_missing_run(personas, world):
    api_a, api_b = ApiClient(personas.caseworker_a), ApiClient(personas.caseworker_b)
    run_id = post_run(api_a, BODY, "k-a").json()["id"]
    missing = api_b.get(f"/payments/runs/{run_id + 1000}")
    assert missing.status_code == 404
    for r in (api_b.get(f"/payments/runs/{run_id}"), api_b.get(f"/payments/runs/{run_id}/lines"),
              api_b.post(f"/payments/runs/{run_id}/approve", {"version": 2})):  # fmt: skip
        assert r.status_code == 404 and r.content == missing.content
    before = rows()
    r = post_run(api_b, BODY, "k-b")
    assert r.status_code == 404 and r.content == missing.content
    e = entitlement_of(world[0])
    r = api_b.patch(f"/payments/entitlements/{e.pk}", {"version": e.version, "action": "suspend", "reason": "外区"})
    assert r.status_code == 404 and r.content == missing.content
    assert rows() == before


def test_a_role_without_the_payment_permission_gets_403(personas, world):
    run_id = post_run(ApiClient(personas.caseworker_a), BODY, "k").json()["id"]
    sv = ApiClient(personas.supervisor)  # the city: sees the area, may not pay
    assert post_run(sv, BODY, "k2").status_code == 403
    assert sv.get(f"/payments/runs/{run_id}").status_code == 403
    assert sv.get(f"/payments/runs/{run_id}/lines").status_code == 403
    assert sv.post(f"/payments/runs/{run_id}/approve", {"version": 2}).status_code == 403
    e = entitlement_of(world[0])
    assert sv.patch(f"/payments/entitlements/{e.pk}", {"version": 1, "action": "stop", "reason": "x"}).status_code == 403
    assert PayrollRun.objects.get().status == "generated" and e.adjustments.count() == 0


# --- approve (maker-checker, PAY-LOCK) -------------------------------------------------------------------


def test_maker_cannot_approve_and_a_stale_version_is_409(personas, world):
    maker, checker = ApiClient(personas.caseworker_a), ApiClient(personas.reviewer)
    run = post_run(maker, BODY, "k").json()
    own = maker.post(f"/payments/runs/{run['id']}/approve", {"version": run["version"]})
    assert own.status_code == 403 and own.json() == {"detail": "不能审核本人生成的发放批次。", "code": "forbidden"}
    stale = checker.post(f"/payments/runs/{run['id']}/approve", {"version": run["version"] - 1})
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert PayrollRun.objects.get().status == "generated"
    ok = checker.post(f"/payments/runs/{run['id']}/approve", {"version": run["version"]})
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "approved" and ok.json()["version"] == run["version"] + 1
    again = checker.post(f"/payments/runs/{run['id']}/approve", {"version": run["version"]})
    assert again.status_code == 409
    current = checker.post(f"/payments/runs/{run['id']}/approve", {"version": run["version"] + 1})
    assert current.status_code == 422 and current.json()["detail"][0]["type"] == "refused"
    assert checker.get(f"/payments/runs/{run['id']}").json()["status"] == "approved"


# --- lines -----------------------------------------------------------------------------------------------


def test_lines_are_paged_and_masked(personas, world):
    api_a = ApiClient(personas.caseworker_a)
    created = post_run(api_a, {**BODY, "programme": "all"}, "k")
    run_id = created.json()["id"]
    page = api_a.get(f"/payments/runs/{run_id}/lines", limit=2, offset=1)
    assert page.status_code == 200
    data = page.json()
    n = PayrollLine.objects.filter(run_id=run_id).count()
    assert n >= 4 and data["count"] == n and (data["limit"], data["offset"]) == (2, 1) and len(data["items"]) == 2
    every = api_a.get(f"/payments/runs/{run_id}/lines", limit=200).json()["items"]
    assert [ln["id"] for ln in every] == list(PayrollLine.objects.order_by("pk").values_list("pk", flat=True))
    for ln in every:
        assert ln["bank_account_masked"].endswith(ACCOUNT[-4:]) and ACCOUNT not in ln["bank_account_masked"]
        assert ln["amount"].count(".") == 1 and len(ln["amount"].split(".")[1]) == 2
    assert api_a.get(f"/payments/runs/{run_id}/lines", limit=0).status_code == 422
    assert api_a.get(f"/payments/runs/{run_id}/lines", limit=201).status_code == 422


def test_no_full_account_or_ciphertext_in_any_answer(personas, world):
    maker, checker = ApiClient(personas.caseworker_a), ApiClient(personas.reviewer)
    responses = [post_run(maker, {**BODY, "programme": "all"}, "k")]
    run_id = responses[0].json()["id"]
    run = PayrollRun.objects.get(pk=run_id)
    responses += [maker.get(f"/payments/runs/{run_id}"), maker.get(f"/payments/runs/{run_id}/lines", limit=200),
                  checker.get(f"/payments/runs/{run_id}/lines", limit=200),
                  checker.post(f"/payments/runs/{run_id}/approve", {"version": run.version})]  # fmt: skip
    e = entitlement_of(world[0])
    responses.append(maker.patch(f"/payments/entitlements/{e.pk}",
                                 {"version": e.version, "action": "suspend", "reason": "外出务工核查"}))  # fmt: skip
    secrets = [*PayrollLine.objects.values_list("bank_account_enc", flat=True),
               *PayrollLine.objects.values_list("bank_account_bi", flat=True)]  # fmt: skip
    assert secrets and all(secrets)
    for r in responses:
        assert r.status_code in (200, 201), r.content
        assert_nothing_sensitive(r, *secrets)


# --- entitlements (PAY-LOCK) -----------------------------------------------------------------------------


def test_entitlement_suspend_resume_stop_with_versions(personas, world):
    api_a = ApiClient(personas.caseworker_a)
    e = entitlement_of(world[0])
    path = f"/payments/entitlements/{e.pk}"
    r = api_a.patch(path, {"version": e.version, "action": "suspend", "reason": "外出务工核查", "from_month": "2026-03"})
    assert r.status_code == 200, r.content
    out = r.json()
    assert (out["status"], out["version"], out["id"]) == ("suspended", e.version + 1, e.pk)
    adj = Adjustment.objects.get(pk=out["adjustment_id"])
    assert (adj.kind, adj.effective_month.isoformat(), adj.made_by_id) == ("suspend", "2026-03-01", personas.caseworker_a.pk)
    stale = api_a.patch(path, {"version": e.version, "action": "resume", "reason": "核查完毕"})
    assert stale.status_code == 409 and stale.json() == {"detail": "记录已被他人修改，请重新读取后再提交",
                                                         "code": "stale_version"}  # fmt: skip
    future = api_a.patch(path, {"version": out["version"] + 5, "action": "resume", "reason": "核查完毕"})
    assert future.status_code == 409
    e.refresh_from_db()
    assert e.status == "suspended" and e.version == out["version"] and e.adjustments.count() == 1
    refused = api_a.patch(path, {"version": e.version, "action": "suspend", "reason": "再次暂停"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["msg"] == "只有正常发放的待遇可以暂停。"
    blank = api_a.patch(path, {"version": e.version, "action": "resume", "reason": "   "})
    assert blank.status_code == 422
    resumed = api_a.patch(path, {"version": e.version, "action": "resume", "reason": "核查完毕"})
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    stopped = api_a.patch(path, {"version": resumed.json()["version"], "action": "stop", "reason": "迁出",
                                 "from_month": "2026-06"})  # fmt: skip
    assert stopped.status_code == 200, stopped.content
    assert (stopped.json()["status"], stopped.json()["end_month"]) == ("stopped", "2026-05")
    assert Entitlement.objects.get(pk=e.pk).adjustments.count() == 3
    for bad in ({"version": 9, "action": "delete", "reason": "x"}, {"version": 9, "action": "stop"},
                {"version": 9, "action": "stop", "reason": "x", "from_month": "2026/06"},
                {"version": 9, "action": "stop", "reason": "x", "status": "active"}):  # fmt: skip
        assert api_a.patch(path, bad).status_code == 422


# --- concurrency (PostgreSQL) ----------------------------------------------------------------------------


def _race(n: int, call) -> list[int]:
    barrier = threading.Barrier(n)
    results: list[int] = [0] * n

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = call(i).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises writers: no race to test")
@pytest.mark.parametrize("action", ["suspend", "stop"])
def test_concurrent_entitlement_patches_with_the_same_version_one_wins(personas, world, action):
    n = 6
    e = entitlement_of(world[0])
    clients = [ApiClient(personas.caseworker_a if i % 2 else personas.reviewer) for i in range(n)]
    results = _race(n, lambda i: clients[i].patch(f"/payments/entitlements/{e.pk}",
                                                  {"version": e.version, "action": action, "reason": f"并发{i}"}))  # fmt: skip
    assert sorted(results) == [200] + [409] * (n - 1), results
    e.refresh_from_db()
    assert e.version == 2 and e.adjustments.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises writers: no race to test")
def test_concurrent_approvals_with_the_same_version_one_wins(personas, world):
    n = 6
    run = post_run(ApiClient(personas.caseworker_a), BODY, "k").json()
    checkers = [ApiClient(make_user(f"chk_{i}", "caseworker", TOWN_A)) for i in range(n)]
    results = _race(n, lambda i: checkers[i].post(f"/payments/runs/{run['id']}/approve", {"version": run["version"]}))
    assert sorted(results) == [200] + [409] * (n - 1), results
    r = PayrollRun.objects.get()
    assert r.status == "approved" and r.version == run["version"] + 1
    assert AuditEvent.objects.filter(action="payroll.approve").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite serialises writers: no race to test")
def test_concurrent_posts_with_one_key_make_one_run(personas, world):
    n = 8
    clients = [ApiClient(personas.caseworker_a) for _ in range(n)]
    gate = contextlib.nullcontext()
    bodies: list[bytes] = [b""] * n

    def call(i: int):
        with gate:
            r = post_run(clients[i], BODY, "same-key")
        bodies[i] = r.content
        return r

    results = _race(n, call)
    assert results == [201] * n, results
    assert PayrollRun.objects.count() == 1 and len(set(bodies)) == 1
    assert PayrollLine.objects.count() == 4


# --- OpenAPI ---------------------------------------------------------------------------------------------


def test_payment_routes_are_documented(db):
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    for p in ("/api/v1/payments/runs", "/api/v1/payments/runs/{run_id}", "/api/v1/payments/runs/{run_id}/approve",
              "/api/v1/payments/runs/{run_id}/lines", "/api/v1/payments/entitlements/{entitlement_id}"):  # fmt: skip
        assert p in paths, p
    create = paths["/api/v1/payments/runs"]["post"]
    header = [p for p in create["parameters"] if p["in"] == "header"]
    assert [(h["name"], h["required"]) for h in header] == [("Idempotency-Key", True)]
    assert {"201", "401", "403", "404", "409", "422"} <= set(create["responses"])
    assert {"403", "409", "422"} <= set(paths["/api/v1/payments/entitlements/{entitlement_id}"]["patch"]["responses"])
    assert create["x-audit"] == ["payroll.create", "payroll.generate"]
