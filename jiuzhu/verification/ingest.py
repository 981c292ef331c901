"""File-drop ingestion of departmental records (docs/verification-feeds.md).

A department delivers a file in its own column layout; ``feeds/<source>.yaml`` says which columns the layout
has, of which type, and which normalised ``FeedRecord`` fields (kind, amount, quantity, category, event_date,
period, ref) each row yields. ``ingest`` then:

1. refuses a hostile or broken file before any parser sees it: ``core.files.check_upload`` for .xlsx and .csv
   (size, zip bombs, macros, XML entities, NUL bytes, UTF-8 or GBK/GB18030 with mixed encodings refused), and
   for .parquet the size, the magic bytes at both ends, the declared row count, column count, uncompressed size
   and flat column types; a file that cannot be read to the end — a CSV ending inside a quoted field, a row
   with fewer cells than the header, a truncated workbook or Parquet file — is refused as a whole;
2. validates every row and every column before writing anything and reports each problem as ``第N行 列名：…``
   (N as the user sees it: the header is row 1 of a CSV or worksheet; a Parquet file has no header row, so N
   is the record number). Any row error refuses the whole file — all or nothing, like the registry importer;
3. matches each row's person on the keyed blind index of the ID number: a person who is not in the registry
   is reported and not stored (data minimisation);
4. stores each record once: ``natural_key`` is the SHA-256 of the normalised record (never of the raw row), so
   the same record from another file — a GBK and a UTF-8 copy, three date formats, an overlapping month — is
   not stored twice (unique ``(source, natural_key)``, ``bulk_create(ignore_conflicts=True)``); a duplicate row
   within the file is reported and loaded once. A file whose SHA-256 was loaded before changes nothing.

The original row is kept SM4-encrypted (``raw_enc``, context ``feed:<source>``) with every ID column replaced by
its masked form; no plaintext ID number is written anywhere (error messages never echo an ID column, and any ID
number in a file name, header or echoed value is masked). A refused file leaves one ``FeedFile`` row with
status ``refused`` and its messages, and nothing else.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models.constants import OnConflict
from django.utils import timezone
from django.utils.translation import gettext as _

from jiuzhu.core import crypto, idnumber
from jiuzhu.core.audit import audit_record
from jiuzhu.core.cells import cell_text
from jiuzhu.core.files import MAX_SHEET_COLS, RejectedFile, check_upload, display_name, file_hashes
from jiuzhu.core.masking import mask_id
from jiuzhu.core.pii_scan import find_numbers

from .models import FeedFile, FeedRecord
from .sources import SOURCES

FEEDS_DIR = Path(__file__).parent / "feeds"
TYPES = ("id", "text", "number", "date", "month")
FIELDS = ("kind", "category", "amount", "quantity", "event_date", "period", "ref")
FIELD_TYPES = {
    "kind": ("text",), "category": ("text",), "amount": ("number",), "quantity": ("number",),
    "event_date": ("date", "month"), "period": ("date", "month"), "ref": ("text", "number", "date", "month"),
}  # fmt: skip
# Categories a kind may carry (sources.py); a layout mapping to anything else is refused when it is loaded.
CATEGORIES = {
    "registration": ("normal", "cancelled", "moved_out"),
    "pension": ("basic", "employee", "other"),
    "vehicle": ("car", "truck", "motorcycle", "tricycle", "adapted", "ended"),
    "house": ("ended",),
    "business": ("active", "closed"),
    "marriage": ("married", "divorced"),
}
ANY, BLANK = "*", ""  # in ``when``: any non-blank value; a blank cell
TODAY = "today"  # ``default: today`` of a date field: the day of the ingest
MAX_ERRORS = 200  # messages kept on the FeedFile
MAX_ROWS = 1_000_000  # CSV and Parquet (a worksheet is bounded by core.files)
MAX_PARQUET_UNCOMPRESSED = 512 * 1024 * 1024
HEADER_SEARCH_ROWS = 10
LOOKUP_CHUNK = 900  # ids in one IN (...) query (SQLite's historical limit is 999)
WRITE_CHUNK = 5000
MAX_AMOUNT = Decimal("1e12")  # FeedRecord.amount: 14 digits, 2 decimals
MAX_QUANTITY = Decimal("1e8")  # FeedRecord.quantity: 10 digits, 2 decimals
CENT = Decimal("0.01")
ECHO_MAX = 20  # characters of a bad value echoed in a message


class LayoutError(ValueError):
    """A layout file is wrong (a developer's or an administrator's error, reported in English)."""


class UnknownSource(ValueError):
    pass


# --- the layout --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Take:
    """Where one record field comes from: a literal, or the first non-blank of ``columns`` (all the non-blank
    ones joined with "/" for ``ref``, which identifies the record, e.g. a bank and an account) (through ``mapping``
    for a coded value; ``default`` for a value not in it, or ``today`` for a blank date)."""

    literal: str | None = None
    columns: tuple[str, ...] = ()
    mapping: dict[str, str] | None = None
    default: str = ""
    optional: bool = False


@dataclass(frozen=True)
class Rule:
    when: tuple[tuple[str, frozenset[str]], ...]
    fields: dict[str, Take]


@dataclass(frozen=True)
class Layout:
    source: str
    title: str
    person: str
    columns: dict[str, str]  # column -> type, in the layout's order
    required: tuple[str, ...]
    headers: dict[str, str]  # normalised header or alias -> column
    rules: tuple[Rule, ...]


def norm_header(text: Any) -> str:
    s = re.sub(r"\s+", "", str(text or "")).translate(str.maketrans("（）／＊", "()/*"))
    return s.replace("(必填)", "").strip("*")


def layout(source: str) -> Layout:
    if source not in SOURCES:
        raise UnknownSource(source)
    return _load_layout(source)


@cache
def _load_layout(source: str) -> Layout:
    path = FEEDS_DIR / f"{source}.yaml"
    if not path.exists():
        raise LayoutError(f"{path.name}: no layout for source {source!r}")
    return parse_layout(yaml.safe_load(path.read_text(encoding="utf-8")), where=path.name)


def parse_layout(doc: Any, *, where: str = "layout") -> Layout:
    """Check a layout document (see docs/verification-feeds.md) and build it; LayoutError names what is wrong."""

    def fail(msg: str) -> LayoutError:
        return LayoutError(f"{where}: {msg}")

    if not isinstance(doc, dict):
        raise fail("not a mapping")
    unknown = set(doc) - {"source", "title", "person", "columns", "required", "aliases", "records"}
    if unknown:
        raise fail(f"unknown keys {sorted(unknown)}")
    source = str(doc.get("source") or "")
    if source not in SOURCES:
        raise fail(f"source {source!r} is not one of {sorted(SOURCES)}")
    columns = doc.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise fail("columns: a mapping of column name to type is required")
    columns = {str(c): str(t) for c, t in columns.items()}
    for c, t in columns.items():
        if t not in TYPES:
            raise fail(f"column {c}: type {t!r} is not one of {TYPES}")
    person = str(doc.get("person") or "")
    if columns.get(person) != "id":
        raise fail(f"person: {person!r} must be a column of type id")
    required = tuple(str(c) for c in doc.get("required") or ())
    for c in (person, *required):
        if c not in columns:
            raise fail(f"required: {c!r} is not a column")
    if person not in required:
        required = (person, *required)
    headers: dict[str, str] = {}
    for c in columns:
        headers[norm_header(c)] = c
    for c, names in (doc.get("aliases") or {}).items():
        if c not in columns:
            raise fail(f"aliases: {c!r} is not a column")
        for a in names if isinstance(names, list) else [names]:
            key = norm_header(a)
            if headers.get(key, c) != c:
                raise fail(f"aliases: {a!r} already names column {headers[key]!r}")
            headers[key] = c
    rules = tuple(_rule(r, i, source, columns, fail) for i, r in enumerate(doc.get("records") or ()))
    if not rules:
        raise fail("records: at least one rule is required")
    return Layout(source=source, title=str(doc.get("title") or SOURCES[source].label), person=person,
                  columns=columns, required=required, headers=headers, rules=rules)  # fmt: skip


def _rule(r: Any, i: int, source: str, columns: dict[str, str], fail: Any) -> Rule:
    if not isinstance(r, dict):
        raise fail(f"records[{i}]: not a mapping")
    unknown = set(r) - {"when", *FIELDS}
    if unknown:
        raise fail(f"records[{i}]: unknown keys {sorted(unknown)}")
    when = []
    for c, accepted in (r.get("when") or {}).items():
        if c not in columns:
            raise fail(f"records[{i}].when: {c!r} is not a column")
        values = accepted if isinstance(accepted, list) else [accepted]
        when.append((str(c), frozenset("" if v is None else str(v) for v in values)))
    fields: dict[str, Take] = {}
    for name in FIELDS:
        if name in r:
            fields[name] = _take(r[name], name, f"records[{i}].{name}", columns, fail)
    if "kind" not in fields or "period" not in fields:
        raise fail(f"records[{i}]: kind and period are required")
    allowed = SOURCES[source].kinds
    kinds = [fields["kind"].literal] if fields["kind"].literal is not None else [
        *(fields["kind"].mapping or {}).values(), *([fields["kind"].default] if fields["kind"].default else [])]  # fmt: skip
    for k in kinds:
        if k not in allowed:
            raise fail(f"records[{i}].kind: {k!r} is not a kind of {source} {allowed}")
    cat = fields.get("category")
    if cat is not None:
        values = [cat.literal] if cat.literal is not None else [*(cat.mapping or {}).values(), *([cat.default] if cat.default else [])]
        for k in kinds:
            bad = [v for v in values if v not in CATEGORIES.get(str(k), ())]
            if bad:
                raise fail(f"records[{i}].category: {bad} are not categories of {k} {CATEGORIES.get(str(k), ())}")
    return Rule(when=tuple(when), fields=fields)


def _take(spec: Any, name: str, where: str, columns: dict[str, str], fail: Any) -> Take:
    literal_ok = name in ("kind", "category")
    if isinstance(spec, str) and literal_ok:
        return Take(literal=spec)
    if isinstance(spec, (str, list)):
        spec = {"column": spec}
    if not isinstance(spec, dict) or "column" not in spec:
        raise fail(f"{where}: a column name, a list of column names or {{column: …}} is expected")
    unknown = set(spec) - {"column", "map", "default", "optional"}
    if unknown:
        raise fail(f"{where}: unknown keys {sorted(unknown)}")
    cols = spec["column"] if isinstance(spec["column"], list) else [spec["column"]]
    cols = [str(c) for c in cols]
    for c in cols:
        if c not in columns:
            raise fail(f"{where}: {c!r} is not a column")
        if spec.get("map") is None and columns[c] not in FIELD_TYPES[name]:
            raise fail(f"{where}: column {c!r} of type {columns[c]} cannot give {name}")
        if columns[c] == "id":
            raise fail(f"{where}: an ID column is never stored in a record")
    mapping = spec.get("map")
    if mapping is not None:
        if not literal_ok or not isinstance(mapping, dict):
            raise fail(f"{where}: map is only for kind and category, and must be a mapping")
        mapping = {str(k): str(v) for k, v in mapping.items()}
    elif literal_ok:
        raise fail(f"{where}: kind and category from a column need a map")
    default = "" if spec.get("default") is None else str(spec.get("default"))
    if default and mapping is None and not (default == TODAY and name in ("period", "event_date")):
        raise fail(f"{where}: default is a mapped value, or 'today' for a date")
    return Take(columns=tuple(cols), mapping=mapping, default=default, optional=bool(spec.get("optional")))


# --- reading the file --------------------------------------------------------------------------------------


@dataclass
class Sheet:
    rows: list[list[Any]]
    kind: str  # csv | xlsx | parquet
    numbered_from: int = 1  # the row number of rows[0] as the user sees it (Parquet: the header is row 0)
    encoding: str = ""


def _max_bytes() -> int:
    return int(getattr(settings, "FEED_MAX_BYTES", 0) or 200 * 1024 * 1024)


def read_file(path: Path, filename: str) -> Sheet:
    """The file's cells, or RejectedFile. Hostile-file checks first (``core.files``; Parquet here)."""
    if display_name(filename).lower().endswith(".parquet"):
        return _read_parquet(path)
    checked = check_upload(path, filename, max_bytes=_max_bytes())
    if checked.kind == "csv":
        return _read_csv(path, checked.encoding)
    import python_calamine

    try:
        with python_calamine.CalamineWorkbook.from_path(str(path)) as wb:
            index = next(
                (i for i, m in enumerate(wb.sheets_metadata)
                 if m.typ == python_calamine.SheetTypeEnum.WorkSheet and m.visible == python_calamine.SheetVisibleEnum.Visible),
                0,
            )  # fmt: skip
            rows = wb.get_sheet_by_index(index).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own types for every kind of damage
        raise RejectedFile("unreadable", _("工作簿无法读取（文件已损坏或不完整），整个文件未导入")) from exc
    return Sheet(rows=rows, kind="xlsx")


