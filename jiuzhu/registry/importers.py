"""Import of households and persons from the spreadsheet a township actually fills in (docs/import-format.md).

One row per person, Chinese headers, rows of one household share a ``户编号`` that only means something inside
the file. The import follows pretix's ``modelimport``: read everything, validate every row and collect every
error as (Excel row, column header, message); if there is any error nothing is written and the user gets an
error-report workbook (the original rows plus ``错误说明``, error cells highlighted); otherwise everything is
written in one short transaction with ``bulk_create`` and ONE audit event (SECURITY FILE-IDEM: all or nothing,
and a file whose hash was imported once is refused with a pointer to that import).

The work runs as a ``batch.JobRun`` (kind ``registry_import``) so the web page can show progress; with
``settings.JIUZHU_JOBS_INLINE`` it runs synchronously (tests, CLI). Field rules come from
``registry.validation`` so forms, the API and the import agree; encryption from ``registry.services``.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import logging
import os
import re
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import python_calamine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from jiuzhu.accounts import roles
from jiuzhu.batch.models import JobRun
from jiuzhu.core import crypto
from jiuzhu.core.audit import audit_record
from jiuzhu.core.cells import cell_text
from jiuzhu.core.files import (
    MAX_SHEET_COLS,
    MAX_SHEET_ROWS,
    CheckedFile,
    RejectedFile,
    check_upload,
    display_name,
)
from jiuzhu.core.i18n import source_labels
from jiuzhu.core.models import Division
from jiuzhu.core.scoping import area_visible, can

from .models import ChangeRecord, Household, Membership, Person, Relation, UrbanRural
from .services import SNAPSHOT_EXCLUDE, _apply_bank, _apply_person
from .validation import clean_bank_account, clean_person

log = logging.getLogger(__name__)

KIND = "registry_import"
BATCH = 2000
PROGRESS_EVERY = 5000
MAX_ERRORS_STORED = 200  # on the JobRun; the error workbook has all of them
HEADER_SEARCH_ROWS = 10
STALE_AFTER = dt.timedelta(hours=1)  # a job still pending/running after this was lost (process restart)
REPORT_RETENTION = dt.timedelta(days=30)
EXAMPLE_KEY = "示例"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool = False
    household_level: bool = False  # one value per household: every non-blank value in the household must agree
    aliases: tuple[str, ...] = ()
    note: str = ""
    example: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("household_key", "户编号", True, note="本文件内区分家庭的编号：同一户的成员填相同编号（如 1、2、3）。"
           "正式户编号由系统分配。填“示例”的行不导入。", example=EXAMPLE_KEY),
    Column("village", "村(社区)代码", True, True, ("村（社区）代码", "村社区代码", "村(居)代码", "村居代码", "村级区划代码"),
           "12位统计用区划代码，须在您的管辖范围内，见“村（社区）代码”表。", "610902100001"),
    Column("urban_rural", "城乡类别", False, True, note="城市 或 农村；不填时按村（社区）的城乡分类确定。", example="农村"),
    Column("address", "居住地址", False, True, ("家庭住址", "住址"), "最多200字。", "一组12号"),
    Column("name", "姓名", True, note="汉字或字母，少数民族姓名可含间隔号“·”。", example="张三"),
    Column("id_number", "身份证号", True, aliases=("身份证号码", "公民身份号码", "身份证"),
           note="18位（末位可为X）或15位。请把本列设为“文本”格式，否则 Excel 会把末尾几位变成0。",
           example="610902196001010011"),
    Column("relation", "与户主关系", True, aliases=("家庭关系", "关系"),
           note="户主、配偶、子、女、孙子女、父母、祖父母、兄弟姐妹、其他亲属、非亲属（或 GB/T 4761 代码）。每户须有且只有一名户主。",
           example="户主"),
    Column("phone", "联系电话", aliases=("电话", "手机", "手机号", "手机号码"), note="手机11位或固定电话（区号-号码）。",
           example="13800138000"),
    Column("disability_category", "残疾类别", note="视力、听力、言语、肢体、智力、精神、多重残疾；无残疾留空。", example=""),
    Column("disability_grade", "残疾等级", note="1–4（或 一级…四级），与残疾类别同时填写。", example=""),
    Column("serious_illness", "是否重病", aliases=("重病",), note="是 或 否（留空为否）。", example="否"),
    Column("schooling", "在学情况", note="未入学/非在校、学前、小学在校、初中在校、高中/中职在校、大专/本科在校、研究生在校。",
           example="未入学/非在校"),
    Column("labour_capacity", "劳动能力", note="有劳动能力、部分丧失劳动能力、无劳动能力。", example="有劳动能力"),
    Column("self_care", "生活自理能力", note="生活能自理、部分不能自理、完全不能自理。", example="生活能自理"),
    Column("bank_name", "开户银行", False, True, note="填在户主行。", example="农村信用社"),
    Column("bank_account", "银行账号", False, True, ("银行卡号", "账号"),
           "8–30位数字，填在户主行；请设为“文本”格式。", "6228480000123456789"),
)  # fmt: skip
BY_KEY = {c.key: c for c in COLUMNS}
PERSON_KEYS = ("name", "id_number", "relation", "phone", "disability_category", "disability_grade",
               "serious_illness", "schooling", "labour_capacity", "self_care")  # fmt: skip
# Coded columns take few distinct values in a file, so clean_person's verdict on them is cached per
# combination (Django's ``Choices.choices`` is rebuilt on every access: ~80 µs a row otherwise).
CODED_KEYS = ("relation", "disability_category", "disability_grade", "schooling", "labour_capacity", "self_care")
ROW_KEYS = ("name", "id_number", "phone", "serious_illness")
TEXT_ONLY = {"id_number", "bank_account"}  # a number here has already lost digits in Excel
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_BOOL_WORDS = {"", "是", "否", "有", "无", "1", "0", "y", "n", "yes", "no", "true", "false"}

# GB/T 4761-2008 sub-codes and the words townships use, mapped to the top-level codes the registry keeps.
RELATION_WORDS = {
    "本人": "户主", "夫": "配偶", "妻": "配偶", "丈夫": "配偶", "妻子": "配偶",
    "儿子": "子", "长子": "子", "次子": "子", "独生子": "子", "三子": "子",
    "女儿": "女", "长女": "女", "次女": "女", "独生女": "女", "三女": "女",
    "孙子": "孙子女", "孙女": "孙子女", "外孙子": "孙子女", "外孙女": "孙子女",
    "父亲": "父母", "母亲": "父母", "祖父": "祖父母", "祖母": "祖父母", "外祖父": "祖父母", "外祖母": "祖父母",
    "兄": "兄弟姐妹", "弟": "兄弟姐妹", "姐": "兄弟姐妹", "妹": "兄弟姐妹",
    "哥哥": "兄弟姐妹", "弟弟": "兄弟姐妹", "姐姐": "兄弟姐妹", "妹妹": "兄弟姐妹",
}  # fmt: skip
# Spreadsheet values are Chinese whatever the interface language, so the maps use the Chinese labels.
_RELATION_CODES = {code for code, _label in source_labels(Relation)}
_RELATION_LABELS = {code: code for code in _RELATION_CODES} | {label: code for code, label in source_labels(Relation)}
_URBAN_RURAL = {code: code for code, _label in source_labels(UrbanRural)} | {
    label: code for code, label in source_labels(UrbanRural)}


def _norm_header(text: Any) -> str:
    s = re.sub(r"\s+", "", str(text or "")).translate(str.maketrans("（）＊", "()*"))
    s = s.replace("(必填)", "").strip("*")
    return s


HEADER_INDEX = {_norm_header(a): c.key for c in COLUMNS for a in (c.header, *c.aliases)}


# --- results -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int  # as the user sees it in Excel (1-based, header row included)
    column: str  # the header text in the user's file
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


class AlreadyImported(Exception):
    def __init__(self, job: JobRun):
        self.job = job
        when = timezone.localtime(job.finished_at or job.created_at).strftime("%Y-%m-%d %H:%M")
        if job.status == JobRun.Status.SUCCEEDED:
            self.message = _("该文件已于 %(when)s 成功导入（导入任务 #%(job)s），不能重复导入") % {"when": when, "job": job.pk}
        else:
            self.message = _("该文件正在导入（导入任务 #%(job)s），请等待其完成") % {"job": job.pk}
        super().__init__(self.message)


@dataclass
class Table:
    """The sheet as read: ``rows[i]`` is Excel row ``i + 1``."""

    rows: list[list[Any]]
    header_row: int = 0  # 1-based; 0 = not found
    columns: dict[str, int] = field(default_factory=dict)  # key -> 0-based column index
    headers: dict[str, str] = field(default_factory=dict)  # key -> header text as written by the user
    width: int = 0


@dataclass
class HouseholdPlan:
    key: str
    rows: list[int] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    relations: list[tuple[int, str | None]] = field(default_factory=list)  # (row, code or None if invalid)
    values: dict[str, tuple[str, int]] = field(default_factory=dict)  # household-level key -> (value, first row)
    village: str = ""
    urban_rural: str = ""
    bank_account: str = ""


@dataclass
class Validation:
    table: Table
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    households: list[HouseholdPlan] = field(default_factory=list)
    data_rows: int = 0
    coded: dict[tuple[str, ...], tuple[dict[str, Any], dict[str, str]]] = field(default_factory=dict)

    @property
    def persons(self) -> int:
        return sum(len(h.members) for h in self.households)

    def error(self, row: int, key: str, message: str) -> None:
        header = self.table.headers.get(key) or (BY_KEY[key].header if key in BY_KEY else key)
        if key == "phone":  # validation echoes the number; errors are stored on the JobRun in plain text
            message = _("联系电话格式不正确：手机为11位数字，固定电话为“区号-号码”")
        self.errors.append(RowError(row, header, message))


# --- reading -----------------------------------------------------------------------------------------------------


def read_table(checked: CheckedFile) -> Table:
    if checked.kind == "csv":
        text = checked.path.read_bytes().decode(checked.encoding)
        rows: list[list[Any]] = list(csv.reader(io.StringIO(text, newline="")))
    else:
        with python_calamine.CalamineWorkbook.from_path(str(checked.path)) as wb:
            index = next(
                (i for i, m in enumerate(wb.sheets_metadata)
                 if m.typ == python_calamine.SheetTypeEnum.WorkSheet and m.visible == python_calamine.SheetVisibleEnum.Visible),
                0,
            )  # fmt: skip
            rows = wb.get_sheet_by_index(index).to_python(skip_empty_area=False)
    return Table(rows=rows)


def _lost_digits(value: Any) -> bool:
    if isinstance(value, float):
        return abs(value) >= 1e15 or not value.is_integer()
    return isinstance(value, str) and bool(_SCIENTIFIC.match(value.strip()))


def find_header(v: Validation) -> bool:
    t = v.table
    for i, row in enumerate(t.rows[:HEADER_SEARCH_ROWS]):
        keys = [HEADER_INDEX.get(_norm_header(c)) for c in row]
        if "name" in keys and "id_number" in keys:
            t.header_row = i + 1
            t.width = len(row)
            unknown = []
            for col, (key, raw) in enumerate(zip(keys, row, strict=True)):
                label = cell_text(raw)
                if key is None:
                    if label:
                        unknown.append(label)
                elif key in t.columns:
                    v.errors.append(RowError(i + 1, label, _("列「%(column)s」重复（与第 %(other)s 列相同）") % {"column": label, "other": t.columns[key] + 1}))
                else:
                    t.columns[key], t.headers[key] = col, label
            for c in COLUMNS:
                if c.required and c.key not in t.columns:
                    v.errors.append(RowError(i + 1, c.header, _("缺少必填列「%(column)s」") % {"column": c.header}))
            if unknown:
                v.warnings.append(
                    _("以下列不属于导入模板，已忽略、不会保存：%(columns)s")
                    % {"columns": "、".join(unknown[:20]) + (_("等") if len(unknown) > 20 else "")}
                )
            return True
    v.errors.append(RowError(1, "", _("没有找到表头：前10行中须有一行包含「姓名」「身份证号」等列名（请使用导入模板）")))
    return False


# --- validation --------------------------------------------------------------------------------------------------


def validate(checked: CheckedFile, actor: Any, *, progress: Any = None) -> Validation:
    """Every row, every rule; nothing is written. ``progress(done, total)`` is called now and then."""
    try:
        v = Validation(table=read_table(checked))
    except Exception:  # noqa: BLE001 - any parser failure is the file's fault, reported as such
        log.warning("import: unreadable file", exc_info=True)
        v = Validation(table=Table(rows=[]))
        v.errors.append(RowError(1, "", _("文件内容无法读取（格式损坏或不是表格），请用 Excel/WPS 重新另存为 .xlsx")))
        return v
    if len(v.table.rows) > MAX_SHEET_ROWS or any(len(r) > MAX_SHEET_COLS for r in v.table.rows):
        v.errors.append(RowError(1, "", _("表格超过上限（最多 %(rows)s 行、%(cols)s 列），请分批导入")
                                 % {"rows": f"{MAX_SHEET_ROWS - 1:,}", "cols": MAX_SHEET_COLS}))
        return v
    if not find_header(v) or v.errors:
        return v
    t = v.table
    first = t.header_row  # data starts at index `first` (Excel row first + 1)
    total = len(t.rows) - first
    if progress:
        progress(0, total)
    households: dict[str, HouseholdPlan] = {}
    seen_ids: dict[str, int] = {}
    cols = list(t.columns.items())
    for i in range(first, len(t.rows)):
        raw = t.rows[i]
        rownum = i + 1
        values = {k: (cell_text(raw[c]) if c < len(raw) else "") for k, c in cols}
        if not any(values.values()):
            continue
        if values.get("household_key") == EXAMPLE_KEY:
            v.warnings.append(_("第 %(row)s 行是模板示例行（户编号为“%(example)s”），已跳过") % {"row": rownum, "example": EXAMPLE_KEY})
            continue
        v.data_rows += 1
        cleaned, relation = _validate_row(v, rownum, raw, values, seen_ids)
        key = values.get("household_key", "")
        if not key:
            v.error(rownum, "household_key", _("户编号不能为空（同一户的成员填相同编号）"))
            continue
        hh = households.get(key)
        if hh is None:
            hh = households[key] = HouseholdPlan(key=key)
        hh.rows.append(rownum)
        hh.relations.append((rownum, relation))
        for c in COLUMNS:
            if c.household_level and values.get(c.key):
                _household_value(v, hh, c, values[c.key], rownum)
        if cleaned is not None:
            cleaned["_row"] = rownum
            hh.members.append(cleaned)
        if progress and (i - first) % PROGRESS_EVERY == 0:
            progress(i - first, total)
    v.households = list(households.values())
    _validate_households(v, actor)
    _check_registered(v, actor)
    if progress:
        progress(total, total)
    v.errors.sort(key=lambda e: e.row)
    return v


def _validate_row(
    v: Validation, rownum: int, raw: list[Any], values: dict[str, str], seen: dict[str, int]
) -> tuple[dict[str, Any] | None, str | None]:
    """Cleaned person fields (None if the row has an error) and the relation code (None if invalid)."""
    reported: set[str] = set()  # one message per cell
    for key in TEXT_ONLY & v.table.columns.keys():
        c = v.table.columns[key]
        if c < len(raw) and _lost_digits(raw[c]):
            v.error(rownum, key, _("%(column)s被存成了数字，末尾几位已丢失：请把该列设为“文本”格式后重新填写") % {"column": BY_KEY[key].header})
            reported.add(key)
    data = {k: values.get(k, "") for k in PERSON_KEYS}
    rel = data["relation"]
    if rel.isdigit() and len(rel) <= 2:
        rel = rel.zfill(2)
        rel = rel if rel in _RELATION_CODES or rel == "01" else rel[0] + "0"
        data["relation"] = "02" if rel == "01" else rel
    else:
        data["relation"] = RELATION_WORDS.get(rel, rel)
    relation = data["relation"] if data["relation"] in _RELATION_LABELS else None
    if not values.get("relation"):
        v.error(rownum, "relation", _("与户主关系不能为空"))
        reported.add("relation")
    if data["serious_illness"].lower() not in _BOOL_WORDS:
        v.error(rownum, "serious_illness", _("是否重病「%(value)s」无效，请填 是 或 否") % {"value": data["serious_illness"]})
        reported.add("serious_illness")
    cleaned, errors = _clean(data, ROW_KEYS)
    combo = tuple(data[k] for k in CODED_KEYS)
    coded, coded_errors = v.coded.get(combo) or v.coded.setdefault(combo, _clean(data, CODED_KEYS))
    errors |= coded_errors
    for k, msg in errors.items():
        if k not in reported:
            v.error(rownum, k if k in BY_KEY else "name", msg)
    if errors:
        return None, relation
    cleaned |= coded
    relation = cleaned["relation"]
    if reported:
        return None, relation
    idv = cleaned["id_number"].value
    if idv in seen:
        v.error(rownum, "id_number", _("与第 %(row)s 行的身份证号重复") % {"row": seen[idv]})
        return None, relation
    seen[idv] = rownum
    return cleaned, relation


def _clean(data: dict[str, Any], keys: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, str]]:
    """``clean_person`` on some keys: (cleaned values, {} ) or ({}, {key: first message})."""
    try:
        return clean_person({k: data[k] for k in keys}, partial=True), {}
    except ValidationError as exc:
        return {}, {k: msgs[0] for k, msgs in exc.message_dict.items()}


def _household_value(v: Validation, hh: HouseholdPlan, c: Column, value: str, rownum: int) -> None:
    if c.key == "bank_account":
        try:
            value = clean_bank_account(value)
        except ValidationError as exc:
            v.error(rownum, c.key, exc.message_dict["bank_account"][0])
            return
    prev = hh.values.get(c.key)
    if prev is None:
        hh.values[c.key] = (value, rownum)
    elif prev[0] != value:
        v.error(rownum, c.key, _("同一户（户编号「%(key)s」）的%(column)s与第 %(row)s 行不一致：本列每户只填一个值，以户主行为准")
                % {"key": hh.key, "column": c.header, "row": prev[1]})


def _validate_households(v: Validation, actor: Any) -> None:
    codes = {hv.values["village"][0] for hv in v.households if "village" in hv.values}
    villages = {
        d.code: d
        for chunk in _chunks(sorted(c for c in codes if len(c) == 12 and c.isdigit()), 500)
        for d in Division.objects.filter(code__in=chunk, level=Division.Level.VILLAGE)
    }
    for hh in v.households:
        if all(code is not None for _, code in hh.relations):  # an invalid relation is reported already
            heads = [row for row, code in hh.relations if code is not None and _RELATION_LABELS[code] == Relation.HEAD]
            if not heads:
                v.error(hh.rows[0], "relation", _("户编号「%(key)s」没有户主：每户须有且只有一名户主") % {"key": hh.key})
            for row in heads[1:]:
                v.error(row, "relation", _("户编号「%(key)s」有多名户主（第 %(row)s 行已是户主）") % {"key": hh.key, "row": heads[0]})
        if "village" not in hh.values:
            v.error(hh.rows[0], "village", _("户编号「%(key)s」没有填写村(社区)代码") % {"key": hh.key})
            continue
        code, row = hh.values["village"]
        division = villages.get(code)
        if not (len(code) == 12 and code.isdigit()):
            v.error(row, "village", _("村(社区)代码「%(code)s」应为12位数字") % {"code": code})
        elif division is None:
            v.error(row, "village", _("村(社区)代码「%(code)s」不存在（请查阅模板中的“村（社区）代码”表）") % {"code": code})
        elif division.valid_to is not None:
            v.error(row, "village", _("村(社区)代码「%(code)s」已撤销，请使用调整后的代码") % {"code": code})
        elif not area_visible(actor, code, roles.IMPORT):
            v.error(row, "village", _("村(社区)代码「%(code)s」（%(name)s）不在您的管辖范围内") % {"code": code, "name": division.name})
        else:
            hh.village = code
            ur, ur_row = hh.values.get("urban_rural", ("", row))
            if ur:
                hh.urban_rural = _URBAN_RURAL.get(ur, "")
                if not hh.urban_rural:
                    v.error(ur_row, "urban_rural", _("城乡类别「%(value)s」无效，请填 城市 或 农村") % {"value": ur})
            elif division.urban_rural_class:
                hh.urban_rural = UrbanRural.URBAN if division.is_urban else UrbanRural.RURAL
            else:
                v.error(row, "urban_rural", _("请填写城乡类别（城市 或 农村）：该村（社区）没有城乡分类代码"))
        hh.bank_account = hh.values.get("bank_account", ("", 0))[0]
        if len(hh.values.get("address", ("",))[0]) > 200:
            v.error(hh.values["address"][1], "address", _("居住地址不能超过200字"))
        if len(hh.values.get("bank_name", ("",))[0]) > 64:
            v.error(hh.values["bank_name"][1], "bank_name", _("开户银行不能超过64字"))


def _check_registered(v: Validation, actor: Any) -> None:
    """Already in the registry (blind index, batched, no per-row query)."""
    by_bi: dict[str, dict[str, Any]] = {}
    for hh in v.households:
        for m in hh.members:
            m["_bi"] = crypto.blind_index(m["id_number"].value, purpose="id_number")
            by_bi[m["_bi"]] = m
    for chunk in _chunks(list(by_bi), 2000):
        for bi, area, hno in Person.objects.filter(id_number_bi__in=chunk).values_list(
            "id_number_bi", "area_code", "household__household_no"
        ):
            if hno and area_visible(actor, area, roles.VIEW):
                msg = _("该身份证号已在系统中登记（户 %(household)s）") % {"household": hno}
            else:
                msg = _("该身份证号已在系统中登记（不在您的管辖范围内，请与相关乡镇核实）")
            v.error(by_bi[bi]["_row"], "id_number", msg)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --- writing -----------------------------------------------------------------------------------------------------


def _allocate_household_numbers(villages: Iterable[str]) -> dict[str, int]:
    """Next free sequence per village, as ``services.next_household_no`` does one at a time."""
    out: dict[str, int] = {}
    for code in set(villages):
        prefix = f"H{code}"
        # a range rather than startswith: LIKE cannot use the unique index on SQLite (one scan per village)
        last = (
            Household.objects.filter(household_no__gte=prefix, household_no__lt=prefix + ":")
            .order_by("-household_no").values_list("household_no", flat=True).first()
        )
        out[code] = int(last[len(prefix):]) + 1 if last else 1
    return out


def write(v: Validation, *, actor: Any, job: JobRun, filename: str) -> dict[str, int]:
    """All or nothing. Ciphertexts, blind indexes and rows are built before the transaction, so the write
    lock (SQLite) is held only for the inserts."""
    reason = f"批量导入 {filename}"[:200]
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    today = ops.adapt_datefield_value(timezone.localdate())
    households: list[dict[str, Any]] = []
    persons: list[dict[str, Any]] = []
    for plan in v.households:
        head = next(m for m in plan.members if m["relation"] == Relation.HEAD)
        h = _defaults(Household) | {
            "area_id": plan.village, "area_code": plan.village, "urban_rural": plan.urban_rural,
            "address": plan.values.get("address", ("",))[0], "bank_name": plan.values.get("bank_name", ("",))[0],
            "hukou_area_code": plan.village[:6], "head_name": head["name"], "member_count": len(plan.members),
            "created_at": now, "updated_at": now,
        }  # fmt: skip
        _apply_bank(cast(Household, _Attrs(h)), plan.bank_account)
        households.append(h)
        for m in plan.members:
            p = _defaults(Person) | {"area_code": plan.village, "created_at": now, "updated_at": now, "_household": h}
            cleaned = {k: val for k, val in m.items() if not k.startswith("_")}
            cleaned["urban_rural"] = plan.urban_rural
            _apply_person(cast(Person, _Attrs(p)), cleaned)
            persons.append(p)
    actor_id = actor.pk if getattr(actor, "pk", None) else None
    username = getattr(actor, "username", "") or "system"
    with transaction.atomic():
        earlier = _earlier_import(job.params.get("sha256", ""), exclude=job.pk)
        if earlier is not None:
            raise AlreadyImported(earlier)
        seq = _allocate_household_numbers(h["area_code"] for h in households)
        for h in households:
            n = seq[h["area_code"]]
            if n > 99999:
                raise ValidationError(f"村(社区) {h['area_code']} 的户编号已用尽")
            h["household_no"] = f"H{h['area_code']}{n:05d}"
            seq[h["area_code"]] = n + 1
        for h, pk in zip(households, _reserve_ids(Household, len(households)), strict=True):
            h["id"] = pk
        for p, pk in zip(persons, _reserve_ids(Person, len(persons)), strict=True):
            p["id"], p["household_id"] = pk, p["_household"]["id"]
        _insert(Household, households)
        _insert(Person, persons)
        _insert(Membership, [
            {"person_id": p["id"], "household_id": p["household_id"], "area_code": p["area_code"],
             "relation": p["relation"], "joined_on": today, "left_on": None, "reason": reason}
            for p in persons
        ])  # fmt: skip
        change = {"action": "create", "before": None, "reason": reason, "actor_id": actor_id,
                  "actor_username": username, "at": now}  # fmt: skip
        _insert(ChangeRecord, [
            change | {"object_type": kind, "object_id": row["id"], "household_id": hid, "area_code": row["area_code"],
                      "after": _snapshot(model, row)}
            for kind, model, rows in (("person", Person, persons), ("household", Household, households))
            for row in rows
            for hid in (row["household_id"] if model is Person else row["id"],)
        ])  # fmt: skip
        counts = {"rows": v.data_rows, "households": len(households), "persons": len(persons), "errors": 0,
                  "villages": len(seq)}  # fmt: skip
        audit_record(
            action="registry.import", actor=actor, object_type="batch.jobrun", object_id=job.pk,
            object_area=job.area_code,
            detail={"filename": filename, "sm3": job.params.get("sm3", ""), "sha256": job.params.get("sha256", ""),
                    "households": len(households), "persons": len(persons), "rows": v.data_rows,
                    "warnings": len(v.warnings)},
        )  # fmt: skip
        JobRun.objects.filter(pk=job.pk).update(
            status=JobRun.Status.SUCCEEDED, done=job.total, counts=counts | {"warnings": v.warnings[:50]},
            finished_at=timezone.now(), message=_("导入成功：%(households)s 户 %(persons)s 人") % {"households": len(households), "persons": len(persons)},
        )
    return counts


# Bulk insertion. Django's bulk_create spends ~100 µs of Python per object preparing values field by field
# (measured: 370k objects for a 100k-person file take over 40 s), so rows are written as plain tuples with
# executemany; ids are reserved first (one query) because later rows refer to them. Values are already what
# the driver takes (str, int, bool, None); dates and JSON go through the backend's own adapters.


class _Attrs:
    """Lets ``services._apply_person``/``_apply_bank`` (setattr-based) fill a plain dict, so the encryption,
    blind-index and masking rules stay in one place without building 135k model instances."""

    row: dict[str, Any]

    def __init__(self, row: dict[str, Any]):
        object.__setattr__(self, "row", row)

    def __setattr__(self, name: str, value: Any) -> None:
        self.row[name] = value


_DEFAULTS: dict[type[models.Model], dict[str, Any]] = {}


def _defaults(model: type[models.Model]) -> dict[str, Any]:
    if model not in _DEFAULTS:
        _DEFAULTS[model] = {f.attname: f.get_default() for f in model._meta.concrete_fields if not f.primary_key}
    return _DEFAULTS[model]


_SNAPSHOT_FIELDS: dict[type[models.Model], tuple[list[str], list[str]]] = {}


def _snapshot(model: type[models.Model], row: dict[str, Any]) -> Any:
    """What ``services.snapshot`` records for a new object, computed from the row (masked values only)."""
    if model not in _SNAPSHOT_FIELDS:
        fields = [f for f in model._meta.concrete_fields if f.attname not in SNAPSHOT_EXCLUDE]
        _SNAPSHOT_FIELDS[model] = (
            [f.attname for f in fields],
            [f.attname for f in fields if f.get_internal_type() in ("DateField", "DateTimeField")],
        )
    names, dates = _SNAPSHOT_FIELDS[model]
    out = {n: row[n] for n in names}
    for n in dates:
        if out[n] is not None:
            out[n] = out[n].isoformat()
    if model is Person:
        out["diagnosis"] = "（已加密）" if row["diagnosis_enc"] else ""
    return connection.ops.adapt_json_value(out, None)


def _reserve_ids(model: type[models.Model], n: int) -> list[int]:
    """``n`` fresh primary keys. PostgreSQL: from the identity sequence. SQLite: the write transaction is
    IMMEDIATE, so nobody else inserts until commit; start above both MAX(id) and the AUTOINCREMENT high-water
    mark so an id of a deleted row is never reused."""
    if n == 0:
        return []
    table = model._meta.db_table
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n])
            return [r[0] for r in cur.fetchall()]
        if connection.vendor != "sqlite":
            raise NotImplementedError(f"bulk import on {connection.vendor}")
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {qn(table)}")  # noqa: S608 - model table name
        top = cur.fetchone()[0]
        cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cur.fetchone()
        start = max(top, row[0] if row else 0) + 1
    return list(range(start, start + n))


def _insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and "id" not in rows[0])]
    names = [f.attname for f in fields]
    adapt = connection.ops.adapt_datefield_value
    dates = [i for i, f in enumerate(fields) if f.get_internal_type() == "DateField"]
    qn = connection.ops.quote_name
    columns = f"{qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)})"
    if connection.vendor == "postgresql":  # COPY: one stream instead of one statement per row
        with connection.cursor() as cur, cur.cursor.copy(f"COPY {columns} FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[n] for n in names])
        return
    sql = f"INSERT INTO {columns} VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    with connection.cursor() as cur:
        for chunk in _chunks(rows, BATCH):
            params = []
            for row in chunk:
                values = [row[n] for n in names]
                for i in dates:
                    if isinstance(values[i], dt.date):
                        values[i] = adapt(values[i])
                params.append(values)
            cur.executemany(sql, params)


def _earlier_import(sha256: str, *, exclude: int | None = None) -> JobRun | None:
    if not sha256:
        return None
    qs = JobRun.objects.filter(kind=KIND, params__sha256=sha256, status=JobRun.Status.SUCCEEDED)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.order_by("created_at").first()


# --- the job -----------------------------------------------------------------------------------------------------


def imports_dir() -> Path:
    d = Path(settings.MEDIA_ROOT) / "imports"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def stage_upload(chunks: Iterable[bytes]) -> Path:
    """Copy an upload under a random name outside any web root, readable by this user only."""
    path = imports_dir() / f"{secrets.token_hex(16)}.upload"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        for chunk in chunks:
            f.write(chunk)
    return path


def import_prepare(*, actor: Any, path: Path, filename: str) -> JobRun:
    """Check the staged file (hostile-file guard, duplicate file) and create the pending job. On refusal the
    staged file is deleted, an audit event is written and RejectedFile / AlreadyImported is raised."""
    name = display_name(filename)
    if not can(actor, roles.IMPORT):
        path.unlink(missing_ok=True)
        raise RejectedFile("forbidden", _("您没有批量导入的权限"))
    try:
        checked = check_upload(path, name)
    except RejectedFile as exc:
        path.unlink(missing_ok=True)
        audit_record(action="registry.import", actor=actor, result="rejected", object_type="batch.jobrun",
                     object_area=actor.area_id or "", detail={"filename": name, "reason": exc.code})
        raise
    earlier = _earlier_import(checked.sha256) or JobRun.objects.filter(
        kind=KIND, params__sha256=checked.sha256, status__in=[JobRun.Status.PENDING, JobRun.Status.RUNNING],
        created_at__gte=timezone.now() - STALE_AFTER,
    ).first()
    if earlier is not None:
        path.unlink(missing_ok=True)
        audit_record(action="registry.import", actor=actor, result="rejected", object_type="batch.jobrun",
                     object_id=earlier.pk, object_area=actor.area_id or "",
                     detail={"filename": name, "reason": "duplicate_file", "sm3": checked.sm3})
        raise AlreadyImported(earlier)
    return JobRun.objects.create(
        kind=KIND, area_code=actor.area_id, created_by=actor, status=JobRun.Status.PENDING,
        params={"filename": name, "stored": path.name, "kind": checked.kind, "encoding": checked.encoding,
                "size": checked.size, "sha256": checked.sha256, "sm3": checked.sm3,
                "language": translation.get_language() or settings.LANGUAGE_CODE},
        message=_("等待开始"),
    )  # fmt: skip


def import_start(job: JobRun) -> None:
    """Run now (``JIUZHU_JOBS_INLINE``) or in a background thread once the job row is committed."""
    if getattr(settings, "JIUZHU_JOBS_INLINE", False):
        import_run(job.pk)
        return

    def _thread() -> None:
        try:
            import_run(job.pk)
        finally:
            connection.close()

    transaction.on_commit(lambda: threading.Thread(target=_thread, name=f"import-{job.pk}", daemon=True).start())


def import_run(job_id: int) -> JobRun:
    """Run a pending job. Its messages and errors are stored in the language of the upload request (the job
    may run in another thread, which would otherwise use the default language)."""
    job = JobRun.objects.select_related("created_by").get(pk=job_id, kind=KIND)
    if job.status != JobRun.Status.PENDING:
        return job
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        return _run(job)


def _run(job: JobRun) -> JobRun:
    JobRun.objects.filter(pk=job.pk).update(status=JobRun.Status.RUNNING, message=_("正在读取和校验"))
    path = imports_dir() / Path(job.params["stored"]).name
    p = job.params
    checked = CheckedFile(path=path, kind=p["kind"], size=p["size"], sha256=p["sha256"], sm3=p["sm3"],
                          encoding=p.get("encoding", ""))  # fmt: skip
    actor = job.created_by

    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total
        JobRun.objects.filter(pk=job.pk).update(done=done, total=total)

    try:
        v = validate(checked, actor, progress=progress)
        if v.errors:
            _fail_with_report(job, v, actor)
        else:
            JobRun.objects.filter(pk=job.pk).update(message=_("校验通过，正在写入数据库"))
            write(v, actor=actor, job=job, filename=p["filename"])
    except AlreadyImported as exc:
        _finish(job, JobRun.Status.FAILED, exc.message)
    except IntegrityError:
        log.warning("import job %s hit a constraint while writing", job.pk, exc_info=True)
        _finish(job, JobRun.Status.FAILED, _("写入时与其他人同时登记的数据冲突（身份证号或户编号），未写入任何数据，请重新上传"))
    except Exception:
        log.exception("import job %s failed", job.pk)
        _finish(job, JobRun.Status.FAILED, _("导入出错，未写入任何数据；请联系系统管理员（任务编号 %(job)s）") % {"job": job.pk})
    finally:
        path.unlink(missing_ok=True)  # the upload holds plaintext personal data: keep it no longer than needed
    job.refresh_from_db()
    return job


def _finish(job: JobRun, status: str, message: str, **extra: Any) -> None:
    JobRun.objects.filter(pk=job.pk).update(status=status, message=message[:255], finished_at=timezone.now(), **extra)


def _fail_with_report(job: JobRun, v: Validation, actor: Any) -> None:
    result = save_error_report(job, error_workbook(v))
    n = len(v.errors)
    message = ngettext("发现 %(n)s 处错误，未导入任何数据。请下载错误报告，改正后重新上传。",
                       "发现 %(n)s 处错误，未导入任何数据。请下载错误报告，改正后重新上传。", n) % {"n": n}
    _finish(
        job, JobRun.Status.FAILED, message,
        errors=[e.as_dict() for e in v.errors[:MAX_ERRORS_STORED]], result_file=result,
        counts={"rows": v.data_rows, "households": len(v.households), "persons": 0, "errors": n,
                "warnings": v.warnings[:50]},
    )  # fmt: skip
    audit_record(action="registry.import", actor=actor, result="failed", object_type="batch.jobrun", object_id=job.pk,
                 object_area=job.area_code,
                 detail={"filename": job.params.get("filename", ""), "sm3": job.params.get("sm3", ""),
                         "rows": v.data_rows, "errors": n})  # fmt: skip


def import_file(*, actor: Any, path: str | Path, filename: str | None = None) -> JobRun:
    """Synchronous import of a file on disk (CLI, benchmark, tests): same checks and job as the web."""
    src = Path(path)
    with open(src, "rb") as f:
        staged = stage_upload(iter(lambda: f.read(1024 * 1024), b""))
    job = import_prepare(actor=actor, path=staged, filename=filename or src.name)
    return import_run(job.pk)


def import_cleanup(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Housekeeping for a periodic job (PRIV-MIN): mark jobs lost in a restart as failed, delete staged
    uploads they left behind, and delete error reports (which repeat personal data) after REPORT_RETENTION."""
    now = now or timezone.now()
    stale = JobRun.objects.filter(kind=KIND, status__in=[JobRun.Status.PENDING, JobRun.Status.RUNNING],
                                  created_at__lt=now - STALE_AFTER)  # fmt: skip
    out = {"stale_jobs": 0, "uploads": 0, "reports": 0}
    for job in stale:
        (imports_dir() / Path(job.params.get("stored", "missing")).name).unlink(missing_ok=True)
        _finish(job, JobRun.Status.FAILED, _("任务中断（服务重启），未写入任何数据，请重新上传"))
        out["stale_jobs"] += 1
    live = {Path(p.get("stored", "")).name for p in JobRun.objects.filter(
        kind=KIND, status__in=[JobRun.Status.PENDING, JobRun.Status.RUNNING]).values_list("params", flat=True)}  # fmt: skip
    for f in imports_dir().glob("*.upload"):
        if f.name not in live and dt.datetime.fromtimestamp(f.stat().st_mtime, tz=dt.UTC) < now - STALE_AFTER:
            f.unlink(missing_ok=True)
            out["uploads"] += 1
    for job in JobRun.objects.filter(kind=KIND, finished_at__lt=now - REPORT_RETENTION).exclude(result_file=""):
        (Path(settings.MEDIA_ROOT) / job.result_file).unlink(missing_ok=True)
        JobRun.objects.filter(pk=job.pk).update(result_file="")
        out["reports"] += 1
    return out


