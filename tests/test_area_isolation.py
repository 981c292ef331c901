"""Acceptance 2 (SECURITY AC-IDOR): random (user, object, operation) triples over pages, search, export and the
API, each compared with an oracle built from the division tree (walking parent links, not code prefixes).
Out-of-area and missing objects must be indistinguishable (same status, same body)."""

from __future__ import annotations

import os
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from jiuzhu.accounts import roles
from jiuzhu.accounts.roles import Role
from jiuzhu.core import crypto
from jiuzhu.core.models import Division
from jiuzhu.registry.models import Household, Person
from jiuzhu.testing.fixtures import (
    COUNTY,
    COUNTY_2,
    PASSWORD,
    TOWN_A,
    TOWN_B,
    TOWN_C,
    make_household,
    make_user,
    villages,
)  # fmt: skip

pytestmark = pytest.mark.django_db
TRIALS = int(os.environ.get("JIUZHU_ISOLATION_TRIALS", "10000"))
MISSING = 987654321


def in_subtree(area: str | None, code: str) -> bool:
    """Oracle: is ``area`` the division ``code`` itself or one of its ancestors (following parent links)?"""
    if not area:
        return False
    node: Division | None = Division.objects.get(code=code)
    while node is not None:
        if node.code == area:
            return True
        node = node.parent
    return False


@dataclass
class World:
    users: list[Any]
    clients: dict[int, Client]
    tokens: dict[int, str]
    households: list[Household]
    persons: list[Person]
    id_numbers: dict[int, str]
    visible: dict[tuple[int, str], bool]


@pytest.fixture
def world(tree) -> World:
    users = [
        make_user("iso_cw_a", Role.CASEWORKER, TOWN_A), make_user("iso_cw_b", Role.CASEWORKER, TOWN_B),
        make_user("iso_cw_c", Role.CASEWORKER, TOWN_C), make_user("iso_va", Role.VILLAGE_ASSISTANT, villages(TOWN_A)[0]),
        make_user("iso_rv", Role.REVIEWER, COUNTY), make_user("iso_rv2", Role.REVIEWER, COUNTY_2),
        make_user("iso_sv", Role.SUPERVISOR, "6109"), make_user("iso_sv_gd", Role.SUPERVISOR, "44"),
        make_user("iso_au", Role.AUDITOR, "61"), make_user("iso_pa", Role.POLICY_ADMIN, "61"),
        make_user("iso_sec", Role.SECURITY_ADMIN, "61"), make_user("iso_sys", Role.SYSTEM_ADMIN, "61"),
    ]
    maker = {TOWN_A: users[0], TOWN_B: users[1], TOWN_C: users[2]}
    households = []
    for town, actor in maker.items():
        for i, v in enumerate(villages(town)):
            households.append(make_household(actor, v, size=1 + i % 3, name=f"测{'甲乙丙丁'[i % 4]}"))
    persons = list(Person.objects.all())
    ids = {p.pk: crypto.decrypt(p.id_number_enc, context="person.id_number") for p in persons}
    clients = {}
    for u in users:
        c = Client()
        c.force_login(u)
        clients[u.pk] = c
    tokens = {}
    for u in users:
        r = Client().post("/api/v1/auth/token", {"username": u.username, "password": PASSWORD}, content_type="application/json")
        if r.status_code == 200:
            tokens[u.pk] = r.json()["token"]
    visible = {}
    for u in users:
        for code in {h.area_code for h in households}:
            visible[(u.pk, code)] = in_subtree(u.area_id, code)
    return World(users, clients, tokens, households, persons, ids, visible)


def allowed(w: World, user: Any, area_code: str, action: str) -> bool:
    return w.visible[(user.pk, area_code)] and action in roles.ROLE_PERMISSIONS[user.role]


OPERATIONS = ["household_page", "person_page", "household_edit_page", "person_edit_page", "reveal",
              "search_name", "search_id", "search_no", "export", "api_household", "api_person", "api_search"]


