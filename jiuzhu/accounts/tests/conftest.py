"""Helpers for the login-policy tests. A fast hasher keeps the many logins quick; the one test about hashing
cost switches the production hasher back on."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest

from jiuzhu.accounts.models import User
from jiuzhu.accounts.roles import Role
from jiuzhu.core import crypto
from jiuzhu.testing.fixtures import COUNTY, PROVINCE, make_user

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    return settings


def enroll(user: User, secret: str = SECRET) -> pyotp.TOTP:
    user.totp_secret_enc = crypto.encrypt(secret, context="user.totp")
    user.totp_last_step = 0
    user.save(update_fields=["totp_secret_enc", "totp_last_step"])
    return pyotp.TOTP(secret, interval=30)


@pytest.fixture
def security_admin(personas) -> User:
    return make_user("sa_county", Role.SECURITY_ADMIN, COUNTY)


@pytest.fixture
def province_security_admin(personas) -> User:
    return make_user("sa_prov", Role.SECURITY_ADMIN, PROVINCE)


_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def normalised_body(response: Any) -> bytes:
    """The page without its per-response CSRF token (masked differently on every render)."""
    return _CSRF.sub(b'name="csrfmiddlewaretoken" value=""', response.content)


def web_login(client: Any, username: str, password: str, **extra: Any) -> Any:
    return client.post("/login/", {"username": username, "password": password, **extra}, REMOTE_ADDR="10.9.9.9")
