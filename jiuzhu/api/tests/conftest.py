"""API test helpers: a bearer-token client per persona, and the GB 11643 scanner (SECURITY PUB-MASK row 3)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from jiuzhu.api.tokens import token_issue
from jiuzhu.core import idnumber
from jiuzhu.testing.fixtures import TOWN_A, TOWN_B, make_household, villages

_ID18 = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
_FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘｘx", "0123456789XXX")


def full_ids_in(text: str) -> list[str]:
    """Checksum-valid 18-character ID numbers in ``text`` (full-width digits and spaces inside count too)."""
    norm = text.translate(_FULLWIDTH)
    found = []
    for candidate in {*_ID18.findall(norm), *_ID18.findall(re.sub(r"[\s\-]", "", norm))}:
        if idnumber.check_char(candidate[:17]) == candidate[17]:
            found.append(candidate)
    return found


def body_text(response: Any) -> str:
    """The raw body and its decoded JSON (ninja escapes non-ASCII, which would hide full-width digits)."""
    raw = response.content.decode("utf-8", "replace")
    try:
        return raw + "\n" + json.dumps(json.loads(raw), ensure_ascii=False)
    except ValueError:
        return raw


class ApiClient:
    """``Client`` with ``Authorization: Bearer`` for one user; ``None`` user = anonymous."""

    def __init__(self, user: Any = None, token: str | None = None):
        self.client = Client()
        self.user = user
        self.token = token if token is not None else (token_issue(user=user)[0] if user is not None else None)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **params: Any):
        return self.client.get(f"/api/v1{path}", params, headers=self._headers())

    def send(self, method: str, path: str, body: Any = None):
        data = json.dumps(body) if body is not None else ""
        return self.client.generic(method, f"/api/v1{path}", data, content_type="application/json", headers=self._headers())

    def post(self, path: str, body: Any = None):
        return self.send("POST", path, body)

    def patch(self, path: str, body: Any = None):
        return self.send("PATCH", path, body)

    def delete(self, path: str):
        return self.send("DELETE", path)


@pytest.fixture
def as_user():
    return ApiClient


@pytest.fixture
def village_a(personas) -> str:
    return villages(TOWN_A)[0]


@pytest.fixture
def village_b(personas) -> str:
    return villages(TOWN_B)[0]


@pytest.fixture
def hh_a(personas, village_a):
    """A two-member household in area A (caseworker_a's township)."""
    return make_household(personas.caseworker_a, village_a, size=3, name="欧阳明华")


@pytest.fixture
def hh_b(personas, village_b):
    return make_household(personas.caseworker_b, village_b, size=2, name="李四")
