"""Household pages: each tried by the owner, by another township, and by roles without the action."""

from __future__ import annotations

import re

import pytest

from jiuzhu.core.models import AuditEvent
from jiuzhu.registry.models import ChangeRecord, Household, Person
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, make_household, new_id, villages

pytestmark = pytest.mark.django_db
ID18 = re.compile(r"\d{17}[\dX]")


@pytest.fixture
def hh(personas):
    return make_household(personas.caseworker_a, villages(TOWN_A)[0], size=3, name="李四")


def login(client, user):
    client.force_login(user)
    return client


def test_list_shows_own_area_only(client, personas, hh):
    other = make_household(personas.caseworker_b, villages(TOWN_B)[0], name="王五")
    r = login(client, personas.caseworker_a).get("/households/")
    assert r.status_code == 200
    assert hh.household_no in r.content.decode()
    assert other.household_no not in r.content.decode()
    # the county reviewer sees both
    client.logout()
    body = login(client, personas.reviewer).get("/households/").content.decode()
    assert hh.household_no in body and other.household_no in body


def test_search_by_name_id_and_household_no(client, personas, hh):
    login(client, personas.caseworker_a)
    assert hh.household_no in client.get("/households/", {"q": "李四"}).content.decode()
    person = Person.objects.get(household=hh, relation="02")
    from jiuzhu.core import crypto

    plain = crypto.decrypt(person.id_number_enc, context="person.id_number")
    assert hh.household_no in client.get("/households/", {"q": plain}).content.decode()
    assert hh.household_no in client.get("/households/", {"q": hh.household_no}).content.decode()
    assert hh.household_no not in client.get("/households/", {"q": "不存在"}).content.decode()


def test_search_cannot_find_out_of_area(client, personas, hh):
    login(client, personas.caseworker_b)
    assert hh.household_no not in client.get("/households/", {"q": "李四"}).content.decode()


def test_detail_out_of_area_is_same_404_as_missing(client, personas, hh):
    login(client, personas.caseworker_b)
    r_other = client.get(f"/households/{hh.pk}/")
    r_missing = client.get("/households/999999999/")
    assert r_other.status_code == r_missing.status_code == 404
    assert r_other.content == r_missing.content


def test_detail_masks_ids_and_names_for_supervisor(client, personas, hh):
    body = login(client, personas.supervisor).get(f"/households/{hh.pk}/").content.decode()
    assert not ID18.search(body)
    assert "李*" in body and "李四" not in body


def test_edit_writes_history_and_audit(client, personas, hh):
    login(client, personas.caseworker_a)
    r = client.post(f"/households/{hh.pk}/edit/", {"address": "二组5号", "urban_rural": "rural", "bank_name": "邮储银行",
                                                    "bank_account": "", "reason": "入户核实", "version": hh.version})
    assert r.status_code == 302
    hh.refresh_from_db()
    assert hh.address == "二组5号" and hh.version == 2
    rec = ChangeRecord.objects.filter(household=hh, action="update").get()
    assert rec.before["address"] == "一组" and rec.after["address"] == "二组5号" and rec.reason == "入户核实"
    assert AuditEvent.objects.filter(action="registry.household.update", object_id=str(hh.pk)).exists()
    page = client.get(f"/households/{hh.pk}/").content.decode()
    assert "二组5号" in page and "入户核实" in page


def test_stale_edit_is_refused_and_loses_nothing(client, personas, hh):
    login(client, personas.caseworker_a)
    data = {"address": "A", "urban_rural": "rural", "bank_name": "", "bank_account": "", "reason": "x", "version": 1}
    assert client.post(f"/households/{hh.pk}/edit/", data).status_code == 302
    r = client.post(f"/households/{hh.pk}/edit/", {**data, "address": "B"})
    assert r.status_code == 409
    assert "已被他人修改" in r.content.decode() and 'value="B"' in r.content.decode()
    hh.refresh_from_db()
    assert hh.address == "A"


def test_other_township_cannot_edit(client, personas, hh):
    login(client, personas.caseworker_b)
    r = client.post(f"/households/{hh.pk}/edit/", {"address": "X", "urban_rural": "rural", "reason": "x", "version": 1})
    assert r.status_code == 404
    hh.refresh_from_db()
    assert hh.address == "一组"


