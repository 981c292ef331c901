"""``jiuzhu demo-accounts`` and ``jiuzhu create-user``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from jiuzhu.accounts import demo, services
from jiuzhu.accounts.models import User
from jiuzhu.core.models import AuditEvent, Division

EXPECTED = {
    "cw_guanmiao": ("caseworker", "610902100"),
    "cw_zhangtan": ("caseworker", "610902101"),
    "rv_hanbin": ("reviewer", "610902"),
    "rv2_hanbin": ("reviewer", "610902"),
    "vf_hanbin": ("verifier", "610902"),
    "sv_ankang": ("supervisor", "6109"),
    "pa_shaanxi": ("policy_admin", "61"),
    "au_shaanxi": ("auditor", "61"),
    "sa_security": ("security_admin", "61"),
    "sys_admin": ("system_admin", "61"),
}


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_accounts", *args, stdout=out)
    return out.getvalue()


def test_demo_accounts_json_shape(tree):
    rows = json.loads(run("--json"))
    assert isinstance(rows, list) and all(set(r) == {"username", "password", "role", "area_code"} for r in rows)
    first_village = Division.objects.filter(level=5, code__startswith="610902100").order_by("code").first().code
    got = {r["username"]: (r["role"], r["area_code"]) for r in rows}
    assert got == {**EXPECTED, "va_guanmiao": ("village_assistant", first_village)}
    assert {r["password"] for r in rows} == {"Jiuzhu@2026"}
    assert User.objects.filter(is_demo=True).count() == 11


def test_demo_accounts_table_and_idempotent(tree):
    text = run()
    assert "cw_guanmiao" in text and "关庙镇" in text and "免二次验证" in text
    User.objects.filter(username="cw_guanmiao").update(is_active=False, must_change_password=True)
    run()
    u = User.objects.get(username="cw_guanmiao")
    assert u.is_active and not u.must_change_password and u.is_demo
    assert User.objects.filter(username="cw_guanmiao").count() == 1


def test_village_assistant_skipped_without_villages(db):
    from jiuzhu.core.divisions import load_national

    load_national(provinces=["61"])
    names = {r["username"] for r in json.loads(run("--json"))}
    assert "va_guanmiao" not in names and "cw_guanmiao" in names


def test_demo_accounts_log_in_and_admins_skip_totp_in_demo_mode(tree):
    run("--json")
    for username in ("cw_guanmiao", "au_shaanxi", "sa_security", "sys_admin"):
        r = services.login_check(username=username, password="Jiuzhu@2026", ip="10.11.0.1")
        assert r.status == "ok", (username, r)


@override_settings(DEMO_MODE=False)
def test_demo_accounts_refused_outside_demo_mode(tree):
    with pytest.raises(CommandError):
        run("--json")
    with pytest.raises(demo.NotDemoMode):
        demo.ensure_demo_accounts()
    assert not User.objects.filter(is_demo=True).exists()


def test_cli_exits_non_zero_outside_demo_mode(tmp_path):
    env = {**os.environ, "JIUZHU_MODE": "production", "JIUZHU_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    p = subprocess.run([sys.executable, "-m", "jiuzhu.cli", "demo-accounts", "--json"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and p.stdout == "" and "演示模式" in p.stderr


def test_create_user_command(tree):
    out = io.StringIO()
    call_command("create_user", username="sa_first", role="security_admin", area="61", full_name="安全员",
                 no_input=True, stdout=out)
    text = out.getvalue()
    password = text.split("一次性初始密码: ")[1].split()[0]
    user = User.objects.get(username="sa_first")
    assert user.must_change_password and user.check_password(password) and not user.is_demo
    r = services.login_check(username="sa_first", password=password, ip="10.11.0.2")
    assert r.status == "totp_required" and services.can_enroll_at_login(r.user)
    assert AuditEvent.objects.filter(action="accounts.user_create", detail__via="command").exists()
    with pytest.raises(CommandError):
        call_command("create_user", username="sa_first", role="auditor", area="61", no_input=True, stdout=out)
    with pytest.raises(CommandError):
        call_command("create_user", username="x", role="auditor", area="99", no_input=True, stdout=out)
    with pytest.raises(CommandError):
        call_command("create_user", role="auditor", area="61", no_input=True, stdout=out)
