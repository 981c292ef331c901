"""Export of registry lists to XLSX and CSV (SECURITY FILE-CSVX, AC-FIELD, PRIV-MIN).

- Only what the user may see: the queryset is restricted again here (``restrict(user, "export")``), so a
  caller cannot widen it by mistake.
- Protected fields only in their stored masked form (``*_masked``); nothing is decrypted. Names are masked
  for roles without ``view_names``, as on screen. The birth date is not exported (only the age): together
  with a masked ID number it would give the number back.
- Formula injection: a text cell that starts with ``= + - @``, a tab, CR, LF, NUL or a full-width
  ``＝ ＋ － ＠`` gets a leading ``'``; XLSX cells are always written as strings, never formulas.
- RFC 6266 ``Content-Disposition`` with an ASCII fallback and a UTF-8 ``filename*`` for the Chinese name.
- Large lists stream: CSV row by row from a server-side iterator, XLSX from a temporary file written with
  openpyxl's write-only mode.
- One audit event ``registry.export`` with the row count and the filter (never a plaintext ID number).
- The file is a data exchange format: headers and coded values are Chinese whatever the interface language
  (the importer reads the same labels back).
"""

from __future__ import annotations

import csv
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from jiuzhu.accounts import roles
from jiuzhu.core import masking
from jiuzhu.core.audit import audit_record
from jiuzhu.core.i18n import source
from jiuzhu.core.idnumber import age_on
from jiuzhu.core.models import Division
from jiuzhu.core.scoping import can

from .models import Household, Person

FORMATS = ("xlsx", "csv")
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "＝", "＋", "－", "＠")
ITER_CHUNK = 2000
# XML 1.0 forbids these control characters; openpyxl refuses them (same set as openpyxl's own check)
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FILENAME_BAD = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|;]')

Getter = Callable[[Any], Any]


def neutralise(value: Any) -> Any:
    """Prefix a text value that a spreadsheet would read as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def clean_xml_text(value: Any) -> Any:
    return _ILLEGAL_XML.sub("", value) if isinstance(value, str) else value


def safe_cell(value: Any, *, xlsx: bool) -> Any:
    """Strip what XLSX cannot hold first, then neutralise, so stripping can never expose a trigger."""
    if xlsx:
        value = clean_xml_text(value)
    return neutralise(value)


def content_disposition(filename: str, fallback: str) -> str:
    """``attachment; filename="<ascii>"; filename*=UTF-8''<percent-encoded>`` (RFC 6266 / RFC 5987). Neither
    part can carry CR, LF, quotes or path separators."""
    name = _FILENAME_BAD.sub("_", unicodedata.normalize("NFC", filename)).strip(" .") or "export"
    ascii_name = _FILENAME_BAD.sub("_", fallback.encode("ascii", "ignore").decode("ascii")).strip(" .") or "export"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


# --- writers -------------------------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_chunks(headers: list[str], rows: Iterable[list[Any]], *, batch: int = 500) -> Iterator[bytes]:
    """UTF-8 with BOM (Excel on Windows detects the encoding from it), CRLF line ends, every text cell
    neutralised. Yields a few hundred rows at a time."""
    writer = csv.writer(_Echo())
    yield "\ufeff".encode() + writer.writerow([safe_cell(h, xlsx=False) for h in headers]).encode("utf-8")
    buf: list[str] = []
    for row in rows:
        buf.append(writer.writerow(["" if v is None else safe_cell(v, xlsx=False) for v in row]))
        if len(buf) >= batch:
            yield "".join(buf).encode("utf-8")
            buf = []
    if buf:
        yield "".join(buf).encode("utf-8")


def xlsx_file(headers: list[str], rows: Iterable[list[Any]], *, sheet: str = "导出") -> Any:
    """A write-only workbook in an anonymous temporary file (deleted on close), positioned at 0."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.freeze_panes = "A2"
    bold = Font(bold=True)

    def cell(value: Any, **style: Any) -> Any:
        value = safe_cell(value, xlsx=True)
        c = WriteOnlyCell(ws, value)
        if isinstance(value, str):
            c.data_type = "s"  # never a formula, whatever the value looks like
        for k, v in style.items():
            setattr(c, k, v)
        return c

    ws.append([cell(h, font=bold) for h in headers])
    for row in rows:
        ws.append([cell(v) if isinstance(v, str) else v for v in row])
    out = tempfile.TemporaryFile()
    wb.save(out)
    out.seek(0)
    return out


# --- columns -------------------------------------------------------------------------------------------------


def _name(user: Any) -> Callable[[str], str]:
    return (lambda s: s) if can(user, roles.VIEW_NAMES) else masking.mask_name


def _display(model: Any, field: str) -> Callable[[Any], str]:
    """``get_<field>_display`` with the Chinese label, whatever language the request chose."""
    labels = {str(code): source(label) for code, label in model._meta.get_field(field).choices}
    return lambda value: labels.get(str(value), value)


