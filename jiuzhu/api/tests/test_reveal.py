"""SECURITY AC-FIELD: a full value needs the reveal permission and a reason, and every reveal — allowed or
denied — leaves an audit row with the field and reason but never the value."""

from __future__ import annotations

from jiuzhu.api.tests.conftest import ApiClient
from jiuzhu.core import crypto
from jiuzhu.core.audit import verify_chain
from jiuzhu.core.models import AuditEvent
from jiuzhu.registry.models import Person


def test_reveal_returns_the_value_and_is_audited(personas, hh_a):
    p = Person.objects.get(household=hh_a, relation="02")
    full = crypto.decrypt(p.id_number_enc, context="person.id_number")
    api = ApiClient(personas.caseworker_a)
    r = api.post(f"/persons/{p.pk}/reveal", {"field": "id_number", "reason": "核对低保申请"})
    assert r.status_code == 200
    assert r.json() == {"field": "id_number", "value": full}
    assert r["Cache-Control"] == "no-store"
    assert api.post(f"/persons/{p.pk}/reveal", {"field": "phone", "reason": "电话回访"}).json()["value"] == "13800138000"
    account = crypto.decrypt(hh_a.bank_account_enc, context="household.bank_account")
    bank = api.post(f"/households/{hh_a.pk}/reveal", {"field": "bank_account", "reason": "发放核对"})
    assert bank.json() == {"field": "bank_account", "value": account}
    events = list(AuditEvent.objects.filter(action="registry.reveal").order_by("seq"))
    assert [(e.actor_username, e.result, e.detail["field"], e.detail["reason"]) for e in events] == [
        ("cw_a", "ok", "id_number", "核对低保申请"), ("cw_a", "ok", "phone", "电话回访"),
        ("cw_a", "ok", "bank_account", "发放核对"),
    ]  # fmt: skip
    assert events[0].object_id == str(p.pk) and events[0].object_area == p.area_code
    assert all(full not in str(e.detail) and account not in str(e.detail) for e in events)
    assert verify_chain() == []


def test_reveal_by_reviewer_of_the_county(personas, hh_a):
    p = Person.objects.filter(household=hh_a).first()
    r = ApiClient(personas.reviewer).post(f"/persons/{p.pk}/reveal", {"field": "id_number", "reason": "审核"})
    assert r.status_code == 200
    assert AuditEvent.objects.filter(action="registry.reveal", actor_username="rv", result="ok").count() == 1


def test_reveal_needs_a_reason_and_a_known_field(personas, hh_a):
    p = Person.objects.filter(household=hh_a).first()
    api = ApiClient(personas.caseworker_a)
    for body in ({"field": "id_number"}, {"field": "id_number", "reason": "x"}, {"field": "name_enc", "reason": "核对"},
                 {"field": "bank_account", "reason": "核对"}):
        assert api.post(f"/persons/{p.pk}/reveal", body).status_code == 422, body
    assert api.post(f"/households/{hh_a.pk}/reveal", {"field": "id_number", "reason": "核对"}).status_code == 422
    assert not AuditEvent.objects.filter(action="registry.reveal", result="ok").exists()


def test_denied_reveal_is_audited_too(personas, hh_a):
    p = Person.objects.filter(household=hh_a).first()
    r = ApiClient(personas.supervisor).post(f"/persons/{p.pk}/reveal", {"field": "id_number", "reason": "好奇"})
    assert r.status_code == 403
    ev = AuditEvent.objects.get(action="registry.reveal")
    assert ev.result == "denied" and ev.actor_username == "sv" and ev.detail == {"field": "id_number"}
