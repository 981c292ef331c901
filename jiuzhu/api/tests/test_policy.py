"""``POST /api/v1/policy/evaluate``: the CLI's JSON for one household, field errors as 422, households outside
the caller's area as 404, bearer token required, documented in the OpenAPI schema."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from jiuzhu.accounts.roles import Role
from jiuzhu.api.tests.conftest import ApiClient
from jiuzhu.policy.engine import evaluate
from jiuzhu.policyadmin.store import current_store
from jiuzhu.testing.fixtures import COUNTY, TOWN_A, TOWN_B, make_user

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "household.json"
URL = "/policy/evaluate"


def household(area: str | None = None, **over: Any) -> dict[str, Any]:
    h = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    if area is not None:
        h["area"] = area
    return h | over


@pytest.fixture
def api_a(personas) -> ApiClient:
    return ApiClient(personas.caseworker_a)


def test_evaluates_like_the_cli(api_a, village_a):
    body = household(village_a, date="2024-07-01", programmes=["dibao"])
    r = api_a.post(URL, body)
    assert r.status_code == 200, r.content
    res = r.json()
    dibao = res["programmes"]["dibao"]
    assert dibao["status"] == "ok" and dibao["eligible"] is True and dibao["amount"] == "1764.00"
    assert dibao["reasons"] and "trace" not in res
    want = evaluate(household(village_a), current_store(), on=dt.date(2024, 7, 1), allow_unconfirmed=True,
                    programmes=["dibao"])  # fmt: skip
    got = {k: v for k, v in res.items() if k != "trace"}
    assert json.dumps(got, ensure_ascii=False, sort_keys=True) == json.dumps(want, ensure_ascii=False, sort_keys=True)


def test_trace_cites_parameters(api_a, village_a):
    r = api_a.post(URL, household(village_a, date="2024-07-01", trace=True, programmes=["dibao"]))
    assert r.status_code == 200
    params = {p["key"]: p for p in r.json()["trace"]["parameters"]}
    assert params["dibao.standard.rural"]["confidence"] == "L" and params["dibao.standard.rural"]["source"]


def test_numbers_in_the_body_are_decimals(api_a, village_a):
    body = json.dumps(household(village_a, date="2024-07-01", programmes=["dibao"]))
    body = body.replace('"150.00"', "150.10")
    r = api_a.client.post("/api/v1" + URL, body, content_type="application/json", headers=api_a._headers())
    assert r.status_code == 200
    assert "家庭月收入 150.10 元" in r.json()["programmes"]["dibao"]["reasons"][0]


def test_date_defaults_to_today(api_a, village_a):
    r = api_a.post(URL, household(village_a, programmes=["dibao"]))
    assert r.status_code == 200 and r.json()["date"] == dt.date.today().isoformat()


@pytest.mark.parametrize("change, field", [
    (lambda h: h["members"][1].pop("birth_date"), "members[1].birth_date"),
    (lambda h: h["members"][1].update(id_number="610902195305010000"), "members[1].id_number"),
    (lambda h: h["members"][0]["income"].update(business="-1"), "members[0].income.business"),
    (lambda h: h.update(area="999999"), "area"),
    (lambda h: h.update(date="2024-02-30"), "date"),
    (lambda h: h.update(trace="yes"), "trace"),
    (lambda h: h.update(colour="red"), "colour"),
])  # fmt: skip
def test_422_names_the_field(api_a, village_a, change, field):
    h = household(village_a, date="2024-07-01")
    change(h)
    r = api_a.post(URL, h)
    assert r.status_code == 422, r.content
    errors = r.json()["errors"]
    assert field in [e["field"] for e in errors] and all(e["message"] for e in errors)
    assert r.json()["detail"][0]["loc"][0] == "body"


def test_422_for_a_date_without_parameters(api_a, village_a):
    h = household(village_a, date="2000-01-01")
    del h["members"][2]
    r = api_a.post(URL, h)
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == "date" and err["parameter"].startswith("dibao.standard.") and err["area"] == village_a
    assert "2000-01-01" in err["message"]


def test_422_for_bodies_that_are_not_a_household(api_a):
    for raw in ("not json", "[1]", '{"area": NaN}'):
        r = api_a.client.post("/api/v1" + URL, raw, content_type="application/json", headers=api_a._headers())
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"


def test_out_of_area_is_404(api_a, village_b, personas):
    r = api_a.post(URL, household(village_b, date="2024-07-01"))
    assert r.status_code == 404 and r.json() == {"detail": "Not Found", "code": "not_found"}
    # a code above the caller's area (the county, the city in six digits, the province) is outside it too
    for code in (COUNTY, "610900", "61", "442000"):
        assert api_a.post(URL, household(code, date="2024-07-01")).status_code == 404, code
    # a reviewer of the county sees both townships
    reviewer = ApiClient(personas.reviewer)
    assert reviewer.post(URL, household(village_b, date="2024-07-01", programmes=["dibao"])).status_code == 200
    assert reviewer.post(URL, household(TOWN_B, date="2024-07-01", programmes=["dibao"])).status_code == 200


def test_roles_without_view_are_refused(personas, village_a):
    admin = make_user("sysadm", Role.SYSTEM_ADMIN, TOWN_A)
    r = ApiClient(admin).post(URL, household(village_a, date="2024-07-01"))
    assert r.status_code == 403


def test_401_without_token(db, village_a):
    r = Client().post("/api/v1" + URL, json.dumps(household(village_a)), content_type="application/json")
    assert r.status_code == 401 and r["WWW-Authenticate"] == "Bearer"
    r = ApiClient(token="nope").post(URL, household(village_a))
    assert r.status_code == 401


def test_in_the_openapi_schema(db):
    s = Client().get("/api/v1/openapi.json").json()
    op = s["paths"]["/api/v1/policy/evaluate"]["post"]
    assert op["security"] == [{"BearerAuth": []}]
    assert {"200", "401", "403", "404", "422"} <= set(op["responses"])
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["area", "urban_rural", "members"]
    assert "birth_date" in body["properties"]["members"]["items"]["required"]
    assert "errors" in json.dumps(op["responses"]["422"]) or "PolicyErrorsOut" in json.dumps(op["responses"]["422"])


def test_money_strings_not_floats(api_a, village_a):
    h = copy.deepcopy(household(village_a, date="2024-07-01", programmes=["dibao"]))
    r = api_a.post(URL, h)
    amount = r.json()["programmes"]["dibao"]["amount"]
    assert isinstance(amount, str) and Decimal(amount).as_tuple().exponent == -2


def test_production_mode_blocks_with_null_amounts(api_a, village_a, settings):
    settings.DEMO_MODE = False
    r = api_a.post(URL, household(village_a, date="2024-07-01", programmes=["dibao"]))
    assert r.status_code == 200
    res = r.json()
    assert res["mode"] == "production"
    dibao = res["programmes"]["dibao"]
    assert dibao["status"] == "blocked" and dibao["eligible"] is None and dibao["amount"] is None