def _read_csv(path: Path, encoding: str) -> Sheet:
    text = path.read_bytes().decode(encoding)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[Any]] = []
    try:
        for row in reader:
            rows.append(row)
            if len(rows) > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise RejectedFile("too_many_rows", _("文件超过 %(n)s 行，请分批导入") % {"n": f"{MAX_ROWS:,}"})
    except csv.Error as exc:
        raise RejectedFile("truncated", _("CSV 第 %(line)s 行格式错误（引号不配对，或文件在一行中间结束，可能传输中断），"
                                          "整个文件未导入") % {"line": reader.line_num}) from exc  # fmt: skip
    return Sheet(rows=rows, kind="csv", encoding=encoding)


def _read_parquet(path: Path) -> Sheet:
    import pyarrow as pa
    import pyarrow.parquet as pq

    size = path.stat().st_size
    limit = _max_bytes()
    if size > limit:
        raise RejectedFile("too_large", _("文件大小 %(size).1f MB 超过上限 %(limit).0f MB，请分批导入")
                           % {"size": size / 1048576, "limit": limit / 1048576})  # fmt: skip
    if size == 0:
        raise RejectedFile("empty", _("文件是空的"))
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(max(0, size - 4))
        tail = f.read(4)
    if head != b"PAR1":
        raise RejectedFile("not_parquet", _("文件内容不是 Parquet 格式（可能是改了扩展名的其他文件）"))
    if size < 12 or tail != b"PAR1":
        raise RejectedFile("truncated", _("Parquet 文件不完整（缺少文件尾，可能传输中断），整个文件未导入"))
    try:
        pf = pq.ParquetFile(path)
        md = pf.metadata
        if md.num_rows > MAX_ROWS:
            raise RejectedFile("too_many_rows", _("文件超过 %(n)s 行，请分批导入") % {"n": f"{MAX_ROWS:,}"})
        if md.num_columns > MAX_SHEET_COLS:
            raise RejectedFile("sheet_cols", _("文件列数超过上限 %(cols)s") % {"cols": MAX_SHEET_COLS})
        if sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups)) > MAX_PARQUET_UNCOMPRESSED:
            raise RejectedFile("zip_bomb", _("Parquet 文件解压后过大（疑似压缩炸弹），已拒绝"))
        schema = pf.schema_arrow
        for f_ in schema:
            if pa.types.is_nested(f_.type) or pa.types.is_binary(f_.type) or pa.types.is_large_binary(f_.type):
                raise RejectedFile("parquet_type", _("Parquet 文件的列“%(col)s”不是简单类型（文本、数值或日期），已拒绝")
                                   % {"col": _scrub(str(f_.name))[:40]})  # fmt: skip
        table = pf.read()
    except RejectedFile:
        raise
    except Exception as exc:  # pyarrow: ArrowInvalid, OSError … for every kind of damage
        raise RejectedFile("unreadable", _("Parquet 文件已损坏或不完整，无法读取，整个文件未导入")) from exc
    header: list[Any] = list(table.column_names)
    columns = [col.to_pylist() for col in table.columns]
    rows = [header, *(list(r) for r in zip(*columns, strict=True))] if columns else [header]
    return Sheet(rows=rows, kind="parquet", numbered_from=0)


