"""Scanner for personal numbers in any text: database dumps, exports, pages, logs (SECURITY PUB-MASK row 3).

Finds checksum-valid GB 11643 ID numbers (also with full-width digits), Luhn-valid 16–19-digit card numbers and
mobile numbers ``1[3-9]\\d{9}``, each only as a whole token (not inside a longer run of letters and digits, so hex
digests and base64 ciphertext do not raise false alarms)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .idnumber import check_char

_FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘ", "0123456789X")
_B = r"(?<![0-9A-Za-z])"
_E = r"(?![0-9A-Za-z])"
ID_RE = re.compile(_B + r"(\d{17}[\dXx])" + _E)
CARD_RE = re.compile(_B + r"(\d{16,19})" + _E)
PHONE_RE = re.compile(_B + r"(1[3-9]\d{9})" + _E)


@dataclass(frozen=True)
class Finding:
    kind: str
    value_masked: str
    where: str


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_id(value: str) -> bool:
    v = value.upper()
    if check_char(v[:17]) != v[17]:
        return False
    try:
        dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    return True


def find_numbers(text: str) -> list[tuple[str, str]]:
    """[(kind, value)] for every ID number, card number and mobile number standing alone in ``text``."""
    t = text.translate(_FULLWIDTH)
    out = [("id_number", m.upper()) for m in ID_RE.findall(t) if _is_id(m)]
    out += [("card", m) for m in CARD_RE.findall(t) if _luhn(m) and not (len(m) == 18 and _is_id(m))]
    out += [("phone", m) for m in PHONE_RE.findall(t)]
    return out


def scan_text(text: str, where: str = "") -> list[Finding]:
    found = []
    for kind, v in find_numbers(text):
        masked = v[:4] + "…" + v[-4:] if kind == "id_number" else (v[:3] + "…" + v[-4:] if kind == "phone" else "…" + v[-4:])
        found.append(Finding(kind, masked, where))
    return found


def scan_lines(lines: Iterable[str], where: str = "") -> list[Finding]:
    found: list[Finding] = []
    for i, line in enumerate(lines, start=1):
        found.extend(scan_text(line, f"{where}:{i}"))
    return found


def dump_database() -> Iterator[str]:
    """A full logical dump of the default database: SQLite's iterdump, or pg_dump for PostgreSQL."""
    from django.db import connection

    connection.ensure_connection()
    if connection.vendor == "sqlite":
        raw = connection.connection
        assert isinstance(raw, sqlite3.Connection)
        yield from raw.iterdump()
        return
    s = connection.settings_dict
    env = {"PGPASSWORD": s.get("PASSWORD") or "", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    cmd = ["pg_dump", "--no-owner", "-h", s.get("HOST") or "127.0.0.1", "-p", str(s.get("PORT") or 5432),
           "-U", s.get("USER") or "postgres", s["NAME"]]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True, encoding="utf-8")
    assert proc.stdout is not None
    yield from proc.stdout
    if proc.wait() != 0:
        raise RuntimeError("pg_dump failed")