def run_trial(w: World, rng: random.Random, user: Any, op: str, counts: Counter) -> str | None:
    c = w.clients[user.pk]
    h = rng.choice(w.households)
    p = rng.choice(w.persons)
    counts[op] += 1
    if op in ("household_page", "household_edit_page", "person_page", "person_edit_page"):
        obj = h if op.startswith("household") else p
        action = roles.CHANGE if "edit" in op else roles.VIEW
        base = "/households/" if op.startswith("household") else "/persons/"
        suffix = "edit/" if "edit" in op else ""
        r = c.get(f"{base}{obj.pk}/{suffix}")
        expect = 200 if allowed(w, user, obj.area_code, action) else 404
        if r.status_code != expect:
            return f"{op} {user.username} {obj.area_code}: {r.status_code} != {expect}"
        if expect == 404:
            missing = c.get(f"{base}{MISSING}/{suffix}")
            if (missing.status_code, missing.content) != (r.status_code, r.content):
                return f"{op}: out-of-area differs from missing"
    elif op == "reveal":
        r = c.post(f"/reveal/person/{p.pk}/", {"field": "id_number", "reason": "核对"})
        if not allowed(w, user, p.area_code, roles.VIEW):
            expect = 404
        else:
            expect = 200 if roles.REVEAL in roles.ROLE_PERMISSIONS[user.role] else 403
        if r.status_code != expect:
            return f"reveal {user.username} {p.area_code}: {r.status_code} != {expect}"
    elif op.startswith("search"):
        q = {"search_name": h.head_name, "search_no": h.household_no,
             "search_id": w.id_numbers[Person.objects.filter(household=h).values_list("pk", flat=True).first()]}[op]
        r = c.get("/households/", {"q": q})
        if roles.VIEW not in roles.ROLE_PERMISSIONS[user.role]:
            return None if r.status_code == 403 else f"{op} {user.username}: {r.status_code} != 403"
        found = f">{h.household_no}</a>" in r.content.decode()  # a result row, not the echoed query
        if found != allowed(w, user, h.area_code, roles.VIEW):
            return f"{op} {user.username} {h.area_code}: found={found}"
    elif op == "export":
        r = c.get("/households/export/", {"q": h.household_no, "format": "csv"})
        if roles.EXPORT not in roles.ROLE_PERMISSIONS[user.role]:
            return None if r.status_code in (403, 404) else f"export {user.username}: {r.status_code}"
        body = b"".join(r.streaming_content) if r.streaming else r.content
        found = h.household_no in body.decode("utf-8-sig")
        if r.status_code != 200 or found != allowed(w, user, h.area_code, roles.EXPORT):
            return f"export {user.username} {h.area_code}: {r.status_code} found={found}"
    elif op.startswith("api"):
        token = w.tokens.get(user.pk)
        if token is None:
            return None  # admin roles need TOTP for tokens; covered by the API tests
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        if op == "api_search":
            r = Client().get("/api/v1/households", {"q": h.household_no}, **auth)
            if roles.VIEW not in roles.ROLE_PERMISSIONS[user.role]:
                return None if r.status_code in (403, 200) and h.household_no not in r.content.decode() else f"{op} leak"
            found = h.household_no in r.content.decode()
            if found != allowed(w, user, h.area_code, roles.VIEW):
                return f"{op} {user.username} {h.area_code}: found={found}"
        else:
            obj, path = (h, "households") if op == "api_household" else (p, "persons")
            r = Client().get(f"/api/v1/{path}/{obj.pk}", **auth)
            expect = 200 if allowed(w, user, obj.area_code, roles.VIEW) else 404
            if r.status_code != expect:
                return f"{op} {user.username} {obj.area_code}: {r.status_code} != {expect}"
            if expect == 404:
                m = Client().get(f"/api/v1/{path}/{MISSING}", **auth)
                if (m.status_code, m.content) != (r.status_code, r.content):
                    return f"{op}: out-of-area differs from missing"
    return None


@pytest.mark.parametrize("seed", [20261126, None])
def test_random_triples_match_the_oracle(world, seed):
    seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    mismatches = []
    n = TRIALS // 2
    for _ in range(n):
        user = rng.choice(world.users)
        op = rng.choice(OPERATIONS)
        err = run_trial(world, rng, user, op, counts)
        if err:
            mismatches.append(err)
    print(f"seed={seed} trials={n} per-operation={dict(counts)}")
    assert mismatches == [], f"seed {seed}: {len(mismatches)} mismatches, first: {mismatches[:5]}"
    assert sum(counts.values()) == n and len(counts) == len(OPERATIONS)