# --- values ------------------------------------------------------------------------------------------------


class Bad(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


_DATES = tuple(re.compile(p) for p in (
    r"(\d{4})-(\d{1,2})-(\d{1,2})", r"(\d{4})/(\d{1,2})/(\d{1,2})", r"(\d{4})(\d{2})(\d{2})",
    r"(\d{4})年(\d{1,2})月(\d{1,2})日?", r"(\d{4})\.(\d{1,2})\.(\d{1,2})",
))  # fmt: skip
_MONTHS = tuple(re.compile(p) for p in (
    r"(\d{4})-(\d{1,2})", r"(\d{4})/(\d{1,2})", r"(\d{4})(\d{2})", r"(\d{4})年(\d{1,2})月?", r"(\d{4})\.(\d{1,2})",
))  # fmt: skip
_TIME = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _plausible(y: int, m: int, d: int) -> dt.date:
    try:
        value = dt.date(y, m, d)
    except ValueError:
        raise Bad(_("不是真实的日期")) from None
    if y < 1900 or y > timezone.localdate().year + 1:
        raise Bad(_("日期不在合理范围内"))
    return value


def parse_date(text: str) -> dt.date:
    s = _TIME.sub("", text.strip())
    for p in _DATES:
        m = p.fullmatch(s)
        if m:
            return _plausible(int(m[1]), int(m[2]), int(m[3]))
    raise Bad(_("日期格式不正确，应为 2026-09-01、2026/9/1 或 20260901"))


def parse_month(text: str) -> dt.date:
    s = _TIME.sub("", text.strip())
    for p in _MONTHS:
        m = p.fullmatch(s)
        if m:
            return _plausible(int(m[1]), int(m[2]), 1)
    try:
        return parse_date(s).replace(day=1)
    except Bad:
        raise Bad(_("年月格式不正确，应为 2026-09、202609 或 2026年9月")) from None


def parse_number(text: str) -> Decimal:
    s = re.sub(r"[\s,，]", "", text)
    if not _NUMBER.fullmatch(s):
        raise Bad(_("不是有效的数字"))
    try:
        value = Decimal(s).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise Bad(_("数值过大")) from None
    if value < 0:
        raise Bad(_("不能为负数"))
    return value


def parse_id(text: str) -> str:
    try:
        return idnumber.parse(text).value
    except idnumber.InvalidIdNumber as exc:
        raise Bad(exc.message) from None


_PARSERS = {"date": parse_date, "month": parse_month, "number": parse_number, "id": parse_id}


_FULLWIDTH = str.maketrans("０１２３４５６７８９Ｘ", "0123456789X")
_LONG_DIGITS = re.compile(r"\d{11}")  # the shortest number pii_scan looks for (a mobile number)


def _scrub(text: str) -> str:
    """Mask any ID, card or mobile number standing in ``text`` (file names, headers, echoed values)."""
    t = text.translate(_FULLWIDTH)
    if not _LONG_DIGITS.search(t):
        return t
    for kind, value in find_numbers(t):
        masked = mask_id(value) if kind == "id_number" else "*" * (len(value) - 4) + value[-4:]
        t = t.replace(value, masked).replace(value.lower(), masked)
    return t


def _echo(text: str) -> str:
    s = _scrub(text)
    return s if len(s) <= ECHO_MAX else s[: ECHO_MAX - 1] + "…"


# --- validating ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    number: int
    person: str  # the normalised ID number (never stored)
    records: list[tuple[Any, ...]]  # (kind, category, amount, quantity, event_date, period, ref)
    raw: dict[str, str]


@dataclass
class Checked:
    """What the validation found; nothing is written yet."""

    layout: Layout
    rows: list[Row] = field(default_factory=list)
    total: int = 0
    skipped: int = 0  # rows that no rule turns into a record
    errors: list[str] = field(default_factory=list)
    error_rows: int = 0
    notes: list[str] = field(default_factory=list)


def _header(sheet: Sheet, lay: Layout) -> tuple[int, dict[str, int], dict[str, str], list[str]]:
    """(index of the header row, column -> cell index, column -> header as written, ignored headers)."""
    search = 1 if sheet.kind == "parquet" else HEADER_SEARCH_ROWS
    person_key = {k for k, c in lay.headers.items() if c == lay.person}
    for i, row in enumerate(sheet.rows[:search]):
        keys = [norm_header(cell_text(c)) for c in row]
        if not person_key & set(keys):
            continue
        index: dict[str, int] = {}
        written: dict[str, str] = {}
        ignored: list[str] = []
        for j, (key, cell) in enumerate(zip(keys, row, strict=True)):
            if not key:
                continue
            col = lay.headers.get(key)
            if col is None:
                ignored.append(_scrub(cell_text(cell))[:40])
            elif col in index:
                raise RejectedFile("duplicate_column", _("列“%(col)s”出现了两次（第 %(a)d 列和第 %(b)d 列），整个文件未导入")
                                   % {"col": written[col], "a": index[col] + 1, "b": j + 1})  # fmt: skip
            else:
                index[col], written[col] = j, cell_text(cell)
        missing = [c for c in lay.required if c not in index]
        if missing:
            msg = _("缺少必需的列：%(cols)s") % {"cols": "、".join(missing)}
            if ignored:
                msg += _("（文件中有本格式不认识的列：%(cols)s）") % {"cols": "、".join(ignored)}
            raise RejectedFile("missing_columns", msg + _("，整个文件未导入"))
        return i, index, written, ignored
    where = _("第一行") if sheet.kind == "parquet" else _("前 %(n)d 行") % {"n": HEADER_SEARCH_ROWS}
    raise RejectedFile("no_header", _("找不到表头：%(where)s中没有“%(col)s”列（%(title)s的格式见 docs/verification-feeds.md），"
                                      "整个文件未导入") % {"where": where, "col": lay.person, "title": lay.title})  # fmt: skip


def validate(sheet: Sheet, lay: Layout, *, today: dt.date) -> Checked:
    """Every row, every column; a structural fault refuses the file (RejectedFile)."""
    hi, index, written, ignored = _header(sheet, lay)
    out = Checked(layout=lay)
    if ignored:
        out.notes.append(_("以下列不属于%(title)s的格式，未读取、未保存：%(cols)s") % {"title": lay.title, "cols": "、".join(ignored)})
    width = len(sheet.rows[hi])
    types = {c: lay.columns[c] for c in index}
    cache: dict[tuple[str, str], Any] = {}
    id_columns = [c for c, t in types.items() if t == "id"]
    for i in range(hi + 1, len(sheet.rows)):
        row = sheet.rows[i]
        number = i + sheet.numbered_from
        if len(row) != width:
            if len(row) < width and any(cell_text(c) for c in row):
                raise RejectedFile("truncated", _("第 %(n)d 行只有 %(got)d 列，表头有 %(want)d 列：文件可能不完整（传输中断）"
                                                  "或该行缺少分隔符，整个文件未导入") % {"n": number, "got": len(row), "want": width})  # fmt: skip
            if any(cell_text(c) for c in row[width:]):
                raise RejectedFile("extra_cells", _("第 %(n)d 行有 %(got)d 列，多于表头的 %(want)d 列（可能是值中含有未加引号的逗号），"
                                                    "整个文件未导入") % {"n": number, "got": len(row), "want": width})  # fmt: skip
        texts = {c: cell_text(row[j]) if j < len(row) else "" for c, j in index.items()}
        if not any(texts.values()):
            continue
        out.total += 1
        errs: list[str] = []

        def err(col: str, message: str, number: int = number, errs: list[str] = errs) -> None:
            errs.append(_("第%(n)d行 %(col)s：%(msg)s") % {"n": number, "col": written.get(col, col), "msg": message})

        values: dict[str, Any] = {}
        got: tuple[bool, Any] | None
        for col, text in texts.items():
            if not text:
                if col in lay.required:
                    err(col, _("不能为空"))
                continue
            typ = types[col]
            if typ == "text":
                if len(text) > 200:
                    err(col, _("超过 200 个字符"))
                values[col] = text
                continue
            cell = row[index[col]]
            if typ == "id" and _lost_digits(cell, sheet.kind):
                err(col, _("身份证号码被存成了数字，末尾几位已丢失：请把本列设为文本格式后重新导出"))
                continue
            key = (typ, text)
            got = cache.get(key)
            if got is None:
                try:
                    got = cache[key] = (True, _PARSERS[typ](text))
                except Bad as exc:
                    msg = exc.message if typ == "id" else _("“%(v)s”%(msg)s") % {"v": _echo(text), "msg": exc.message}
                    got = cache[key] = (False, msg)
            if got[0]:
                values[col] = got[1]
            else:
                err(col, str(got[1]))
        records: list[tuple[Any, ...]] = []
        if not errs:
            for rule in lay.rules:
                if all(texts.get(c, "") in acc or (ANY in acc and texts.get(c, "") != "") for c, acc in rule.when):
                    rec = _record(rule, texts, values, types, today, err)
                    if rec is not None:
                        records.append(rec)
        if errs:
            out.error_rows += 1
            out.errors.extend(errs)
            continue
        if not records:
            out.skipped += 1
            continue
        raw = dict(texts)
        for c in id_columns:
            if raw.get(c):
                raw[c] = mask_id(values[c]) if c in values else "*" * len(raw[c])
        out.rows.append(Row(number, values[lay.person], records, raw))
    return out


def _lost_digits(cell: Any, kind: str) -> bool:
    """An ID number that a spreadsheet kept as a number: Excel holds 15 significant digits, the rest became 0."""
    if isinstance(cell, float):
        return abs(cell) >= 1e15 or not cell.is_integer()
    return kind == "xlsx" and isinstance(cell, int) and not isinstance(cell, bool) and abs(cell) >= 10**15


def _record(rule: Rule, texts: dict[str, str], values: dict[str, Any], types: dict[str, str], today: dt.date,
            err: Any) -> tuple[Any, ...] | None:  # fmt: skip
    """The record one rule makes of a row (``err`` reports a missing or unmapped value; None then)."""
    got: dict[str, Any] = {}
    ok = True
    for name, take in rule.fields.items():
        if take.literal is not None:
            got[name] = take.literal
            continue
        col = next((c for c in take.columns if texts.get(c)), None)
        if take.mapping is not None:
            text = texts.get(col, "") if col else ""
            code = take.mapping.get(text) or take.default
            if not code:
                c = col or take.columns[0]
                if not text:
                    err(c, _("不能为空"))
                else:
                    err(c, _("“%(v)s”不是可识别的值（应为 %(ok)s）") % {"v": _echo(text), "ok": "、".join(take.mapping)})
                ok = False
            got[name] = code
            continue
        if col is None:
            if take.default == TODAY:
                got[name] = today
            elif take.optional:
                got[name] = None
            else:
                names = [c for c in take.columns if c in types] or list(take.columns)
                err(names[0], _("不能为空") if len(names) == 1 else _("%(cols)s 不能都为空") % {"cols": "、".join(names)})
                ok = False
            continue
        value = values.get(col)
        if value is None:  # a column that failed validation was reported already
            ok = False
            continue
        if name == "ref" or name == "category":
            text = value if isinstance(value, str) else cell_text(value)
            if name == "ref" and len(take.columns) > 1:  # a reference of several columns: all the filled ones
                text = "/".join(v if isinstance(v, str) else cell_text(v)
                                for c in take.columns if texts.get(c) and (v := values.get(c)) is not None)  # fmt: skip
            limit = 64 if name == "ref" else 24
            if len(text) > limit:
                err(col, _("超过 %(n)d 个字符") % {"n": limit})
                ok = False
            got[name] = _scrub(text)
            continue
        elif name == "amount" and value >= MAX_AMOUNT or name == "quantity" and value >= MAX_QUANTITY:
            err(col, _("数值过大"))
            ok = False
        got[name] = value
    if not ok:
        return None
    return (got["kind"], got.get("category") or "", got.get("amount"), got.get("quantity"), got.get("event_date"),
            got["period"], got.get("ref") or "")  # fmt: skip


def natural_key(source: str, person_bi: str, rec: tuple[Any, ...]) -> str:
    kind, category, amount, quantity, event_date, period, ref = rec
    parts = (source, kind, person_bi, period.isoformat(), "" if amount is None else f"{amount:.2f}",
             "" if quantity is None else f"{quantity:.2f}", category, event_date.isoformat() if event_date else "", ref)  # fmt: skip
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


# --- ingesting ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    feed: FeedFile  # saved, or (dry run) unsaved; for ``already`` the file's earlier FeedFile
    outcome: str  # loaded | refused | already
    message: str
    dry_run: bool = False
    records: int = 0  # new records stored (or that would be)
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return self.feed.rows_total / self.seconds if self.seconds else 0.0


def ingest(source: str, path_or_bytes: str | Path | bytes, filename: str, actor: Any = None, dry_run: bool = False) -> FeedFile:
    """Ingest one file drop of ``source`` (see the module docstring). Returns its FeedFile: status ``loaded`` or
    ``refused`` (saved unless ``dry_run``); a file loaded before returns that earlier FeedFile unchanged.
    ``ingest_file`` returns the same with the outcome and a message."""
    return ingest_file(source, path_or_bytes, filename, actor=actor, dry_run=dry_run).feed


def ingest_file(source: str, path_or_bytes: str | Path | bytes, filename: str, *, actor: Any = None,
                dry_run: bool = False, today: dt.date | None = None) -> Result:  # fmt: skip
    lay = layout(source)
    if isinstance(path_or_bytes, bytes):
        with tempfile.TemporaryDirectory(prefix="jiuzhu-feed-") as d:
            path = Path(d) / "upload"
            path.write_bytes(path_or_bytes)
            return _ingest(lay, path, filename, actor, dry_run, today or timezone.localdate())
    return _ingest(lay, Path(path_or_bytes), filename, actor, dry_run, today or timezone.localdate())


def _ingest(lay: Layout, path: Path, filename: str, actor: Any, dry_run: bool, today: dt.date) -> Result:
    t0 = time.perf_counter()
    source = lay.source
    name = _scrub(display_name(filename))[:200]
    sha, _sm3 = file_hashes(path) if path.stat().st_size else (hashlib.sha256(b"").hexdigest(), "")
    earlier = FeedFile.objects.filter(source=source, sha256=sha, status=FeedFile.Status.LOADED).first()
    if earlier is not None:
        return Result(earlier, "already", _already(earlier), dry_run, 0, time.perf_counter() - t0)
    ff = FeedFile(source=source, filename=name, sha256=sha, area_code=getattr(actor, "area_id", "") or "",
                  by=actor if getattr(actor, "pk", None) else None)  # fmt: skip
    try:
        sheet = read_file(path, filename)
        checked = validate(sheet, lay, today=today)
    except RejectedFile as exc:
        ff.errors = [_scrub(exc.message)]
        return _refuse(ff, exc.message, actor, dry_run, t0, code=exc.code)
    ff.rows_total = checked.total
    if checked.errors:
        ff.rows_error = checked.error_rows
        ff.errors = _capped([*checked.errors, *checked.notes])
        msg = _("%(n)d 行有错误，整个文件未导入（全部改正后重新提交）") % {"n": checked.error_rows}
        return _refuse(ff, msg, actor, dry_run, t0, code="row_errors")
    plan = _plan(checked, source)
    ff.status = FeedFile.Status.LOADED
    ff.rows_loaded, ff.rows_duplicate, ff.rows_unknown = plan.loaded, plan.duplicate, plan.unknown
    ff.errors = _capped([*checked.notes, *plan.notes])
    if dry_run:
        return Result(ff, "loaded", _("试运行，未保存：") + _summary(ff, checked, len(plan.records)), True,
                      len(plan.records), time.perf_counter() - t0)  # fmt: skip
    try:
        with transaction.atomic():
            ff.save()
            sql = _insert_sql()
            for start in range(0, len(plan.records), WRITE_CHUNK):
                _insert(sql, [(*r[:-1], ff.pk) for r in plan.records[start:start + WRITE_CHUNK]])
            audit_record(action="verification.feed_loaded", actor=actor, obj=ff,
                         detail={"source": source, "sha256": sha, "rows": ff.rows_total, "loaded": ff.rows_loaded,
                                 "duplicate": ff.rows_duplicate, "unknown": ff.rows_unknown,
                                 "records": len(plan.records)})  # fmt: skip
    except IntegrityError:  # the same file loaded at the same moment by someone else
        earlier = FeedFile.objects.filter(source=source, sha256=sha, status=FeedFile.Status.LOADED).first()
        if earlier is None:
            raise
        return Result(earlier, "already", _already(earlier), False, 0, time.perf_counter() - t0)
    return Result(ff, "loaded", _summary(ff, checked, len(plan.records)), False, len(plan.records),
                  time.perf_counter() - t0)  # fmt: skip


@dataclass
class Plan:
    records: list[tuple[Any, ...]]  # FeedRecord rows in the order of ``RECORD_COLUMNS`` (``feed_id`` set at writing)
    notes: list[str]
    loaded: int = 0  # rows with at least one new record
    duplicate: int = 0  # rows whose records are all in the file already, or stored from an earlier file
    unknown: int = 0  # rows of persons not in the registry


RECORD_COLUMNS = ("source", "kind", "person_bi", "area_code", "amount", "quantity", "category", "event_date", "period",
                  "ref", "natural_key", "raw_enc", "at", "feed")  # fmt: skip


def _plan(checked: Checked, source: str) -> Plan:
    """The records to store: persons matched on the blind index; persons not in the registry, duplicates within
    the file and records stored from earlier files left out (the notes say so)."""
    rows = checked.rows
    prov = crypto.provider()
    bis: dict[str, str] = {}
    for r in rows:
        if r.person not in bis:
            bis[r.person] = prov.blind_index(r.person, purpose="id_number")
    areas = _areas(list(set(bis.values())))
    notes: list[str] = []
    unknown = 0
    known: list[tuple[Row, str, list[str]]] = []
    for r in rows:
        bi = bis[r.person]
        if bi not in areas:
            unknown += 1
            notes.append(_("第%(n)d行 %(col)s：登记库中没有此人（%(id)s），未保存") % {
                "n": r.number, "col": checked.layout.person, "id": mask_id(r.person)})  # fmt: skip
            continue
        known.append((r, bi, [natural_key(source, bi, rec) for rec in r.records]))
    first: dict[str, int] = {}
    dup_file = 0
    fresh: list[tuple[Row, str, list[int], list[str]]] = []
    for r, bi, keys in known:
        keep = [i for i, k in enumerate(keys) if k not in first]
        if not keep:
            dup_file += 1
            notes.append(_("第%(n)d行：与第%(m)d行重复，只导入一次") % {"n": r.number, "m": first[keys[0]]})
            continue
        for k in keys:
            first.setdefault(k, r.number)
        fresh.append((r, bi, keep, keys))
    stored = _stored(source, [keys[i] for _r, _bi, keep, keys in fresh for i in keep])
    ops = connection.ops
    day, now = ops.adapt_datefield_value, ops.adapt_datetimefield_value(timezone.now())
    context = f"feed:{source}"
    out: list[tuple[Any, ...]] = []
    dup_db = loaded = 0
    for r, bi, keep, keys in fresh:
        new = [i for i in keep if keys[i] not in stored]
        if not new:
            dup_db += 1
            continue
        loaded += 1
        raw = prov.encrypt(json.dumps(r.raw, ensure_ascii=False, separators=(",", ":")), context=context)
        area = areas[bi]
        for i in new:
            kind, category, amount, quantity, event_date, period, ref = r.records[i]
            out.append((source, kind, bi, area, amount, quantity, category, day(event_date), day(period), ref, keys[i],
                        raw, now, None))  # fmt: skip
    if dup_db:
        notes.append(_("%(n)d 行的记录已在此前导入的文件中，未重复保存") % {"n": dup_db})
    if checked.skipped:
        notes.append(_("%(n)d 行不含核对所需的记录（如非住宅、已注销的车辆），未保存") % {"n": checked.skipped})
    return Plan(out, notes, loaded, dup_file + dup_db, unknown)


def _insert_sql() -> str:
    """One INSERT of a FeedRecord row that skips a record already stored (the unique natural key), as
    ``bulk_create(ignore_conflicts=True)`` would, without building a model instance per row."""
    ops = connection.ops
    meta = FeedRecord._meta
    column = {f.name: f.column for f in meta.concrete_fields}
    cols = ", ".join(ops.quote_name(column[c]) for c in RECORD_COLUMNS)
    suffix = ops.on_conflict_suffix_sql([], OnConflict.IGNORE, None, None)
    return (f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} {ops.quote_name(meta.db_table)} ({cols}) "
            f"VALUES ({', '.join(['%s'] * len(RECORD_COLUMNS))}) {suffix}").strip()  # fmt: skip