def household_columns(user: Any, villages: dict[str, str]) -> list[tuple[str, Getter]]:
    name = _name(user)
    urban_rural, status = _display(Household, "urban_rural"), _display(Household, "status")
    return [
        ("户编号", lambda h: h.household_no),
        ("村(社区)代码", lambda h: h.area_code),
        ("村(社区)", lambda h: villages.get(h.area_code, "")),
        ("城乡类别", lambda h: urban_rural(h.urban_rural)),
        ("居住地址", lambda h: h.address),
        ("户主姓名", lambda h: name(h.head_name)),
        ("在册人数", lambda h: h.member_count),
        ("开户银行", lambda h: h.bank_name),
        ("银行账号", lambda h: h.bank_account_masked),
        ("状态", lambda h: status(h.status)),
        ("登记日期", lambda h: timezone.localtime(h.created_at).date().isoformat() if h.created_at else ""),
    ]


def person_columns(user: Any, villages: dict[str, str]) -> list[tuple[str, Getter]]:
    name = _name(user)
    today = timezone.localdate()
    sex, relation, urban_rural = _display(Person, "sex"), _display(Person, "relation"), _display(Person, "urban_rural")
    disability, schooling = _display(Person, "disability_category"), _display(Person, "schooling")
    labour, self_care = _display(Person, "labour_capacity"), _display(Person, "self_care")
    return [
        ("户编号", lambda p: p.household.household_no if p.household_id else ""),
        ("村(社区)代码", lambda p: p.area_code),
        ("村(社区)", lambda p: villages.get(p.area_code, "")),
        ("姓名", lambda p: name(p.name)),
        ("身份证号", lambda p: p.id_number_masked),
        ("性别", lambda p: sex(p.sex)),
        ("年龄", lambda p: age_on(p.birth_date, today) if p.birth_date else ""),
        ("与户主关系", lambda p: relation(p.relation)),
        ("联系电话", lambda p: p.phone_masked),
        ("城乡类别", lambda p: urban_rural(p.urban_rural)),
        ("残疾类别", lambda p: disability(p.disability_category) if p.disability_category else ""),
        ("残疾等级", lambda p: p.disability_grade or ""),
        ("是否重病", lambda p: "是" if p.serious_illness else "否"),
        ("在学情况", lambda p: schooling(p.schooling)),
        ("劳动能力", lambda p: labour(p.labour_capacity)),
        ("生活自理能力", lambda p: self_care(p.self_care)),
    ]


HOUSEHOLD_FIELDS = ("household_no", "area_code", "urban_rural", "address", "head_name", "member_count", "bank_name",
                    "bank_account_masked", "status", "created_at")  # fmt: skip
PERSON_FIELDS = ("household__household_no", "household_id", "area_code", "name", "id_number_masked", "sex",
                 "birth_date", "relation", "phone_masked", "urban_rural", "disability_category", "disability_grade",
                 "serious_illness", "schooling", "labour_capacity", "self_care")  # fmt: skip


# --- responses -----------------------------------------------------------------------------------------------


def export_households(request_user: Any, queryset: QuerySet[Household], fmt: str, *,
                      filters: dict[str, Any] | None = None) -> HttpResponseBase:  # fmt: skip
    qs = _restricted(request_user, queryset).only(*HOUSEHOLD_FIELDS)
    return _export(request_user, qs, fmt, household_columns, "家庭户", "households", "registry.household", filters)


def export_persons(request_user: Any, queryset: QuerySet[Person], fmt: str, *,
                   filters: dict[str, Any] | None = None) -> HttpResponseBase:  # fmt: skip
    qs = _restricted(request_user, queryset).select_related("household").only(*PERSON_FIELDS)
    return _export(request_user, qs, fmt, person_columns, "家庭成员", "persons", "registry.person", filters)


def _restricted(user: Any, queryset: QuerySet[Any]) -> QuerySet[Any]:
    if not can(user, roles.EXPORT):
        raise PermissionDenied
    return queryset.restrict(user, roles.EXPORT)  # type: ignore[attr-defined]


def _export(
    user: Any, qs: QuerySet[Any], fmt: str, columns: Callable[..., list[tuple[str, Getter]]], title: str,
    ascii_title: str, object_type: str, filters: dict[str, Any] | None,
) -> HttpResponseBase:  # fmt: skip
    fmt = fmt if fmt in FORMATS else "xlsx"
    count = qs.count()
    villages = dict(
        Division.objects.filter(code__in=qs.order_by().values("area_code").distinct()).values_list("code", "name")
    )
    cols = columns(user, villages)
    headers = [h for h, _ in cols]
    getters = [g for _, g in cols]
    rows = ([g(obj) for g in getters] for obj in qs.iterator(chunk_size=ITER_CHUNK))
    audit_record(
        action="registry.export", actor=user, object_type=object_type, object_area=getattr(user, "area_id", "") or "",
        detail={"rows": count, "format": fmt, "filter": filters or {}},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response: HttpResponseBase = StreamingHttpResponse(csv_chunks(headers, rows), content_type="text/csv; charset=utf-8")
    else:
        response = FileResponse(
            xlsx_file(headers, rows, sheet=title),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = content_disposition(f"{title}_{stamp}.{fmt}", f"{ascii_title}_{stamp}.{fmt}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
