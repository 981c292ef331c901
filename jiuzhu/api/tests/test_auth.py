"""Token flow: login_check verdicts mapped to HTTP, tokens stored as HMAC only, expiry, revocation, disabled
users, and no session-cookie authentication on /api/v1."""

from __future__ import annotations

import datetime as dt

import pyotp
from django.test import Client
from django.utils import timezone

from jiuzhu.accounts.roles import Role
from jiuzhu.accounts.services import password_change, user_disable, user_enable, user_reset
from jiuzhu.api.models import ApiToken
from jiuzhu.api.tests.conftest import ApiClient
from jiuzhu.core import crypto
from jiuzhu.core.models import AuditEvent
from jiuzhu.testing.fixtures import PASSWORD, make_user


def login(body, ip="10.0.0.1"):
    return Client(REMOTE_ADDR=ip).post("/api/v1/auth/token", body, content_type="application/json")


def test_ok_gives_a_working_token_stored_only_as_hmac(personas):
    r = login({"username": "cw_a", "password": PASSWORD})
    assert r.status_code == 200, r.content
    body = r.json()
    token = body["token"]
    assert body["token_type"] == "Bearer" and len(token) >= 40
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert abs((expires - timezone.now()) - dt.timedelta(hours=12)) < dt.timedelta(minutes=1)
    row = ApiToken.objects.get(user=personas.caseworker_a)
    assert row.key_hash == crypto.blind_index(token, purpose="api_token") and token not in row.key_hash
    me = ApiClient(token=token).get("/me")
    assert me.status_code == 200
    assert me.json()["username"] == "cw_a" and "reveal" in me.json()["permissions"]
    assert me.json()["area_code"] == personas.caseworker_a.area_id
    assert AuditEvent.objects.filter(action="api.token.issue", actor_username="cw_a").count() == 1
    row.refresh_from_db()
    assert row.last_used is not None


def test_wrong_password_unknown_user_and_locked_look_identical(personas, settings):
    wrong = login({"username": "cw_a", "password": "nope"})
    unknown = login({"username": "no_such_user", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.content == unknown.content
    assert wrong.json() == {"detail": "用户名或密码错误。", "code": "invalid"}
    for _ in range(settings.LOGIN_MAX_FAILURES):
        login({"username": "cw_b", "password": "nope"}, ip="10.0.0.2")
    locked = login({"username": "cw_b", "password": PASSWORD}, ip="10.0.0.3")
    assert locked.status_code == 401 and locked.content == unknown.content
    assert not ApiToken.objects.exists()


def test_disabled_user_gets_the_same_answer_as_unknown(personas):
    personas.reviewer.is_active = False
    personas.reviewer.save()
    assert login({"username": "rv", "password": PASSWORD}).content == login({"username": "zz", "password": "x"}).content


def test_throttled_is_429(personas, settings):
    for _ in range(settings.LOGIN_IP_PER_MINUTE):
        login({"username": "zz", "password": "x"}, ip="10.9.9.9")
    r = login({"username": "cw_a", "password": PASSWORD}, ip="10.9.9.9")
    assert r.status_code == 429
    assert r.json()["code"] == "throttled" and r["Retry-After"] == "60"


def test_second_factor_and_expired_password(personas):
    auditor = personas.auditor  # admin role: TOTP required
    r = login({"username": "au", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["code"] == "totp_required"
    secret = pyotp.random_base32()
    auditor.totp_secret_enc = crypto.encrypt(secret, context="user.totp")
    auditor.save()
    assert login({"username": "au", "password": PASSWORD}).json()["code"] == "totp_required"
    assert login({"username": "au", "password": PASSWORD, "totp_code": "000000"}).json()["code"] in ("totp_invalid",)
    ok = login({"username": "au", "password": PASSWORD, "totp_code": pyotp.TOTP(secret).now()})
    assert ok.status_code == 200, ok.content
    personas.supervisor.must_change_password = True
    personas.supervisor.save()
    expired = login({"username": "sv", "password": PASSWORD})
    assert expired.status_code == 401 and expired.json()["code"] == "password_expired"


def test_login_body_is_strict(personas):
    assert login({"username": "cw_a", "password": PASSWORD, "role": "auditor"}).status_code == 422
    assert login({"username": "cw_a"}).status_code == 422


def test_disabled_users_token_stops_working_immediately(personas):
    api = ApiClient(personas.caseworker_a)
    assert api.get("/me").status_code == 200
    personas.caseworker_a.is_active = False
    personas.caseworker_a.save(update_fields=["is_active"])
    r = api.get("/me")
    assert r.status_code == 401
    assert r.json() == {"detail": "未登录或令牌无效/已过期", "code": "unauthenticated"}
    assert r["WWW-Authenticate"] == "Bearer"
    assert api.get("/households").status_code == 401


def test_expired_token(personas):
    api = ApiClient(personas.caseworker_a)
    assert api.get("/me").status_code == 200
    ApiToken.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    assert api.get("/me").status_code == 401


def test_delete_revokes(personas):
    api = ApiClient(personas.caseworker_a)
    other = ApiClient(personas.caseworker_a)
    assert api.delete("/auth/token").status_code == 204
    assert api.get("/me").status_code == 401
    assert api.delete("/auth/token").status_code == 401
    assert other.get("/me").status_code == 200  # only the token used is revoked
    assert AuditEvent.objects.filter(action="api.token.revoke").count() == 1


def test_bad_or_missing_authorization(personas):
    for header in ("", "Bearer", "Bearer ", "Bearer nonsense", "Token abc", "Basic Y3dfYTpwdw==", "Bearer " + "x" * 500):
        r = Client().get("/api/v1/me", headers={"Authorization": header} if header else {})
        assert r.status_code == 401, header


def test_session_cookie_does_not_authenticate(personas, hh_a):
    c = Client()
    c.force_login(personas.caseworker_a)
    assert c.get("/api/v1/me").status_code == 401
    assert c.get(f"/api/v1/households/{hh_a.pk}").status_code == 401
    r = c.patch(f"/api/v1/households/{hh_a.pk}", '{"version": 1, "reason": "x", "address": "y"}',
                content_type="application/json")
    assert r.status_code == 401
    # a session and someone else's token: the token decides
    token = ApiClient(personas.caseworker_b).token
    r = c.get(f"/api/v1/households/{hh_a.pk}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 404
    assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["username"] == "cw_b"


def test_tokens_die_with_a_password_reset_or_a_disable_enable_cycle(personas):
    security = make_user("sec", Role.SECURITY_ADMIN, "61")
    user = personas.caseworker_a
    old = ApiClient(user)
    user_disable(actor=security, user=user)
    assert old.get("/me").status_code == 401
    user_enable(actor=security, user=user)
    user.refresh_from_db()
    assert old.get("/me").status_code == 401  # re-enabling does not revive tokens issued before
    fresh = ApiClient(user)
    assert fresh.get("/me").status_code == 200
    user_reset(actor=security, user=user)
    assert fresh.get("/me").status_code == 401
    other = ApiClient(personas.caseworker_b)
    password_change(user=personas.caseworker_b, old_password=PASSWORD, new_password="Another-Str0ng-Pass!")
    assert other.get("/me").status_code == 401
