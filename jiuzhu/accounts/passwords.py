"""Password rules with a switchable profile (SECURITY AUTH-PWD, §1.1).

``dengbao`` (GB/T 22239 测评 practice): ≥ 8 characters, 3 of 4 classes, change every 90 days.
``asvs`` (OWASP ASVS 5.0 §6.2): ≥ 12 characters, no composition rules, block list (Django's common list).
Both accept up to 128 characters."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_LENGTH = 128


def _classes(password: str) -> int:
    return sum(
        bool(re.search(p, password)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^a-zA-Z0-9]")
    )


class ProfileValidator:
    def __init__(self, profile: str | None = None):
        self._profile = profile

    @property
    def profile(self) -> str:
        return self._profile or settings.PASSWORD_PROFILE

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > MAX_LENGTH:
            raise ValidationError(_("密码不能超过 %(max)s 个字符") % {"max": MAX_LENGTH}, code="password_too_long")
        if self.profile == "dengbao":
            if len(password) < 8:
                raise ValidationError(_("密码至少 8 位（等保要求）"), code="password_too_short")
            if _classes(password) < 3:
                raise ValidationError(
                    _("密码须包含大写字母、小写字母、数字、符号中的至少三类（等保要求）"), code="password_classes"
                )
        else:
            if len(password) < 12:
                raise ValidationError(_("密码至少 12 位"), code="password_too_short")

    def get_help_text(self) -> str:
        if self.profile == "dengbao":
            return _("至少 8 位，包含大写字母、小写字母、数字、符号中的至少三类；每 90 天更换。")
        return _("至少 12 位；可使用长口令。")