def _insert(sql: str, rows: list[tuple[Any, ...]]) -> None:
    with connection.cursor() as cur:
        cur.executemany(sql, rows)


def _areas(bis: list[str]) -> dict[str, str]:
    """blind index -> the registry person's area code, for the persons in the file (batched)."""
    from jiuzhu.registry.models import Person

    out: dict[str, str] = {}
    for start in range(0, len(bis), LOOKUP_CHUNK):
        out.update(Person.objects.filter(id_number_bi__in=bis[start:start + LOOKUP_CHUNK])
                   .values_list("id_number_bi", "area_code"))  # fmt: skip
    return out


def _stored(source: str, keys: list[str]) -> set[str]:
    out: set[str] = set()
    for start in range(0, len(keys), LOOKUP_CHUNK):
        out.update(FeedRecord.objects.filter(source=source, natural_key__in=keys[start:start + LOOKUP_CHUNK])
                   .values_list("natural_key", flat=True))  # fmt: skip
    return out


def _capped(messages: list[str]) -> list[str]:
    if len(messages) <= MAX_ERRORS:
        return messages
    return [*messages[: MAX_ERRORS - 1], _("……另有 %(n)d 条未列出") % {"n": len(messages) - MAX_ERRORS + 1}]


def _summary(ff: FeedFile, checked: Checked, records: int) -> str:
    return _("%(title)s：共 %(total)d 行，导入 %(loaded)d 行（%(records)d 条记录），重复 %(dup)d 行，登记库中无此人 %(unknown)d 行"
             "（未保存），无需导入 %(skipped)d 行") % {
        "title": checked.layout.title, "total": ff.rows_total, "loaded": ff.rows_loaded, "records": records,
        "dup": ff.rows_duplicate, "unknown": ff.rows_unknown, "skipped": checked.skipped}  # fmt: skip


