"""Shared bits of the portal tests: a valid form, files that are and are not what they claim to be, and the
storage directory (to prove that a refused submission leaves no file behind)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from jiuzhu.cases import storage
from jiuzhu.core import idnumber
from jiuzhu.testing.fixtures import TOWN_A, villages

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def an_id(birth: dt.date = dt.date(1968, 5, 17), seq: int = 123) -> str:
    return idnumber.make("610902", birth, seq)


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def token_of(html: str) -> str:
    m = re.search(r'name="token" value="([^"]+)"', html)
    assert m, "no form token on the page"
    return m.group(1)


def apply_data(client: Any, *, township: str = TOWN_A, **overrides: Any) -> dict[str, Any]:
    """A complete, valid application with a fresh form token from the page."""
    r = client.get("/portal/apply/", {"township": township})
    assert r.status_code == 200
    data: dict[str, Any] = {
        "township": township, "token": token_of(r.content.decode()), "programme": "dibao", "temp_type": "",
        "village": villages(township)[1], "applicant_name": "林秀英", "id_number": an_id(), "phone": "13912345678",
        "household_size": "3", "reason": "丈夫因病去世，本人无固定收入，独自抚养两个孩子。",
        "commitment": "on", "authorisation": "on", "signer_name": "林秀英",
    }  # fmt: skip
    data.update(overrides)
    return data


def stored_files() -> list[str]:
    return sorted(p.name for p in storage.root().iterdir())


def without_csrf(html: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)
