"""Demo accounts (demo mode only). Fixed, published passwords: these accounts exist so a reviewer can try every
role on synthetic data. Outside demo mode they cannot be created and, if left in a database, cannot log in
(``services._refusal``). In demo mode they are exempt from the second factor and from password expiry."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from jiuzhu.core.audit import audit_record
from jiuzhu.core.models import Division

from .models import User
from .roles import Role

DEMO_PASSWORD = "Jiuzhu@2026"  # noqa: S105 (published demo password, demo mode only)
VILLAGE_OF = "610902100"  # va_guanmiao works in the first village of 关庙镇

DEMO_ACCOUNTS: list[dict[str, str]] = [
    {"username": "cw_guanmiao", "password": DEMO_PASSWORD, "role": Role.CASEWORKER, "area_code": "610902100",
     "full_name": "关庙镇经办员"},
    {"username": "cw_zhangtan", "password": DEMO_PASSWORD, "role": Role.CASEWORKER, "area_code": "610902101",
     "full_name": "张滩镇经办员"},
    {"username": "va_guanmiao", "password": DEMO_PASSWORD, "role": Role.VILLAGE_ASSISTANT, "area_code": "",
     "full_name": "关庙镇村协理员"},
    {"username": "rv_hanbin", "password": DEMO_PASSWORD, "role": Role.REVIEWER, "area_code": "610902",
     "full_name": "汉滨区审核员"},
    # a second county officer: what one county officer makes for the whole county (a 调标 review, a county payroll
    # or back-pay run, a recovery) needs another to approve it
    {"username": "rv2_hanbin", "password": DEMO_PASSWORD, "role": Role.REVIEWER, "area_code": "610902",
     "full_name": "汉滨区复核员"},
    {"username": "vf_hanbin", "password": DEMO_PASSWORD, "role": Role.VERIFIER, "area_code": "610902",
     "full_name": "汉滨区核对中心"},
    {"username": "sv_ankang", "password": DEMO_PASSWORD, "role": Role.SUPERVISOR, "area_code": "6109",
     "full_name": "安康市监督员"},
    {"username": "pa_shaanxi", "password": DEMO_PASSWORD, "role": Role.POLICY_ADMIN, "area_code": "61",
     "full_name": "省政策管理员"},
    {"username": "au_shaanxi", "password": DEMO_PASSWORD, "role": Role.AUDITOR, "area_code": "61",
     "full_name": "省审计员"},
    {"username": "sa_security", "password": DEMO_PASSWORD, "role": Role.SECURITY_ADMIN, "area_code": "61",
     "full_name": "省安全管理员"},
    {"username": "sys_admin", "password": DEMO_PASSWORD, "role": Role.SYSTEM_ADMIN, "area_code": "61",
     "full_name": "系统管理员"},
]


class NotDemoMode(ImproperlyConfigured):
    pass


def _require_demo() -> None:
    if not settings.DEMO_MODE:
        raise NotDemoMode("demo accounts exist only in demo mode (JIUZHU_MODE=demo)")


def _area_for(spec: dict[str, str]) -> str | None:
    if spec["username"] == "va_guanmiao":
        code = (Division.objects.filter(level=Division.Level.VILLAGE, code__startswith=VILLAGE_OF)
                .order_by("code").values_list("code", flat=True).first())
        return code
    return spec["area_code"] if Division.objects.filter(code=spec["area_code"]).exists() else None


def demo_accounts() -> list[dict[str, str]]:
    """The accounts as they would be created now (village resolved; accounts without an area left out)."""
    _require_demo()
    out = []
    for spec in DEMO_ACCOUNTS:
        area = _area_for(spec)
        if area:
            out.append({**{k: str(v) for k, v in spec.items()}, "area_code": area})
    return out


def ensure_demo_accounts() -> list[User]:
    """Create or update every demo account (is_demo=True, password reset to the published one, unlocked).
    Raises ``NotDemoMode`` unless ``settings.DEMO_MODE``."""
    _require_demo()
    now = timezone.now()
    users: list[User] = []
    with transaction.atomic():
        for spec in demo_accounts():
            user = User.objects.filter(username=spec["username"]).first() or User(username=spec["username"])
            user.role = spec["role"]
            user.area_id = spec["area_code"]
            user.full_name = spec["full_name"]
            user.is_demo = True
            user.is_active = True
            user.must_change_password = False
            user.password_changed_at = now
            user.failed_logins, user.first_failure_at, user.locked_until = 0, None, None
            user.set_password(spec["password"])
            user.save()
            users.append(user)
        audit_record(action="accounts.demo_accounts", username="(command)",
                     detail={"usernames": [u.username for u in users]})
    return users