def _already(ff: FeedFile) -> str:
    when = timezone.localtime(ff.at).strftime("%Y-%m-%d %H:%M") if ff.at else ""
    return _("该文件已于 %(when)s 导入（导入记录 #%(id)s，%(n)d 行），本次未作任何更改") % {"when": when, "id": ff.pk, "n": ff.rows_loaded}


def _refuse(ff: FeedFile, message: str, actor: Any, dry_run: bool, t0: float, *, code: str) -> Result:
    ff.status = FeedFile.Status.REFUSED
    ff.rows_loaded = ff.rows_duplicate = ff.rows_unknown = 0
    text = _("文件已拒绝：%(msg)s") % {"msg": _scrub(message)}
    if not dry_run:
        ff.save()
        audit_record(action="verification.feed_refused", actor=actor, obj=ff, result="refused",
                     detail={"source": ff.source, "sha256": ff.sha256, "code": code, "rows": ff.rows_total,
                             "errors": ff.rows_error})  # fmt: skip
    return Result(ff, "refused", (_("试运行：") if dry_run else "") + text, dry_run, 0, time.perf_counter() - t0)


def sources_with_layouts() -> Iterator[str]:
    for key in SOURCES:
        if (FEEDS_DIR / f"{key}.yaml").exists():
            yield key