# --- error report and template -----------------------------------------------------------------------------------

REPORT_CONTEXT = "registry.import_errors"


def save_error_report(job: JobRun, data: bytes) -> str:
    """The report repeats the uploaded personal data, so it is stored SM4-encrypted, bound to its job."""
    name = f"imports/{secrets.token_hex(16)}.xlsx.enc"
    token = crypto.encrypt(base64.b64encode(data).decode("ascii"), context=f"{REPORT_CONTEXT}:{job.pk}")
    path = Path(settings.MEDIA_ROOT) / name
    imports_dir()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(token)
    return name


def load_error_report(job: JobRun) -> bytes:
    path = (Path(settings.MEDIA_ROOT) / job.result_file).resolve()
    if not job.result_file or Path(settings.MEDIA_ROOT).resolve() / "imports" != path.parent:
        raise FileNotFoundError(job.result_file)
    token = path.read_text(encoding="ascii")
    return base64.b64decode(crypto.decrypt(token, context=f"{REPORT_CONTEXT}:{job.pk}"))


def error_workbook(v: Validation) -> bytes:
    """Original rows at their original row numbers, an extra ``错误说明`` column, error cells highlighted, and a
    second sheet listing every error. Cells are written as text, never as formulas."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill

    from .exports import clean_xml_text

    t = v.table
    by_row: dict[int, list[RowError]] = defaultdict(list)
    for e in v.errors:
        by_row[e.row].append(e)
    header_to_col = {t.headers.get(k, ""): c for k, c in t.columns.items()}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("导入数据（含错误说明）"))
    fill = PatternFill("solid", fgColor="FFC7CE")
    red = Font(color="9C0006")
    bold_red = Font(color="9C0006", bold=True)
    width = max((len(r) for r in t.rows), default=1)
    last = max([len(t.rows), *by_row.keys()]) if by_row else len(t.rows)

    def text_cell(value: Any, **style: Any) -> WriteOnlyCell:
        cell = WriteOnlyCell(ws, clean_xml_text(cell_text(value)) if value not in (None, "") else None)
        if cell.value is not None:
            cell.data_type = "s"
            cell.quotePrefix = True
        cell.number_format = "@"
        for k, val in style.items():
            setattr(cell, k, val)
        return cell

    for i in range(last):
        raw = t.rows[i] if i < len(t.rows) else []
        rownum = i + 1
        errs = by_row.get(rownum, [])
        bad_cols = {header_to_col.get(e.column) for e in errs}
        cells = [text_cell(raw[c] if c < len(raw) else None, **({"fill": fill, "font": red} if c in bad_cols else {}))
                 for c in range(width)]  # fmt: skip
        if rownum == t.header_row:
            cells.append(text_cell(_("错误说明"), font=bold_red))
        elif errs:
            cells.append(text_cell("；".join(f"{e.column}：{e.message}" if e.column else e.message for e in errs), font=red))
        ws.append(cells)
    ws2 = wb.create_sheet(_("错误清单"))
    ws2.append([_("行号"), _("列"), _("错误说明")])
    for e in v.errors:
        ws2.append([e.row, clean_xml_text(e.column), clean_xml_text(e.message)])
    if v.warnings:
        ws2.append([])
        for w in v.warnings:
            ws2.append([_("提示"), "", clean_xml_text(w)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_workbook(user: Any) -> bytes:
    """The blank layout: headers (text-formatted columns where Excel would mangle numbers), an example row,
    a sheet explaining each column and code, and the villages the user may import into."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from .models import DisabilityCategory, LabourCapacity, Schooling, SelfCare

    wb = Workbook()
    ws = wb.active
    ws.title = "家庭成员"
    prefix = getattr(user, "area_id", "") or ""
    villages = list(
        Division.objects.filter(level=Division.Level.VILLAGE, code__startswith=prefix, valid_to__isnull=True)
        .order_by("code").values_list("code", "name", "urban_rural_class")[:5000]
    ) if prefix else []  # fmt: skip
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    for col, c in enumerate(COLUMNS, start=1):
        cell = ws.cell(row=1, column=col, value=c.header)
        cell.font = Font(bold=True, color="C00000" if c.required else "000000")
        cell.fill = head_fill
        example = villages[0][0] if c.key == "village" and villages else c.example
        ex = ws.cell(row=2, column=col, value=example or None)
        ex.font = Font(italic=True, color="808080")
        ex.number_format = "@"
        letter = get_column_letter(col)
        ws.column_dimensions[letter].width = max(10, len(c.header) * 2 + 4, len(c.example) + 2)
        ws.column_dimensions[letter].number_format = "@"  # Excel keeps typed IDs and accounts as text
    ws.freeze_panes = "A2"
    # The template is the import format: headers, notes and codes are Chinese whatever the interface language.
    lists = {
        "relation": [label for _code, label in source_labels(Relation)],
        "urban_rural": [label for _code, label in source_labels(UrbanRural)],
        "disability_category": [label for code, label in source_labels(DisabilityCategory) if code],
        "serious_illness": ["是", "否"],
        "schooling": [label for _code, label in source_labels(Schooling)],
        "labour_capacity": [label for _code, label in source_labels(LabourCapacity)],
        "self_care": [label for _code, label in source_labels(SelfCare)],
        "disability_grade": ["1", "2", "3", "4"],
    }
    for col, c in enumerate(COLUMNS, start=1):
        if c.key in lists:
            dv = DataValidation(type="list", formula1='"' + ",".join(lists[c.key]) + '"', allow_blank=True)
            dv.error, dv.errorTitle = "请从下拉列表中选择", c.header
            ws.add_data_validation(dv)
            letter = get_column_letter(col)
            dv.add(f"{letter}2:{letter}100000")

    info = wb.create_sheet("填写说明")
    info.append(["列名", "是否必填", "说明"])
    for cell in info[1]:
        cell.font = Font(bold=True)
    for c in COLUMNS:
        info.append([c.header, "必填" if c.required else "选填", c.note])
    info.append([])
    info.append(["规则", "", "每人一行；同一户各成员的“户编号”相同，每户须有且只有一名户主。"])
    info.append(["", "", "村(社区)代码、城乡类别、居住地址、开户银行、银行账号是整户信息，填在户主行即可；其他成员行留空或填相同值。"])
    info.append(["", "", "导入前先整体校验：只要有一处错误，就不导入任何数据，并生成标出错误的报告供下载修改。"])
    info.append(["", "", "同一文件成功导入后不能再次导入；已登记的身份证号不能重复导入。模板以外的列会被忽略、不会保存。"])
    info.column_dimensions["A"].width = 16
    info.column_dimensions["B"].width = 10
    info.column_dimensions["C"].width = 100
    for row in info.iter_rows(min_row=2):
        row[2].alignment = Alignment(wrap_text=True)

    codes = wb.create_sheet("代码表")
    codes.append(["项目", "代码", "名称"])
    for title, choices in (("与户主关系", source_labels(Relation)), ("城乡类别", source_labels(UrbanRural)),
                           ("残疾类别", [c for c in source_labels(DisabilityCategory) if c[0]]),
                           ("在学情况", source_labels(Schooling)), ("劳动能力", source_labels(LabourCapacity)),
                           ("生活自理能力", source_labels(SelfCare))):  # fmt: skip
        for code, label in choices:
            codes.append([title, code, label])
    for word, label in RELATION_WORDS.items():
        codes.append(["与户主关系（也可填）", word, label])

    vs = wb.create_sheet("村（社区）代码")
    vs.append(["村(社区)代码", "名称", "城乡分类代码"])
    for code, name, cls in villages:
        vs.append([code, name, cls])
    vs.column_dimensions["A"].width = 16
    vs.column_dimensions["B"].width = 20
    for row in vs.iter_rows(min_row=2, max_col=1):
        row[0].number_format = "@"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
