"""``core.cells.cell_text``: one cell of a workbook, CSV or Parquet file as the text a reader sees — the union of
what the household importer and the departmental file ingestion did on their own before."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from jiuzhu.core.cells import cell_text


@pytest.mark.parametrize(("value", "text"), [
    (None, ""),
    ("", ""),
    ("  王大山 \t", "王大山"),
    ("\u3000关庙镇\u3000", "关庙镇"),  # the full-width space of Chinese input methods
    ("0013", "0013"),  # text stays text: leading zeros kept
    (True, "是"),
    (False, "否"),
    (0, "0"),
    (42, "42"),
    (-7, "-7"),
    (13.0, "13"),  # Excel stores every number as a float
    (-0.0, "0"),
    (2300.5, "2300.5"),
    (0.1, "0.1"),
    (610902199001011234.0, "6.109021990010112e+17"),  # an ID number that lost digits shows it (the caller refuses)
    (1e15, "1000000000000000.0"),  # 16 digits and more: no longer shortened, the caller sees a float
    (float("nan"), ""),  # an empty Parquet/pandas cell
    (Decimal("2300.00"), "2300.00"),  # the scale as written: the ingestion's natural key hashes this text
    (Decimal("1E+2"), "100"),  # never an exponent
    (Decimal("1.0E-7"), "0.00000010"),
    (Decimal("-12.5"), "-12.5"),
    (Decimal("NaN"), ""),
    (dt.date(2026, 3, 1), "2026-03-01"),
    (dt.datetime(2026, 3, 1), "2026-03-01"),  # a date cell read as midnight
    (dt.datetime(2026, 3, 1, 8, 30), "2026-03-01 08:30:00"),
    (dt.time(8, 30), "08:30:00"),
])  # fmt: skip
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_both_readers_use_it():
    from jiuzhu.registry import importers
    from jiuzhu.verification import ingest

    assert ingest.cell_text is cell_text and importers.cell_text is cell_text
    assert not hasattr(importers, "_text")
