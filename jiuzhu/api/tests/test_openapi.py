"""The OpenAPI document is valid enough for clients and schemathesis (SECURITY API-FUZZ): every route is in
it, every ``$ref`` resolves, every operation but the token request needs the bearer scheme and documents
its error responses; the docs page works without a CDN."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from jiuzhu.api.main import api

METHODS = {"get", "post", "put", "patch", "delete"}


def _schema() -> dict[str, Any]:
    r = Client().get("/api/v1/openapi.json")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/json")
    return r.json()


def _refs(node: Any):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def _routes_from_resolver() -> set[str]:
    """Every /api/v1 operation path the URL resolver knows, in OpenAPI spelling."""
    found: set[str] = set()

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                if p.name in ("api-root", "openapi-json", "openapi-view", "docs-asset"):
                    continue  # ninja's always-404 root, the schema and the docs page
                if route.startswith("api/v1/"):
                    found.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route).rstrip("/"))

    walk(get_resolver().url_patterns, "")
    return found


def test_schema_structure_and_refs(db):
    s = _schema()
    assert s["openapi"].startswith("3.")
    assert s["info"]["title"] and s["info"]["version"] == "1"
    schemes = s["components"]["securitySchemes"]
    assert list(schemes.values()) == [{"type": "http", "scheme": "bearer"}]
    components = s["components"]["schemas"]
    for ref in _refs(s):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in components, ref
    op_ids = [op["operationId"] for item in s["paths"].values() for m, op in item.items() if m in METHODS]
    assert len(op_ids) == len(set(op_ids))


def test_every_route_is_listed(db):
    paths = set(_schema()["paths"])
    assert paths == _routes_from_resolver()
    assert paths == {
        "/api/v1/auth/token", "/api/v1/me", "/api/v1/households", "/api/v1/households/{household_id}",
        "/api/v1/households/{household_id}/persons", "/api/v1/households/{household_id}/reveal",
        "/api/v1/persons", "/api/v1/persons/{person_id}", "/api/v1/persons/{person_id}/reveal",
        "/api/v1/policy/evaluate", "/api/v1/cases/requests", "/api/v1/cases/{case_no}",
        "/api/v1/cases/{case_no}/actions/{action}", "/api/v1/payments/runs", "/api/v1/payments/runs/{run_id}",
        "/api/v1/payments/runs/{run_id}/approve", "/api/v1/payments/runs/{run_id}/lines",
        "/api/v1/payments/entitlements/{entitlement_id}",
    }  # fmt: skip
    methods = {(p, m) for p, item in _schema()["paths"].items() for m in item if m in METHODS}
    assert len(methods) == 22


def test_auth_and_error_responses_documented(db):
    s = _schema()
    for path, item in s["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            codes = set(op["responses"])
            if (path, method) == ("/api/v1/auth/token", "post"):
                assert "security" not in op and {"200", "401", "429"} <= codes
                continue
            assert op["security"] == [{"BearerAuth": []}], (path, method)
            assert "401" in codes, (path, method)
            if "{" in path:
                assert "404" in codes, (path, method)
            if method in ("patch",):
                assert {"403", "409", "422"} <= codes, (path, method)


def test_write_bodies_forbid_unknown_keys_in_the_schema(db):
    components = _schema()["components"]["schemas"]
    for name in ("HouseholdCreateIn", "HouseholdPatchIn", "PersonCreateIn", "PersonPatchIn", "MemberIn",
                 "PersonRevealIn", "HouseholdRevealIn", "TokenIn"):
        assert components[name].get("additionalProperties") is False, name
    assert "area_code" not in components["HouseholdPatchIn"]["properties"]
    assert "version" not in components["HouseholdCreateIn"]["properties"]
    assert components["HouseholdPatchIn"]["required"] == ["version", "reason"]


def test_docs_page_without_cdn(db):
    r = Client().get("/api/v1/docs")
    assert r.status_code == 200
    html = r.content.decode()
    assert "cdn" not in html.lower() and "https://" not in html and "http://" not in html
    srcs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert srcs and all(u.startswith("/api/v1/docs/assets/") for u in srcs)
    for u in srcs:
        asset = Client().get(u)
        assert asset.status_code == 200 and len(asset.content) > 500
    assert Client().get("/api/v1/docs/assets/..%2Fsettings.py").status_code == 404
    assert Client().get("/api/v1/docs/assets/redoc.standalone.js").status_code == 404
    assert api.get_openapi_schema()["paths"]
