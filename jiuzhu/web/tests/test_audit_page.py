"""The audit log page: read-only, auditor only, limited to the auditor's area."""

from __future__ import annotations

import pytest

from jiuzhu.accounts.roles import Role
from jiuzhu.core.audit import audit_record
from jiuzhu.testing.fixtures import TOWN_A, make_household, make_user, villages

pytestmark = pytest.mark.django_db


def test_auditor_reads_events_of_their_area_only(client, personas):
    make_household(personas.caseworker_a, villages(TOWN_A)[0])
    audit_record(action="test.guangdong", username="x", object_type="t", object_id=1, object_area="440300")
    client.force_login(personas.auditor)  # province 61
    body = client.get("/audit/").content.decode()
    assert "registry.household.create" in body and "test.guangdong" not in body
    gd = make_user("au_gd", Role.AUDITOR, "44")
    client.force_login(gd)
    body = client.get("/audit/").content.decode()
    assert "test.guangdong" in body and "registry.household.create" not in body


def test_only_auditors_see_the_audit_page(client, personas):
    for u in (personas.caseworker_a, personas.reviewer, personas.supervisor, personas.policy_admin):
        client.force_login(u)
        assert client.get("/audit/").status_code == 403


def test_audit_page_has_no_write_methods(client, personas):
    client.force_login(personas.auditor)
    assert client.post("/audit/").status_code in (403, 405)
