"""A plaintext scanner for database contents: resident ID numbers (GB 11643 check character and a real birth date),
mobile numbers and bank card numbers (Luhn), each standing alone — not inside a longer run of letters or
digits, as in base64 ciphertext. Blind indexes (32 lowercase hex characters) are digests and skipped."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from django.db import connection

from jiuzhu.core import idnumber

ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
PHONE_RE = re.compile(r"(?<![0-9A-Za-z])(1[3-9]\d{9})(?![0-9A-Za-z])")
CARD_RE = re.compile(r"(?<![0-9A-Za-z])(\d{16,19})(?![0-9A-Za-z])")
DIGEST_RE = re.compile(r"^[0-9a-f]{32}$")


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _is_id(s: str) -> bool:
    s = s.upper()
    if idnumber.check_char(s[:17]) != s[17]:
        return False
    try:
        dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return True


def find_plaintext(text: str) -> list[tuple[str, str]]:
    """[(kind, value)] for every ID number, mobile number or card number in ``text``."""
    if DIGEST_RE.match(text):
        return []
    out = [("id_number", m) for m in ID_RE.findall(text) if _is_id(m)]
    out += [("phone", m) for m in PHONE_RE.findall(text)]
    out += [("bank_account", m) for m in CARD_RE.findall(text) if _luhn_ok(m) and not _is_id(m)]
    return out


def registry_tables() -> list[str]:
    return sorted(t for t in connection.introspection.table_names() if t.startswith("registry_"))


def scan_tables(tables: list[str]) -> Iterator[tuple[str, str, str, str]]:
    """(table, column, kind, value) for every hit in every column of ``tables`` (all values read as text)."""
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        for table in tables:
            columns = [c.name for c in connection.introspection.get_table_description(cur, table)]
            cur.execute(f"SELECT {', '.join(qn(c) for c in columns)} FROM {qn(table)}")  # noqa: S608 (catalogue names)
            for row in cur.fetchall():
                for col, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    for kind, hit in find_plaintext(str(value)):
                        yield table, col, kind, hit
