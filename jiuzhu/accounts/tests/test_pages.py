"""Login pages, sessions and the security admin's account page (SECURITY AUTH-SESS, WEB-CSRF, AC-LIFE)."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client, override_settings

from jiuzhu.accounts import services
from jiuzhu.accounts.middleware import LOGIN_AT, SEEN_AT
from jiuzhu.accounts.models import User
from jiuzhu.core.models import AuditEvent
from jiuzhu.testing.fixtures import PASSWORD

from .conftest import enroll, normalised_body, web_login

PROTECTED = "/account/totp/"  # any page behind login_required


def session_cookie(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def is_logged_in(client: Client) -> bool:
    return client.get(PROTECTED).status_code == 200


# --- login ------------------------------------------------------------------------------------------------


def test_login_page_in_chinese_with_demo_note(db):
    r = Client().get("/login/")
    body = r.content.decode()
    assert r.status_code == 200 and "工作人员登录" in body
    assert 'data-testid="demo-note"' in body and "免二次验证" in body
    assert "style=" not in body and "<script>" not in body


@override_settings(DEMO_MODE=False)
def test_no_demo_note_outside_demo_mode(db):
    assert 'data-testid="demo-note"' not in Client().get("/login/").content.decode()


def test_login_sets_policy_keys_and_rotates_session_key(personas):
    c = Client()
    s = c.session
    s["anything"] = 1
    s.save()
    before = session_cookie(c)
    r = web_login(c, "cw_a", PASSWORD)
    assert r.status_code == 302
    after = session_cookie(c)
    assert after != before and not Session.objects.filter(session_key=before).exists()
    data = Session.objects.get(session_key=after).get_decoded()
    assert abs(data[LOGIN_AT] - time.time()) < 60 and abs(data[SEEN_AT] - time.time()) < 60
    assert data["_auth_user_id"] == str(personas.caseworker_a.pk)
    assert is_logged_in(c)


def test_login_redirects_to_safe_next_only(personas):
    c = Client()
    assert web_login(c, "cw_a", PASSWORD, next="/account/password/")["Location"] == "/account/password/"
    c = Client()
    assert web_login(c, "cw_a", PASSWORD, next="https://evil.example/")["Location"] == settings.LOGIN_REDIRECT_URL


def test_unknown_user_and_wrong_password_pages_identical(personas):
    wrong = Client().post("/login/", {"username": "cw_a", "password": "not-it"}, REMOTE_ADDR="10.8.0.1")
    unknown = Client().post("/login/", {"username": "no_such_user", "password": "not-it"}, REMOTE_ADDR="10.8.0.2")
    assert wrong.status_code == unknown.status_code == 200
    assert normalised_body(wrong) == normalised_body(unknown)
    assert b"cw_a" not in wrong.content and "用户名或密码错误".encode() in wrong.content


def test_locked_account_page_is_identical_for_unknown_users(personas):
    def five_then_right(username: str, ip: str):
        c = Client()
        for _ in range(5):
            c.post("/login/", {"username": username, "password": "x"}, REMOTE_ADDR=ip)
        return c.post("/login/", {"username": username, "password": PASSWORD}, REMOTE_ADDR=ip)

    real, ghost = five_then_right("cw_a", "10.8.1.1"), five_then_right("ghost", "10.8.1.2")
    assert real.status_code == ghost.status_code == 200
    assert normalised_body(real) == normalised_body(ghost)
    assert "已暂时锁定".encode() in real.content


def test_throttled_page_is_429(personas, settings):
    settings.LOGIN_IP_PER_MINUTE = 2
    c = Client()
    for _ in range(2):
        c.post("/login/", {"username": "cw_a", "password": "x"}, REMOTE_ADDR="10.8.2.1")
    r = c.post("/login/", {"username": "cw_a", "password": PASSWORD}, REMOTE_ADDR="10.8.2.1")
    assert r.status_code == 429 and not is_logged_in(c)


def test_csrf_enforced_on_login_post(personas):
    c = Client(enforce_csrf_checks=True)
    assert c.post("/login/", {"username": "cw_a", "password": PASSWORD}).status_code == 403
    c.get("/login/")
    token = c.cookies[settings.CSRF_COOKIE_NAME].value
    assert c.post("/login/", {"username": "cw_a", "password": PASSWORD, "csrfmiddlewaretoken": "x" * 32}).status_code == 403
    r = c.post("/login/", {"username": "cw_a", "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert r.status_code == 302 and is_logged_in(c)
    # Logout needs the (rotated) token as well.
    assert c.post("/logout/").status_code == 403
    assert is_logged_in(c)


# --- second factor ----------------------------------------------------------------------------------------


def test_totp_step_in_the_browser(personas):
    totp = enroll(personas.auditor)
    c = Client()
    r = web_login(c, "au", PASSWORD)
    assert r.status_code == 302 and r["Location"] == "/login/totp/"
    assert not is_logged_in(c)  # the password alone is not a login
    r = c.post("/login/totp/", {"code": "000000"}, REMOTE_ADDR="10.9.9.9")
    assert r.status_code == 200 and "动态口令错误".encode() in r.content and not is_logged_in(c)
    r = c.post("/login/totp/", {"code": totp.now()}, REMOTE_ADDR="10.9.9.9")
    assert r.status_code == 302 and is_logged_in(c)


def test_totp_step_needs_the_password_step_first(personas):
    enroll(personas.auditor)
    r = Client().post("/login/totp/", {"code": "123456"})
    assert r.status_code == 302 and r["Location"] == "/login/"


@override_settings(DEMO_MODE=False)
def test_established_admin_without_authenticator_cannot_log_in(personas):
    c = Client()
    r = web_login(c, "au", PASSWORD)
    assert r.status_code == 200 and "尚未绑定身份验证器".encode() in r.content
    assert not is_logged_in(c)


@override_settings(DEMO_MODE=False)
def test_new_admin_binds_authenticator_then_changes_password(security_admin):
    user, initial = services.user_create(actor=security_admin, username="pa_new", role="policy_admin",
                                         area_code="610902")
    c = Client()
    r = web_login(c, "pa_new", initial)
    assert r["Location"] == "/login/enroll/"
    page = c.get("/login/enroll/").content.decode()
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert "otpauth://totp/" in page and not is_logged_in(c)
    assert c.get("/login/enroll/").content.decode().count(secret) >= 1  # a reload keeps the same secret
    r = c.post("/login/enroll/", {"code": pyotp.TOTP(secret).now()})
    assert r["Location"] == "/account/password/" and not is_logged_in(c)
    r = c.post("/account/password/", {"old_password": initial, "new_password": "Zhengce-Guanli-9",
                                       "new_password2": "Zhengce-Guanli-9"})
    assert r.status_code == 302 and is_logged_in(c)
    assert User.objects.get(pk=user.pk).totp_secret_enc


def test_forced_password_change_before_anything_else(personas):
    User.objects.filter(pk=personas.caseworker_a.pk).update(must_change_password=True, password_changed_at=None)
    c = Client()
    r = web_login(c, "cw_a", PASSWORD)
    assert r["Location"] == "/account/password/"
    assert not is_logged_in(c)
    assert c.get("/").status_code == 302
    r = c.post("/account/password/", {"old_password": PASSWORD, "new_password": "weak", "new_password2": "weak"})
    assert r.status_code == 200 and not is_logged_in(c)
    r = c.post("/account/password/", {"old_password": PASSWORD, "new_password": "Xin-Mima-2026",
                                       "new_password2": "Xin-Mima-2026"})
    assert r.status_code == 302 and is_logged_in(c)


def test_voluntary_password_change_ends_other_sessions(personas):
    a, b = Client(), Client()
    web_login(a, "cw_a", PASSWORD)
    web_login(b, "cw_a", PASSWORD)
    r = a.post("/account/password/", {"old_password": PASSWORD, "new_password": "Xin-Mima-2026",
                                       "new_password2": "Xin-Mima-2026"})
    assert r.status_code == 302
    assert is_logged_in(a) and not is_logged_in(b)


# --- sessions ---------------------------------------------------------------------------------------------


def _age_session(client: Client, *, seen_ago: float | None = None, login_ago: float | None = None) -> None:
    s = client.session
    if seen_ago is not None:
        s[SEEN_AT] = time.time() - seen_ago
    if login_ago is not None:
        s[LOGIN_AT] = time.time() - login_ago
    s.save()


@pytest.mark.parametrize(("username", "idle_setting"), [("cw_a", "SESSION_IDLE_MIN"), ("pa", "SESSION_IDLE_ADMIN_MIN")])
def test_idle_timeout_forces_relogin(personas, username, idle_setting):
    User.objects.filter(username="pa").update(is_demo=True)  # demo waiver: password-only login for this test
    idle = getattr(settings, idle_setting) * 60
    c = Client()
    web_login(c, username, PASSWORD)
    _age_session(c, seen_ago=idle - 5)
    assert is_logged_in(c)
    old_key = session_cookie(c)
    _age_session(c, seen_ago=idle + 1)
    r = c.get(PROTECTED)
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    assert not Session.objects.filter(session_key=old_key).exists()
    follow = c.get(r["Location"])
    assert "会话已超时".encode() in follow.content
    assert AuditEvent.objects.filter(action="auth.logout", detail__reason="session_expired").exists()


def test_admin_idle_limit_is_shorter(personas):
    User.objects.filter(username="pa").update(is_demo=True)
    gap = settings.SESSION_IDLE_ADMIN_MIN * 60 + 60
    assert gap < settings.SESSION_IDLE_MIN * 60
    staff, admin = Client(), Client()
    web_login(staff, "cw_a", PASSWORD)
    web_login(admin, "pa", PASSWORD)
    _age_session(staff, seen_ago=gap)
    _age_session(admin, seen_ago=gap)
    assert is_logged_in(staff) and not is_logged_in(admin)


def test_absolute_lifetime(personas):
    c = Client()
    web_login(c, "cw_a", PASSWORD)
    _age_session(c, login_ago=settings.SESSION_ABSOLUTE_HOURS * 3600 - 60)
    assert is_logged_in(c)
    _age_session(c, login_ago=settings.SESSION_ABSOLUTE_HOURS * 3600 + 1)
    assert not is_logged_in(c)


def test_htmx_request_after_expiry_gets_hx_redirect(personas):
    c = Client()
    web_login(c, "cw_a", PASSWORD)
    _age_session(c, seen_ago=settings.SESSION_IDLE_MIN * 60 + 1)
    r = c.get(PROTECTED, headers={"HX-Request": "true"})
    assert r.status_code == 204 and r["HX-Redirect"].startswith("/login/")
    assert r["Content-Security-Policy"]


def test_logout_invalidates_the_old_cookie(personas):
    c = Client()
    web_login(c, "cw_a", PASSWORD)
    old = session_cookie(c)
    assert c.get("/logout/").status_code == 405  # GET never logs out
    r = c.post("/logout/")
    assert r.status_code == 302 and r["Location"] == "/login/"
    assert not Session.objects.filter(session_key=old).exists()
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old
    r = replay.get(PROTECTED)
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    ev = AuditEvent.objects.filter(action="auth.logout").last()
    assert ev.actor_username == "cw_a" and ev.result == "ok"


def test_audit_rows_for_login_success_failure_and_logout(personas):
    c = Client()
    web_login(c, "cw_a", "Secret-Wrong-1")
    web_login(c, "nobody", "Secret-Wrong-2")
    web_login(c, "cw_a", PASSWORD)
    c.post("/logout/")
    rows = list(AuditEvent.objects.filter(action__startswith="auth.").order_by("seq")
                .values_list("action", "actor_username", "result", "detail"))
    assert rows == [
        ("auth.login", "cw_a", "denied", {"reason": "bad_password"}),
        ("auth.login", "nobody", "denied", {"reason": "unknown_user"}),
        ("auth.login", "cw_a", "ok", {"reason": "ok"}),
        ("auth.logout", "cw_a", "ok", {"reason": "logout"}),
    ]
    ok = AuditEvent.objects.get(action="auth.login", result="ok")
    assert ok.ip == "10.9.9.9" and ok.actor_role == "caseworker" and ok.actor_area == "610902100"
    all_text = str(list(AuditEvent.objects.values_list("detail", flat=True)))
    for secret in ("Secret-Wrong-1", "Secret-Wrong-2", PASSWORD):
        assert secret not in all_text
    from jiuzhu.core.audit import verify_chain

    assert verify_chain() == []


# --- security admin page ----------------------------------------------------------------------------------


def _client_for(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_user_page_lists_only_own_area(security_admin, personas):
    r = _client_for(security_admin).get("/account/users/")
    body = r.content.decode()
    assert r.status_code == 200
    assert "cw_a" in body and "cw_b" in body and "rv2" not in body and ">au<" not in body


def test_user_page_forbidden_to_other_roles(personas):
    for user in (personas.caseworker_a, personas.auditor):
        assert _client_for(user).get("/account/users/").status_code == 403


def test_security_admin_lands_on_user_page(security_admin):
    User.objects.filter(pk=security_admin.pk).update(is_demo=True)
    r = web_login(Client(), "sa_county", PASSWORD)
    assert r["Location"] == "/account/users/"


def test_create_user_page_shows_one_time_password(security_admin):
    c = _client_for(security_admin)
    r = c.post("/account/users/new/", {"username": "cw_web", "full_name": "赵六", "role": "caseworker",
                                       "area_code": "610902101"})
    assert r.status_code == 200
    initial = re.search(r'data-testid="initial-password">([^<]+)<', r.content.decode()).group(1)
    assert services.login_check(username="cw_web", password=initial, ip="10.10.0.1").status == "password_expired"
    r = c.post("/account/users/new/", {"username": "cw_out", "role": "caseworker", "area_code": "610921100"})
    assert r.status_code == 403 and not User.objects.filter(username="cw_out").exists()
    r = c.post("/account/users/new/", {"username": "sa2", "role": "security_admin", "area_code": "610902"})
    assert r.status_code == 400 and not User.objects.filter(username="sa2").exists()


def test_disable_kills_sessions_immediately(security_admin, personas):
    victim = Client()
    web_login(victim, "cw_a", PASSWORD)
    assert is_logged_in(victim)
    key = session_cookie(victim)
    admin = _client_for(security_admin)
    r = admin.post(f"/account/users/{personas.caseworker_a.pk}/disable/")
    assert r.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert not is_logged_in(victim)
    ev = AuditEvent.objects.filter(action="accounts.user_disable").last()
    assert ev.actor_username == "sa_county" and ev.detail["sessions_ended"] == 1


def test_actions_outside_area_are_404(security_admin, personas):
    admin = _client_for(security_admin)
    assert admin.post(f"/account/users/{personas.reviewer_2.pk}/disable/").status_code == 404
    assert User.objects.get(pk=personas.reviewer_2.pk).is_active


def test_reset_page(security_admin, personas):
    r = _client_for(security_admin).post(f"/account/users/{personas.caseworker_b.pk}/reset/")
    initial = re.search(r'data-testid="initial-password">([^<]+)<', r.content.decode()).group(1)
    assert services.login_check(username="cw_b", password=initial, ip="10.10.0.2").status == "password_expired"
    assert services.login_check(username="cw_b", password=PASSWORD, ip="10.10.0.2").status == "invalid"


def test_every_accounts_post_route_needs_a_csrf_token(security_admin, personas):
    from django.urls import reverse

    from jiuzhu.accounts import urls

    routes = [reverse(f"accounts:{p.name}", kwargs={"pk": personas.caseworker_a.pk} if "<int:pk>" in str(p.pattern)
                      else None) for p in urls.urlpatterns]
    assert len(routes) == len(urls.urlpatterns) >= 12
    c = Client(enforce_csrf_checks=True)
    c.force_login(security_admin)
    for url in routes:
        r = c.post(url, {"username": "cw_a", "password": PASSWORD, "code": "123456"})
        assert r.status_code == 403, url
    assert User.objects.get(pk=personas.caseworker_a.pk).is_active
