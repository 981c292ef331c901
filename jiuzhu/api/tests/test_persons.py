"""Person endpoints: list filters, detail, edit (with version), and the fields that may not be edited."""

from __future__ import annotations

from jiuzhu.api.tests.conftest import ApiClient
from jiuzhu.core import crypto
from jiuzhu.registry.models import ChangeRecord, Person
from jiuzhu.testing.fixtures import new_id


def test_list_filters_and_order(personas, hh_a, hh_b):
    api = ApiClient(personas.reviewer)
    body = api.get("/persons").json()
    assert body["count"] == 5 and len(body["items"]) == 5
    assert [p["household_no"] for p in body["items"]] == sorted(p["household_no"] for p in body["items"])
    only_a = api.get("/persons", household_id=hh_a.pk).json()
    assert only_a["count"] == 3 and {p["household_id"] for p in only_a["items"]} == {hh_a.pk}
    assert api.get("/persons", village=hh_b.area_code).json()["count"] == 2
    assert [p["name"] for p in api.get("/persons", q="欧阳明").json()["items"]] == ["欧阳明华"]
    page = api.get("/persons", limit=2, offset=4).json()
    assert len(page["items"]) == 1 and page["count"] == 5


def test_detail(personas, hh_a):
    p = Person.objects.get(household=hh_a, relation="02")
    body = ApiClient(personas.caseworker_a).get(f"/persons/{p.pk}").json()
    assert body["id"] == p.pk and body["household_no"] == hh_a.household_no and body["version"] == 1
    assert body["id_number_masked"] == p.id_number_masked and body["phone_masked"] == "138****8000"
    assert set(body) >= {"sex", "age", "relation", "disability_category", "schooling", "labour_capacity", "self_care"}


def test_patch_person_fields(personas, hh_a):
    p = Person.objects.filter(household=hh_a).exclude(relation="02").first()
    api = ApiClient(personas.caseworker_a)
    r = api.patch(f"/persons/{p.pk}", {"version": 1, "reason": "残联认定", "disability_category": "4",
                                        "disability_grade": 2, "labour_capacity": "partial", "diagnosis": "腰椎损伤"})
    assert r.status_code == 200, r.content
    out = r.json()
    assert (out["disability_category"], out["disability_grade"], out["labour_capacity"], out["version"]) == ("4", 2, "partial", 2)
    assert "腰椎" not in r.content.decode("unicode_escape")
    p.refresh_from_db()
    assert crypto.decrypt(p.diagnosis_enc, context="person.diagnosis") == "腰椎损伤"
    rec = ChangeRecord.objects.filter(object_type="person", object_id=p.pk, action="update").get()
    assert rec.reason == "残联认定" and "disability_grade" in rec.after
    # clearing a nullable field needs both halves of the pair
    half = api.patch(f"/persons/{p.pk}", {"version": 2, "reason": "更正", "disability_grade": None})
    assert half.status_code == 422
    both = api.patch(f"/persons/{p.pk}", {"version": 2, "reason": "更正", "disability_grade": None, "disability_category": ""})
    assert both.status_code == 200 and both.json()["disability_grade"] is None


def test_patch_person_rejects_nulls_and_bad_values(personas, hh_a):
    p = Person.objects.filter(household=hh_a).first()
    api = ApiClient(personas.caseworker_a)
    for body in ({"relation": None}, {"name": None}, {"schooling": "phd"}, {"disability_grade": 5},
                 {"hukou_area_code": "12345"}, {"id_number": "123456789012345678"}, {"phone": "12345"}):
        r = api.patch(f"/persons/{p.pk}", {"version": 1, "reason": "x", **body})
        assert r.status_code == 422, body
    p.refresh_from_db()
    assert p.version == 1


def test_patch_person_id_number_to_a_duplicate(personas, hh_a):
    a, b = Person.objects.filter(household=hh_a)[:2]
    dup = crypto.decrypt(b.id_number_enc, context="person.id_number")
    r = ApiClient(personas.caseworker_a).patch(f"/persons/{a.pk}", {"version": 1, "reason": "更正", "id_number": dup})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "id_number"]
    new = new_id()
    ok = ApiClient(personas.caseworker_a).patch(f"/persons/{a.pk}", {"version": 1, "reason": "更正", "id_number": new})
    assert ok.status_code == 200 and ok.json()["id_number_masked"] == new[:4] + "*" * 10 + new[-4:]
