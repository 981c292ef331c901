"""Hostile input gives 4xx, never 500, on SQLite and PostgreSQL alike (SECURITY API-FUZZ:
``not_a_server_error``): NUL and other control characters, integers beyond the column range, wrong types,
non-object bodies."""

from __future__ import annotations

import pytest
from django.test import Client

from jiuzhu.api.tests.conftest import ApiClient
from jiuzhu.registry.models import Person


@pytest.mark.parametrize("q", ["a\x00b", "\x00", "张\x1b三", "x" * 41])
def test_bad_query_text(personas, q):
    api = ApiClient(personas.caseworker_a)
    assert api.get("/households", q=q).status_code == 422
    assert api.get("/persons", q=q).status_code == 422


def test_bad_bodies(personas, hh_a, village_a):
    api = ApiClient(personas.caseworker_a)
    p = Person.objects.filter(household=hh_a).first()
    cases = [
        ("PATCH", f"/households/{hh_a.pk}", {"version": 1, "reason": "x", "address": "a\x00b"}),
        ("PATCH", f"/households/{hh_a.pk}", {"version": 2**70, "reason": "x", "address": "b"}),
        ("PATCH", f"/households/{hh_a.pk}", {"version": "1; drop table", "reason": "x"}),
        ("PATCH", f"/households/{hh_a.pk}", {"version": 1, "reason": "\x00"}),
        ("PATCH", f"/persons/{p.pk}", {"version": 1, "reason": "x", "diagnosis": "\x00"}),
        ("PATCH", f"/persons/{p.pk}", {"version": 2**63, "reason": "x"}),
        ("PATCH", f"/persons/{p.pk}", [1, 2]),
        ("PATCH", f"/persons/{p.pk}", "text"),
        ("POST", "/households", {"area_code": village_a, "urban_rural": "rural", "members": [{"name": "a\x00", "id_number": "1"}]}),
        ("POST", "/households", {"area_code": village_a, "urban_rural": "rural", "members": []}),
        ("POST", "/households", {"area_code": village_a, "urban_rural": "rural", "address": "\x00",
                                 "members": [{"name": "赵六", "id_number": "610902196001011234"}]}),
        ("POST", f"/persons/{p.pk}/reveal", {"field": "id_number", "reason": "\x00\x00"}),
    ]
    for method, path, body in cases:
        r = api.send(method, path, body)
        assert r.status_code == 422, (method, path, body, r.content)
    raw = api.client.generic("PATCH", f"/api/v1/persons/{p.pk}", b"{not json", content_type="application/json",
                             headers={"Authorization": f"Bearer {api.token}"})
    assert 400 <= raw.status_code < 500


def test_bad_login_input(personas):
    for body in ({"username": "cw_a\x00", "password": "x"}, {"username": "", "password": "x"},
                 {"username": "cw_a", "password": "x" * 300}, {"username": ["cw_a"], "password": "x"}):
        r = Client().post("/api/v1/auth/token", body, content_type="application/json")
        assert r.status_code == 422, body
