"""A plaintext scanner for database contents: resident ID numbers (GB 11643 check character and a real birth date),
mobile numbers and bank card numbers (Luhn), each standing alone — not inside a longer run of letters or
digits, as in base64 ciphertext. Blind indexes (32 lowercase hex characters) are digests and skipped."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.db import connection

from jiuzhu.core.pii_scan import find_numbers

DIGEST_RE = re.compile(r"^[0-9a-f]{32}$")


def find_plaintext(text: str) -> list[tuple[str, str]]:
    """[(kind, value)] for every ID number, mobile number or card number in ``text`` (core.pii_scan's rules)."""
    if DIGEST_RE.match(text):
        return []
    return [("bank_account" if kind == "card" else kind, v) for kind, v in find_numbers(text)]


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
