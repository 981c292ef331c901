"""SECURITY AC-FIELD / PUB-MASK scanner: no checksum-valid 18-digit ID number, full mobile number or full bank
account in any API response for any role (reveal responses of reveal-permitted roles excepted), and masked
names for roles without ``view_names``."""

from __future__ import annotations

import json
import re

from jiuzhu.accounts.roles import REVEAL, VIEW_NAMES, Role, role_has
from jiuzhu.api.tests.conftest import ApiClient, body_text, full_ids_in
from jiuzhu.core import crypto
from jiuzhu.core.pii_scan import scan_text
from jiuzhu.registry.models import Household, Person
from jiuzhu.testing.fixtures import COUNTY, make_household, make_user, new_id


def test_full_ids_in_finds_what_it_should():
    valid = new_id()
    assert full_ids_in(f'{{"x": "{valid}"}}') == [valid]
    assert full_ids_in(valid.translate(str.maketrans("0123456789", "０１２３４５６７８９"))) == [valid]
    assert full_ids_in(f"{valid[:6]} {valid[6:14]} {valid[14:]}") == [valid]
    assert full_ids_in(valid[:17] + ("0" if valid[17] != "0" else "1")) == []
    assert full_ids_in(valid[:4] + "*" * 10 + valid[-4:]) == []


def _exercise(api: ApiClient, hh: Household, person: Person) -> list:
    responses = [
        api.get("/households"), api.get("/households", limit=200), api.get("/persons", limit=200),
        api.get(f"/households/{hh.pk}"), api.get(f"/persons/{person.pk}"), api.get("/me"),
        api.get("/households", q=crypto.decrypt(person.id_number_enc, context="person.id_number")),
        api.get("/persons", q="欧阳明华"),
    ]  # fmt: skip
    return responses


def test_no_unmasked_values_in_any_response(personas, hh_a, hh_b, village_a):
    users = [*vars(personas).values(), make_user("sa", Role.SYSTEM_ADMIN, COUNTY), make_user("sec", Role.SECURITY_ADMIN, COUNTY)]
    person = Person.objects.filter(household=hh_a, relation="02").get()
    account = crypto.decrypt(hh_a.bank_account_enc, context="household.bank_account")
    scanned = 0
    for user in users:
        api = ApiClient(user)
        responses = _exercise(api, hh_a, person)
        reveals = [
            api.post(f"/persons/{person.pk}/reveal", {"field": "id_number", "reason": "扫描"}),
            api.post(f"/persons/{person.pk}/reveal", {"field": "phone", "reason": "扫描"}),
            api.post(f"/households/{hh_a.pk}/reveal", {"field": "bank_account", "reason": "扫描"}),
        ]
        if role_has(user.role, REVEAL) and person.area_code.startswith(user.area_id):
            assert all(r.status_code == 200 for r in reveals)
        else:
            assert all(r.status_code in (403, 404) for r in reveals)
            responses += reveals
        if role_has(user.role, "change"):
            responses.append(api.post("/households", {"area_code": village_a, "urban_rural": "rural", "members": [
                {"name": "钱七", "id_number": new_id(), "phone": "13700001111"}]}))
            responses.append(api.patch(f"/persons/{person.pk}", {"version": person.version, "reason": "x", "phone": "13822223333"}))
            person.refresh_from_db()
            dup = crypto.decrypt(person.id_number_enc, context="person.id_number")
            responses.append(api.post("/households", {"area_code": village_a, "urban_rural": "rural",
                                                      "members": [{"name": "重复", "id_number": dup}]}))
            responses.append(api.post(f"/households/{hh_a.pk}/persons", {"name": "重复", "id_number": dup, "relation": "20"}))
        for r in responses:
            text = body_text(r)
            assert full_ids_in(text) == [], (user.username, r.request["PATH_INFO"], text[:300])
            assert scan_text(text) == [], (user.username, r.request["PATH_INFO"])  # IDs, Luhn cards, mobiles
            assert account not in text
            if not role_has(user.role, VIEW_NAMES):
                assert "欧阳明华" not in text and "李四" not in text, (user.username, r.request["PATH_INFO"])
            scanned += 1
    assert scanned > 100


def test_names_and_birth_dates_follow_the_role(personas, hh_a):
    url = f"/households/{hh_a.pk}"
    full = ApiClient(personas.caseworker_a).get(url).json()
    masked = ApiClient(personas.supervisor).get(url).json()
    assert full["head_name"] == "欧阳明华" and masked["head_name"] == "欧阳**"
    head_full = next(m for m in full["members"] if m["relation"] == "02")
    head_masked = next(m for m in masked["members"] if m["relation"] == "02")
    assert head_full["name"] == "欧阳明华" and head_masked["name"] == "欧阳**"
    assert head_full["birth_date"] is not None and head_masked["birth_date"] is None
    assert head_full["age"] == head_masked["age"] > 0
    assert head_masked["id_number_masked"] == head_full["id_number_masked"]
    assert re.fullmatch(r"\d{4}\*{10}[\dX]{4}", head_masked["id_number_masked"])
    # the village assistant sees names but may not reveal, so no birth date either
    assistant = ApiClient(personas.assistant_a).get(url).json()
    assert assistant["head_name"] == "欧阳明华"
    assert all(m["birth_date"] is None for m in assistant["members"])
    # diagnosis never appears, not even as ciphertext
    assert "diagnosis" not in json.dumps(full) and "sm4gcm" not in json.dumps(full)


def test_many_households_for_every_role_scan_clean(personas, village_a):
    for i in range(6):
        make_household(personas.caseworker_a, village_a, size=4, name=f"王{'甲乙丙丁戊己'[i]}明")
    for user in (personas.supervisor, personas.auditor, personas.policy_admin, personas.assistant_a):
        for path in ("/households", "/persons"):
            r = ApiClient(user).get(path, limit=200)
            assert r.status_code == 200 and r.json()["count"] > 0
            assert full_ids_in(body_text(r)) == [] and scan_text(body_text(r)) == []
