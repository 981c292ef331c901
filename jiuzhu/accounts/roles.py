"""Roles and what each may do. Permissions are data (netbox's habit), checked in one place:
``core.scoping.AreaScopedQuerySet.restrict`` for objects and ``has_perm`` for actions.

三权分立 (SECURITY AC-SOD): the system admin manages configuration, the security admin manages accounts and
roles, the auditor reads the audit log; none of them reads household data by default."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CASEWORKER = "caseworker", _("乡镇经办员")
    VILLAGE_ASSISTANT = "village_assistant", _("村社会救助协理员")
    REVIEWER = "reviewer", _("县级审核确认")
    VERIFIER = "verifier", _("县级核对机构")
    SUPERVISOR = "supervisor", _("市/省监督")
    POLICY_ADMIN = "policy_admin", _("政策管理员")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDITOR = "auditor", _("审计员")


# Actions on registry objects and site functions.
VIEW = "view"  # see households and persons (masked)
CHANGE = "change"  # create and edit households and persons
IMPORT = "import"
EXPORT = "export"
REVEAL = "reveal"  # see a protected field in full, with a reason
VIEW_NAMES = "view_names"  # see full names (case handling); others see 张*三
VIEW_AUDIT = "view_audit"
MANAGE_USERS = "manage_users"
MANAGE_POLICY = "manage_policy"
VERIFY = "verify"  # run 家庭经济状况核对 and read departmental records (purpose-limited, SECURITY PRIV-PURP)
PAY = "pay"  # generate, approve and export payroll runs, import bank returns (maker ≠ checker, payments.services)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.CASEWORKER: frozenset({VIEW, CHANGE, IMPORT, EXPORT, REVEAL, VIEW_NAMES, PAY}),
    Role.VILLAGE_ASSISTANT: frozenset({VIEW, CHANGE, VIEW_NAMES}),
    Role.REVIEWER: frozenset({VIEW, EXPORT, REVEAL, VIEW_NAMES, PAY}),
    Role.VERIFIER: frozenset({VIEW, VIEW_NAMES, VERIFY}),
    Role.SUPERVISOR: frozenset({VIEW, EXPORT}),
    Role.POLICY_ADMIN: frozenset({VIEW, MANAGE_POLICY}),
    Role.SYSTEM_ADMIN: frozenset(),
    Role.SECURITY_ADMIN: frozenset({MANAGE_USERS}),
    Role.AUDITOR: frozenset({VIEW, VIEW_AUDIT}),
}

# Roles that must pass a TOTP second factor (SECURITY AUTH-2FA) and get the shorter idle limit.
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR, Role.POLICY_ADMIN})


def role_has(role: str, action: str) -> bool:
    return action in ROLE_PERMISSIONS.get(role, frozenset())