def test_auditor_and_supervisor_cannot_edit(client, personas, hh):
    for u in (personas.auditor, personas.supervisor):
        client.force_login(u)
        assert client.get(f"/households/{hh.pk}/edit/").status_code == 404
        assert client.get("/households/new/").status_code == 403


def test_create_household_with_validation_messages(client, personas):
    login(client, personas.caseworker_a)
    village = villages(TOWN_A)[0]
    base = {"area_code": village, "household_urban_rural": "rural", "name": "赵六", "relation": "02",
            "schooling": "none", "labour_capacity": "full", "self_care": "full", "urban_rural": "rural"}
    r = client.post("/households/new/", {**base, "id_number": "610902199001011230"})
    assert r.status_code == 200 and "校验位" in r.content.decode()
    good = new_id()
    r = client.post("/households/new/", {**base, "id_number": good})
    assert r.status_code == 302
    h = Household.objects.get(head_name="赵六")
    assert h.member_count == 1
    # the same person again: refused with a pointer to the existing record
    r = client.post("/households/new/", {**base, "id_number": good.lower()})
    assert "已登记" in r.content.decode() and h.household_no in r.content.decode()


def test_person_edit_and_history(client, personas, hh):
    login(client, personas.caseworker_a)
    p = Person.objects.filter(household=hh).exclude(relation="02").first()
    data = {"name": p.name, "relation": p.relation, "disability_category": "4", "disability_grade": "2",
            "schooling": "none", "labour_capacity": "partial", "self_care": "full", "urban_rural": "rural",
            "reason": "残联数据", "version": p.version}
    r = client.post(f"/persons/{p.pk}/edit/", data)
    assert r.status_code == 302, r.content.decode()[:2000]
    p.refresh_from_db()
    assert p.disability_category == "4" and p.disability_grade == 2
    body = client.get(f"/persons/{p.pk}/").content.decode()
    assert "残联数据" in body and "肢体残疾" in body


def test_reveal_needs_permission_reason_and_is_audited(client, personas, hh):
    p = Person.objects.get(household=hh, relation="02")
    login(client, personas.caseworker_a)
    assert client.post(f"/reveal/person/{p.pk}/", {"field": "id_number", "reason": ""}).status_code == 400
    r = client.post(f"/reveal/person/{p.pk}/", {"field": "id_number", "reason": "核对身份"})
    assert r.status_code == 200 and ID18.search(r.content.decode())
    ev = AuditEvent.objects.filter(action="registry.reveal", result="ok").get()
    assert ev.detail["field"] == "id_number" and not ID18.search(str(ev.detail))
    client.force_login(personas.supervisor)
    r = client.post(f"/reveal/person/{p.pk}/", {"field": "id_number", "reason": "想看"})
    assert r.status_code == 403
    assert AuditEvent.objects.filter(action="registry.reveal", result="denied").exists()
    client.force_login(personas.caseworker_b)
    assert client.post(f"/reveal/person/{p.pk}/", {"field": "id_number", "reason": "想看"}).status_code == 404


def test_anonymous_redirected_to_login(client, tree):
    r = client.get("/households/")
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_healthz(client, db):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["database"] in ("sqlite", "postgresql")


def test_id_search_is_not_echoed_in_full(client, personas, hh):
    from jiuzhu.core import crypto

    login(client, personas.caseworker_a)
    person = Person.objects.get(household=hh, relation="02")
    plain = crypto.decrypt(person.id_number_enc, context="person.id_number")
    body = client.get("/households/", {"q": plain}).content.decode()
    assert hh.household_no in body and plain not in body and person.id_number_masked in body


def test_masked_name_roles_search_exact_names_only(client, personas, hh):
    login(client, personas.supervisor)
    assert f">{hh.household_no}</a>" not in client.get("/households/", {"q": "李"}).content.decode()
    assert f">{hh.household_no}</a>" in client.get("/households/", {"q": "李四"}).content.decode()
    client.force_login(personas.caseworker_a)
    assert f">{hh.household_no}</a>" in client.get("/households/", {"q": "李"}).content.decode()


