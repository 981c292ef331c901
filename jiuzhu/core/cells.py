"""One spreadsheet or CSV cell as text, shared by the household importer (``registry.importers``) and the file-drop
ingestion of departmental records (``verification.ingest``).

Readers hand over what the file holds: ``str`` from a CSV; ``str``, ``int``, ``float``, ``bool``, ``datetime``,
``date``, ``time`` or ``None`` from a workbook (python-calamine); ``Decimal`` and NaN from a Parquet column. The
text is what a person reading the sheet sees:

* ``None``, an empty cell and NaN (a float or a ``Decimal``) → ``""``;
* text → stripped of surrounding whitespace (including the full-width space U+3000);
* ``True``/``False`` → ``是``/``否``;
* a float with an integral value below 10¹⁵ → without ``.0`` (``13.0`` → ``13``: Excel stores every number as
  a float); another float → its shortest round-trip form (``repr``), which may carry an exponent — the caller
  decides (the importer refuses an ID number that lost digits that way);
* a ``Decimal`` → fixed-point, never an exponent, its scale kept (``Decimal("1E+2")`` → ``100``,
  ``Decimal("2300.00")`` → ``2300.00``: the ingestion's natural key of a record hashes this text, so it must not
  change for a value already stored);
* a ``datetime`` at midnight → its date; another ``datetime`` → ISO with a space (``2026-03-01 08:30:00``); a ``date`` → ISO;
* anything else → ``str(value)`` stripped.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

_INTEGRAL_LIMIT = 1e15  # beyond this a float no longer holds every digit of an integer as typed


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < _INTEGRAL_LIMIT else repr(value)
    if isinstance(value, Decimal):
        return "" if value.is_nan() else format(value, "f")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()
