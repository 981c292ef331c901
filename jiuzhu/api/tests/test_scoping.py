"""SECURITY AC-IDOR: every endpoint, tried by personas of another area, answers exactly like a missing id;
roles lacking an action on a visible object get 403; nothing changes in the database either way."""

from __future__ import annotations

import pytest

from jiuzhu.accounts.roles import Role
from jiuzhu.api.tests.conftest import ApiClient
from jiuzhu.core import crypto
from jiuzhu.core.models import AuditEvent
from jiuzhu.registry.models import ChangeRecord, Household, Membership, Person
from jiuzhu.testing.fixtures import COUNTY, make_user, new_id

MISSING = 987_654_321


def db_state():
    return (
        list(Household.objects.order_by("pk").values()),
        list(Person.objects.order_by("pk").values()),
        Membership.objects.count(),
        ChangeRecord.objects.count(),
    )


def operations(h: int, p: int):
    """(method, path, body) for every id-bearing operation."""
    return [
        ("GET", f"/households/{h}", None),
        ("PATCH", f"/households/{h}", {"version": 1, "reason": "核对", "address": "外区"}),
        ("POST", f"/households/{h}/persons", {"name": "外来人", "id_number": new_id(), "relation": "20"}),
        ("POST", f"/households/{h}/reveal", {"field": "bank_account", "reason": "核对账户"}),
        ("GET", f"/persons/{p}", None),
        ("PATCH", f"/persons/{p}", {"version": 1, "reason": "核对", "phone": "13911112222"}),
        ("POST", f"/persons/{p}/reveal", {"field": "id_number", "reason": "核对身份"}),
    ]


def call(api: ApiClient, method: str, path: str, body):
    return api.get(path) if method == "GET" else api.send(method, path, body)


@pytest.mark.parametrize("who", ["caseworker_b", "reviewer_2", "system_admin"])
def test_out_of_area_is_identical_to_missing(personas, hh_a, who):
    user = make_user("sa", Role.SYSTEM_ADMIN, COUNTY) if who == "system_admin" else getattr(personas, who)
    api = ApiClient(user)
    person = Person.objects.filter(household=hh_a).first()
    before = db_state()
    audits = AuditEvent.objects.count()
    for (method, path, body), (_, missing_path, missing_body) in zip(
        operations(hh_a.pk, person.pk), operations(MISSING, MISSING), strict=True
    ):
        real, missing = call(api, method, path, body), call(api, method, missing_path, missing_body)
        assert real.status_code == missing.status_code == 404, (method, path, real.content)
        assert real.content == missing.content == b'{"detail": "Not Found", "code": "not_found"}'
        assert real["Content-Type"] == missing["Content-Type"]
    assert db_state() == before
    assert AuditEvent.objects.count() == audits  # no reveal happened, not even a denied one


def test_lists_and_search_never_leak_other_areas(personas, hh_a, hh_b):
    head = Person.objects.get(household=hh_a, relation="02")
    full_id = crypto.decrypt(head.id_number_enc, context="person.id_number")
    api = ApiClient(personas.caseworker_b)
    for path, params in [
        ("/households", {}), ("/persons", {}), ("/households", {"q": full_id}), ("/persons", {"q": full_id}),
        ("/households", {"q": "欧阳明华"}), ("/persons", {"q": "欧阳"}), ("/households", {"village": hh_a.area_code}),
        ("/persons", {"village": hh_a.area_code}), ("/persons", {"household_id": hh_a.pk}),
        ("/households", {"q": hh_a.household_no}),
    ]:
        body = api.get(path, **params).json()
        ids = {item["id"] for item in body["items"]}
        own = set(Household.objects.filter(area_code__startswith=personas.caseworker_b.area_id).values_list("pk", flat=True))
        own_p = set(Person.objects.filter(area_code__startswith=personas.caseworker_b.area_id).values_list("pk", flat=True))
        assert ids <= (own if path == "/households" else own_p), (path, params)
        assert hh_a.household_no not in str(body)
    assert api.get("/persons", q=full_id).json()["count"] == 0
    assert ApiClient(personas.caseworker_a).get("/persons", q=full_id).json()["count"] == 1


def test_roles_without_the_action_get_403_on_visible_objects(personas, hh_a, village_a):
    person = Person.objects.filter(household=hh_a).first()
    before = db_state()
    auditor = ApiClient(personas.auditor)  # sees everything in the province, changes nothing
    assert auditor.get(f"/households/{hh_a.pk}").status_code == 200
    for method, path, body in operations(hh_a.pk, person.pk):
        if method == "GET":
            continue
        r = auditor.send(method, path, body)
        assert r.status_code == 403, (path, r.content)
        assert r.json() == {"detail": "无权执行此操作", "code": "forbidden"}
    r = auditor.post("/households", {"area_code": village_a, "urban_rural": "rural",
                                     "members": [{"name": "赵六", "id_number": new_id()}]})
    assert r.status_code == 403
    # may change, may not reveal
    assistant = ApiClient(personas.assistant_a)
    assert assistant.post(f"/persons/{person.pk}/reveal", {"field": "phone", "reason": "回访"}).status_code == 403
    assert ApiClient(personas.supervisor).post(f"/households/{hh_a.pk}/reveal",
                                               {"field": "bank_account", "reason": "核对"}).status_code == 403
    assert db_state() == before
    denied = AuditEvent.objects.filter(action="registry.reveal", result="denied")
    assert {e.actor_username for e in denied} == {"au", "va_a", "sv"}


def test_policy_admin_and_supervisor_read_only(personas, hh_a):
    for user in (personas.policy_admin, personas.supervisor):
        api = ApiClient(user)
        assert api.get(f"/households/{hh_a.pk}").status_code == 200
        assert api.patch(f"/households/{hh_a.pk}", {"version": 1, "reason": "x", "address": "y"}).status_code == 403
    hh_a.refresh_from_db()
    assert hh_a.version == 1 and hh_a.address == "一组"


def test_bad_ids_are_422_not_500(personas):
    api = ApiClient(personas.caseworker_a)
    assert api.get("/households/abc").status_code == 422
    assert api.get("/households/0").status_code == 422
    assert api.get(f"/persons/{2**64}").status_code == 422
    assert api.get(f"/persons/{2**63 - 1}").status_code == 404


def test_duplicate_id_from_another_area_does_not_say_where(personas, hh_a, hh_b, village_a, village_b):
    """The ID number is unique nationwide, so "already registered" must be said; which household and which
    person record hold it, only to someone who could open that household (AC-IDOR)."""
    dup = crypto.decrypt(Person.objects.filter(household=hh_a).first().id_number_enc, context="person.id_number")
    member = {"name": "重复", "id_number": dup, "relation": "02"}
    outsider = ApiClient(personas.caseworker_b)
    for r in (
        outsider.post("/households", {"area_code": village_b, "urban_rural": "rural", "members": [member]}),
        outsider.post(f"/households/{hh_b.pk}/persons", {**member, "relation": "20"}),
    ):
        assert r.status_code == 422
        text = str(r.json())
        assert "已" in text and hh_a.household_no not in text and "人员编号" not in text
    insider = ApiClient(personas.caseworker_a).post(
        "/households", {"area_code": village_a, "urban_rural": "rural", "members": [member]})
    assert insider.status_code == 422 and hh_a.household_no in str(insider.json())
