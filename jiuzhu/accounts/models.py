"""Staff users: one role, one area (the subtree they see), and the state the login policy needs."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .roles import ADMIN_ROLES, Role, role_has


class User(AbstractUser):
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.CASEWORKER)
    area = models.ForeignKey("core.Division", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    full_name = models.CharField(_("姓名"), max_length=64, blank=True, default="")
    # Login policy (SECURITY AUTH-LOCK, AUTH-PWD, AUTH-2FA)
    failed_logins = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    must_change_password = models.BooleanField(default=False)
    totp_secret_enc = models.TextField(blank=True, default="")
    totp_last_step = models.BigIntegerField(default=0)
    is_demo = models.BooleanField(default=False)
    # Set when a security admin re-enables the account; restarts the dormancy clock (SECURITY AC-LIFE).
    enabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(failed_logins__gte=0), name="failed_logins_gte_0")]

    @property
    def area_code(self) -> str:
        return self.area_id or ""

    @property
    def is_admin_role(self) -> bool:
        return self.role in ADMIN_ROLES

    def can(self, action: str) -> bool:
        return self.is_active and bool(self.area_id) and role_has(self.role, action)

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class LoginAttempt(models.Model):
    """One row per login attempt from an address, for the per-IP throttle (SECURITY AUTH-LOCK).

    Kept in the database, not the per-process cache, so every worker process counts the same attempts.
    Rows older than a few minutes are deleted as new attempts arrive."""

    ip = models.CharField(max_length=64)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["ip", "at"], name="accounts_loginattempt_ip_at")]


class UnknownLoginState(models.Model):
    """Failure counter and lock for a username that has no account, so that unknown names lock exactly like
    real ones and the lock itself does not reveal which accounts exist (SECURITY AUTH-LOCK)."""

    username = models.CharField(max_length=150, unique=True)
    failed_logins = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(db_index=True)
