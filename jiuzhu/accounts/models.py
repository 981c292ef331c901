"""Staff users: one role, one area (the subtree they see), and the state the login policy needs."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from .roles import ADMIN_ROLES, Role, role_has


class User(AbstractUser):
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.CASEWORKER)
    area = models.ForeignKey("core.Division", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    full_name = models.CharField("姓名", max_length=64, blank=True, default="")
    # Login policy (SECURITY AUTH-LOCK, AUTH-PWD, AUTH-2FA)
    failed_logins = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    must_change_password = models.BooleanField(default=False)
    totp_secret_enc = models.TextField(blank=True, default="")
    totp_last_step = models.BigIntegerField(default=0)
    is_demo = models.BooleanField(default=False)

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
