"""Policy admin pages: the tree and a key's history for every staff role with ``view``; changes and
confirmations for policy admins within their area only."""

from __future__ import annotations

import pytest
from django.utils import timezone

from jiuzhu.accounts.roles import Role
from jiuzhu.policy.parameters.schema import SPECS
from jiuzhu.policyadmin import services
from jiuzhu.policyadmin.models import ParameterChange
from jiuzhu.policyadmin.store import current_store
from jiuzhu.testing.fixtures import CITY, PROVINCE, make_user

pytestmark = pytest.mark.django_db
RURAL = "dibao.standard.rural"
VILLAGE_AREA = "610902100001"


@pytest.fixture
def city_admin(personas):
    return make_user("pa_city", Role.POLICY_ADMIN, CITY)


@pytest.fixture
def other_city_admin(personas):
    return make_user("pa_hanzhong", Role.POLICY_ADMIN, "6107")


def change_data(**over):
    data = {"scope": CITY, "value": "700.00", "effective_from": "2026-01-01", "source": "安政办发〔2025〕99号",
            "article": "第二条", "note": "年度调标", "confidence": "H"}
    data.update(over)
    return data


def test_tree_groups_keys_with_values_and_badges(client, personas):
    client.force_login(personas.caseworker_a)
    r = client.get("/policy/parameters/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "农村低保标准" in body and "安康市" in body and "陕西省" in body and "全国" in body
    assert "未经确认的示例值" in body
    assert 'data-testid="tree-dibao"' in body and 'data-testid="tree-general"' in body
    assert "/policy/parameters/dibao.standard.rural/change/" not in body  # a caseworker may read, not change
    client.force_login(personas.policy_admin)
    assert "/policy/parameters/dibao.standard.rural/change/" in client.get("/policy/parameters/").content.decode()


def test_tree_filters_by_programme_and_only_l(client, personas):
    client.force_login(personas.reviewer)
    body = client.get("/policy/parameters/", {"programme": "dibao"}).content.decode()
    assert 'data-testid="tree-dibao"' in body and 'data-testid="tree-general"' not in body
    store, today = current_store(), timezone.localdate()
    confirmed = [k for k in SPECS if all(v.confidence != "L" for v in [store.resolve(k, "610902", today)] if v)
                 and not any(r.pv.confidence == "L" for r in services.key_rows(store, k, "610902", today, set()).rows)]
    unconfirmed = [k for k in SPECS if k not in confirmed]
    assert confirmed and unconfirmed
    body = client.get("/policy/parameters/", {"only_l": "1"}).content.decode()
    assert all(f'data-key="{k}"' in body for k in unconfirmed)
    assert not any(f'data-key="{k}"' in body for k in confirmed)


def test_roles_without_view_cannot_read(client, personas):
    client.force_login(make_user("sys", Role.SYSTEM_ADMIN, PROVINCE))
    assert client.get("/policy/parameters/").status_code == 403
    assert client.get(f"/policy/parameters/{RURAL}/").status_code == 403
    client.logout()
    assert client.get("/policy/parameters/").status_code == 302  # to the login page


def test_nav_link_for_roles_that_may_view(client, personas):
    client.force_login(personas.supervisor)
    assert 'data-testid="nav-policy"' in client.get("/households/").content.decode()
    client.force_login(make_user("sec", Role.SECURITY_ADMIN, PROVINCE))
    assert 'data-testid="nav-policy"' not in client.get("/").content.decode()


def test_detail_shows_label_unit_and_history(client, personas):
    client.force_login(personas.caseworker_a)
    r = client.get(f"/policy/parameters/{RURAL}/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "农村低保标准" in body and "元/人·月" in body
    assert "580.00" in body and "610.00" in body and "2024-01-01" in body and "2025-07-01" in body
    assert "安康市" in body and "dibao.yaml" in body
    assert client.get("/policy/parameters/no.such.key/").status_code == 404


def test_caseworker_cannot_change_or_confirm(client, personas):
    client.force_login(personas.caseworker_a)
    assert client.get(f"/policy/parameters/{RURAL}/change/").status_code == 403
    assert client.post(f"/policy/parameters/{RURAL}/change/", change_data()).status_code == 403
    assert client.get(f"/policy/parameters/{RURAL}/confirm/", {"scope": CITY, "from": "2025-07-01"}).status_code == 403
    assert not ParameterChange.objects.exists()


def test_city_admin_cannot_change_another_citys_scope(client, personas, other_city_admin, city_admin):
    client.force_login(other_city_admin)
    r_other = client.get(f"/policy/parameters/{RURAL}/change/", {"scope": CITY})
    r_bogus = client.get(f"/policy/parameters/{RURAL}/change/", {"scope": "999999"})
    assert r_other.status_code == r_bogus.status_code == 404
    assert client.post(f"/policy/parameters/{RURAL}/change/", change_data(action="preview")).status_code == 404
    assert client.get(f"/policy/parameters/{RURAL}/confirm/", {"scope": CITY, "from": "2025-07-01"}).status_code == 404
    # nor the province above it, nor a county of another city
    client.force_login(city_admin)
    assert client.post(f"/policy/parameters/{RURAL}/change/", change_data(scope=PROVINCE)).status_code == 404
    assert client.post(f"/policy/parameters/{RURAL}/change/", change_data(scope="610702")).status_code == 404
    assert not ParameterChange.objects.exists()


def test_scope_choices(personas, city_admin):
    prov = dict(services.allowed_scopes(personas.policy_admin))
    assert PROVINCE in prov and CITY in prov and "610902" not in prov and len(prov) == 11  # 陕西省 + 10 cities
    city = dict(services.allowed_scopes(city_admin))
    assert CITY in city and "610902" in city and "610921" in city and PROVINCE not in city
    assert services.allowed_scopes(personas.caseworker_a) == []


def test_validation_errors_are_named_by_field(client, personas):
    client.force_login(personas.policy_admin)
    r = client.post(f"/policy/parameters/{RURAL}/change/",
                    change_data(value="6.005", effective_from="2026-13-01", source=" ", confidence="L", action="preview"))
    assert r.status_code == 200
    body = r.content.decode()
    for f in ("value", "effective_from", "source", "confidence"):
        assert f'data-testid="error-{f}"' in body, f
    assert 'data-testid="preview-result"' not in body
    r = client.post("/policy/parameters/dibao.gradual_exit_months/change/", change_data(value="6.5", action="preview"))
    assert 'data-testid="error-value"' in r.content.decode()
    assert not ParameterChange.objects.exists()


def test_pages_in_english(client, personas):
    client.cookies["django_language"] = "en"
    client.force_login(personas.policy_admin)
    body = client.get("/policy/parameters/").content.decode()
    assert "Policy parameters" in body and "Confidence" in body and "Minimum living guarantee" in body
    body = client.get(f"/policy/parameters/{RURAL}/").content.decode()
    assert "History" in body and "policy pack" in body
    r = client.post(f"/policy/parameters/{RURAL}/change/", change_data(value="x", action="preview"))
    assert "Enter an amount in yuan" in r.content.decode()
