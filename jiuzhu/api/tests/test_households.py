"""Household endpoints: list filters and paging, detail with members, create, edit, add a member."""

from __future__ import annotations

from jiuzhu.api.tests.conftest import ApiClient
from jiuzhu.core import crypto
from jiuzhu.registry.models import ChangeRecord, Household, Person
from jiuzhu.testing.fixtures import make_household, new_id


def test_list_is_scoped_ordered_and_paged(personas, village_a, village_b, hh_a, hh_b):
    extra = make_household(personas.caseworker_a, village_a, size=1, name="王五")
    api = ApiClient(personas.caseworker_a)
    r = api.get("/households")
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2
    assert [h["household_no"] for h in body["items"]] == sorted([hh_a.household_no, extra.household_no])
    assert hh_b.household_no not in r.content.decode()

    page = api.get("/households", limit=1, offset=1).json()
    assert page["count"] == 2 and page["limit"] == 1 and page["offset"] == 1
    assert [h["household_no"] for h in page["items"]] == [max(hh_a.household_no, extra.household_no)]

    county = ApiClient(personas.reviewer).get("/households").json()
    assert county["count"] == 3


def test_limit_is_capped_at_200(personas):
    api = ApiClient(personas.caseworker_a)
    assert api.get("/households", limit=200).status_code == 200
    assert api.get("/households", limit=201).status_code == 422
    assert api.get("/persons", limit=201).status_code == 422
    assert api.get("/households", limit=0).status_code == 422


def test_filters_q_village_status(personas, village_a, hh_a, hh_b):
    api = ApiClient(personas.reviewer)
    head = Person.objects.get(household=hh_a, relation="02")
    # exact name, prefix, and ID number via the blind index
    assert [h["id"] for h in api.get("/households", q="欧阳明华").json()["items"]] == [hh_a.pk]
    assert [h["id"] for h in api.get("/households", q="欧阳").json()["items"]] == [hh_a.pk]
    full = crypto.decrypt(head.id_number_enc, context="person.id_number")
    assert [h["id"] for h in api.get("/households", q=full).json()["items"]] == [hh_a.pk]
    assert api.get("/households", q=full[:17] + ("0" if full[17] != "0" else "1")).json()["count"] == 0
    assert [p["id"] for p in api.get("/persons", q=full).json()["items"]] == [head.pk]
    # village prefix
    assert [h["id"] for h in api.get("/households", village=village_a).json()["items"]] == [hh_a.pk]
    assert api.get("/households", village="abc").status_code == 422
    # status
    assert api.get("/households", status="archived").json()["count"] == 0
    Household.objects.filter(pk=hh_a.pk).update(status="archived")
    assert [h["id"] for h in api.get("/households", status="archived").json()["items"]] == [hh_a.pk]
    assert api.get("/households", status="deleted").status_code == 422


def test_masked_names_allow_exact_search_only(personas, hh_a):
    api = ApiClient(personas.supervisor)  # no view_names
    assert api.get("/households", q="欧阳").json()["count"] == 0
    assert api.get("/households", q="欧阳明华").json()["count"] == 1
    item = api.get("/households", q="欧阳明华").json()["items"][0]
    assert item["head_name"] == "欧阳**"


def test_detail_has_members(personas, hh_a):
    r = ApiClient(personas.caseworker_a).get(f"/households/{hh_a.pk}")
    assert r.status_code == 200
    body = r.json()
    assert body["household_no"] == hh_a.household_no
    assert len(body["members"]) == 3
    assert body["head_name"] == "欧阳明华"
    account = crypto.decrypt(hh_a.bank_account_enc, context="household.bank_account")
    assert body["bank_account_masked"] == "*" * (len(account) - 4) + account[-4:]
    head = next(m for m in body["members"] if m["relation"] == "02")
    assert head["phone_masked"] == "138****8000"
    assert "*" in head["id_number_masked"]


def _member(**kw):
    m = {"name": "赵六", "id_number": new_id(), "relation": "02", "phone": "13912345678"}
    m.update(kw)
    return m


def test_create_household(personas, village_a):
    api = ApiClient(personas.caseworker_a)
    body = {
        "area_code": village_a, "urban_rural": "urban", "address": "二组", "bank_account": "6228480000999988887",
        "members": [_member(), _member(name="赵小六", relation="20", phone="")], "reason": "新申请",
    }
    r = api.post("/households", body)
    assert r.status_code == 201, r.content
    out = r.json()
    h = Household.objects.get(pk=out["id"])
    assert h.area_code == village_a and h.member_count == 2 and h.head_name == "赵六"
    assert out["household_no"] == h.household_no and len(out["members"]) == 2
    assert {m["urban_rural"] for m in out["members"]} == {"urban"}  # defaults to the household's
    assert ChangeRecord.objects.filter(household=h, action="create").count() == 3


def test_create_validation_errors_are_422_with_locations(personas, village_a):
    api = ApiClient(personas.caseworker_a)
    body = {"area_code": village_a, "urban_rural": "rural",
            "members": [_member(id_number="610902196001011230"), _member(relation="10", name="x1")]}
    r = api.post("/households", body)
    assert r.status_code == 422
    locs = [e["loc"] for e in r.json()["detail"]]
    assert ["body", "members", 0, "id_number"] in locs
    assert ["body", "members", 1, "name"] in locs
    assert all(isinstance(e["msg"], str) and e["msg"] for e in r.json()["detail"])
    assert not Household.objects.exists()


def test_create_outside_own_area_is_forbidden(personas, village_b):
    r = ApiClient(personas.caseworker_a).post("/households", {
        "area_code": village_b, "urban_rural": "rural", "members": [_member()]})
    assert r.status_code == 403
    assert r.json() == {"detail": "无权执行此操作", "code": "forbidden"}
    assert not Household.objects.exists()


def test_patch_household(personas, hh_a):
    api = ApiClient(personas.caseworker_a)
    r = api.patch(f"/households/{hh_a.pk}", {"version": 1, "reason": "搬家", "address": "三组", "bank_account": "6228481111222233334"})
    assert r.status_code == 200, r.content
    assert r.json()["version"] == 2 and r.json()["address"] == "三组"
    assert r.json()["bank_account_masked"].endswith("3334")
    hh_a.refresh_from_db()
    assert hh_a.address == "三组" and hh_a.version == 2
    bad = api.patch(f"/households/{hh_a.pk}", {"version": 2, "reason": "x", "bank_account": "12ab"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "bank_account"]
    no_reason = api.patch(f"/households/{hh_a.pk}", {"version": 2, "address": "四组"})
    assert no_reason.status_code == 422
    null = api.patch(f"/households/{hh_a.pk}", {"version": 2, "reason": "x", "address": None})
    assert null.status_code == 422
    hh_a.refresh_from_db()
    assert hh_a.address == "三组" and hh_a.version == 2


def test_add_person(personas, hh_a):
    api = ApiClient(personas.caseworker_a)
    r = api.post(f"/households/{hh_a.pk}/persons", {"name": "欧阳小明", "id_number": new_id(), "relation": "20", "reason": "出生"})
    assert r.status_code == 201, r.content
    p = Person.objects.get(pk=r.json()["id"])
    assert p.household_id == hh_a.pk and p.area_code == hh_a.area_code and p.urban_rural == "rural"
    hh_a.refresh_from_db()
    assert hh_a.member_count == 4
    second_head = api.post(f"/households/{hh_a.pk}/persons", {"name": "欧阳大明", "id_number": new_id(), "relation": "02"})
    assert second_head.status_code == 422
    assert second_head.json()["detail"][0]["loc"] == ["body", "relation"]