def test_members_take_the_household_urban_rural_class(personas):
    from jiuzhu.registry.services import household_create

    h = household_create(actor=personas.caseworker_a, area_code=villages(TOWN_A)[0], urban_rural="urban",
                         members=[{"name": "钱七", "id_number": new_id(), "relation": "02"}])
    assert Person.objects.get(household=h).urban_rural == "urban"


def test_list_pages_stop_at_the_limit_and_say_so(client, personas, hh, monkeypatch):
    from jiuzhu.registry import selectors

    monkeypatch.setattr(selectors, "MAX_PAGE", 2)
    monkeypatch.setattr(selectors, "PAGE_SIZE", 1)
    for v in villages(TOWN_A)[1:3]:
        make_household(personas.caseworker_a, v)
    login(client, personas.caseworker_a)
    monkeypatch.setattr("jiuzhu.registry.selectors.page_of.__defaults__", (1,))
    body = client.get("/households/", {"page": 99}).content.decode()
    assert "第 2 页" in body and 'data-testid="page-limit"' in body and "下一页" not in body


def test_village_filter_lists_new_villages_at_once(client, personas, tmp_path):
    from django.core.management import call_command

    login(client, personas.caseworker_a)
    assert "新建示范村" not in client.get("/households/").content.decode()
    f = tmp_path / "v.csv"
    f.write_text(f"code,name,urban_rural_class\n{TOWN_A}399,新建示范村,220\n", encoding="utf-8")
    call_command("import_villages", str(f))
    assert "新建示范村" in client.get("/households/").content.decode()


def test_member_leaves_household_with_history(client, personas, hh):
    import datetime as dt

    from jiuzhu.registry.models import Membership

    login(client, personas.caseworker_a)
    head = Person.objects.get(household=hh, relation="02")
    other = Person.objects.filter(household=hh).exclude(pk=head.pk).first()
    today = dt.date.today().isoformat()
    r = client.post(f"/persons/{head.pk}/leave/", {"left_on": today, "reason": "外出务工"})
    assert r.status_code == 200 and "先把另一名成员设为户主" in r.content.decode()
    r = client.post(f"/persons/{other.pk}/leave/", {"left_on": today, "reason": "婚嫁迁出"})
    assert r.status_code == 302
    other.refresh_from_db()
    hh.refresh_from_db()
    assert other.household_id is None and hh.member_count == 2
    m = Membership.objects.get(person=other)
    assert m.left_on.isoformat() == today and m.reason == "婚嫁迁出"
    assert "婚嫁迁出" in client.get(f"/persons/{other.pk}/").content.decode()
    client.force_login(personas.caseworker_b)
    assert client.post(f"/persons/{other.pk}/leave/", {"left_on": today, "reason": "x"}).status_code == 404


def test_name_search_lists_each_household_once_in_name_order(client, personas):
    from jiuzhu.registry.services import household_create

    v = villages(TOWN_A)[0]
    h1 = household_create(actor=personas.caseworker_a, area_code=v, urban_rural="rural", members=[
        {"name": "孙二", "id_number": new_id(), "relation": "02"}, {"name": "孙一", "id_number": new_id(), "relation": "10"}])
    h2 = household_create(actor=personas.caseworker_a, area_code=v, urban_rural="rural", members=[
        {"name": "孙甲", "id_number": new_id(), "relation": "02"}])
    login(client, personas.caseworker_a)
    body = client.get("/households/", {"q": "孙"}).content.decode()
    assert body.count(f">{h1.household_no}</a>") == 1 and body.count(f">{h2.household_no}</a>") == 1
    assert body.index(h1.household_no) < body.index(h2.household_no)  # 孙一 sorts before 孙甲
    assert f">{h2.household_no}</a>" not in client.get("/households/", {"q": "孙", "status": "archived"}).content.decode()


def test_village_filter_keeps_the_chosen_village_selected(client, personas):
    login(client, personas.caseworker_a)
    v = villages(TOWN_A)[1]
    body = client.get("/households/", {"village": v}).content.decode()
    assert f'<option value="{v}" selected>' in body and body.count(" selected>") == 1