def layouts_markdown() -> str:
    """The layouts as docs/verification-feeds.md shows them (the page embeds this text; a test keeps it true)."""
    types = {"id": "ID number", "text": "text", "number": "number", "date": "date", "month": "month"}
    out: list[str] = []
    for key in sources_with_layouts():
        lay = layout(key)
        doc = yaml.safe_load((FEEDS_DIR / f"{key}.yaml").read_text(encoding="utf-8"))
        aliases = doc.get("aliases") or {}
        out += [f"### `{key}` — {SOURCES[key].label}：{lay.title}", "", "| column | type | required | also accepted as |",
                "|---|---|---|---|"]  # fmt: skip
        for c, t in lay.columns.items():
            out.append(f"| {c} | {types[t]} | {'yes' if c in lay.required else ''} | {'、'.join(aliases.get(c, []))} |")
        out.append("")
        for rule in lay.rules:
            conds = []
            for c, acc in rule.when:
                if acc == {ANY}:
                    conds.append(f"{c} is filled")
                elif len(acc) == 1:
                    conds.append(f"{c} = {next(iter(acc)) or '(blank)'}")
                else:
                    conds.append(f"{c} ∈ {{{', '.join(sorted(v or '(blank)' for v in acc))}}}")
            parts = []
            for name, take in rule.fields.items():
                if take.literal is not None:
                    parts.append(f"{name} `{take.literal}`")
                elif take.mapping is not None:
                    pairs = ", ".join(f"{k}→{v}" for k, v in take.mapping.items())
                    parts.append(f"{name} from {take.columns[0]} ({pairs}{'; any other → ' + take.default if take.default else ''})")
                else:
                    extra = " (optional)" if take.optional else " (blank: the day of the ingest)" if take.default == TODAY else ""
                    joined = " + ".join(take.columns) if name == "ref" else " or ".join(take.columns)
                    parts.append(f"{name} ← {joined}{extra}")
            out.append(f"- {' and '.join(conds) or 'every row'}: {'; '.join(parts)}")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
