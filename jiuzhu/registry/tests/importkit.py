"""Helpers for the import/export tests: spreadsheets in the township layout, and a hostile-file corpus."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import zipfile
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from jiuzhu.core import idnumber
from jiuzhu.testing.fixtures import COUNTY

HEADERS = ["户编号", "村(社区)代码", "城乡类别", "居住地址", "姓名", "身份证号", "与户主关系", "联系电话", "残疾类别",
           "残疾等级", "是否重病", "在学情况", "劳动能力", "生活自理能力", "开户银行", "银行账号"]  # fmt: skip

_seq = itertools.count(500)


def new_id(birth: dt.date | None = None) -> str:
    n = next(_seq)
    return idnumber.make(COUNTY, birth or dt.date(1950, 1, 1) + dt.timedelta(days=n * 53 % 25000), n % 1000)


def member(key: str, village: str, name: str, relation: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"户编号": key, "村(社区)代码": village, "姓名": name, "身份证号": new_id(),
                           "与户主关系": relation}  # fmt: skip
    row.update(extra)
    return row


def household(key: str, village: str, size: int = 3) -> list[dict[str, Any]]:
    rows = [member(key, village, "王建国", "户主", 城乡类别="农村", 居住地址="一组3号", 联系电话="13800138000",
                   开户银行="农村信用社", 银行账号="6228480000123456789")]  # fmt: skip
    for i in range(size - 1):
        rows.append(member(key, village, ["李秀英", "王小明", "王小红", "王大山"][i % 4], ["配偶", "子", "女", "父母"][i % 4]))
    return rows


def to_matrix(rows: list[dict[str, Any]], headers: list[str] | None = None) -> list[list[Any]]:
    headers = headers or HEADERS
    return [list(headers)] + [[r.get(h, "") for h in headers] for r in rows]


def write_xlsx(path: Path, rows: list[dict[str, Any]] | list[list[Any]], headers: list[str] | None = None) -> Path:
    matrix = rows if rows and isinstance(rows[0], list) else to_matrix(rows, headers)  # type: ignore[arg-type]
    wb = Workbook()
    ws = wb.active
    for r in matrix:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[dict[str, Any]], *, encoding: str = "utf-8-sig") -> Path:
    import csv

    buf = io.StringIO()
    csv.writer(buf).writerows(to_matrix(rows))
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


# --- hostile corpus -------------------------------------------------------------------------------------------


def _xlsx_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def _zip(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def base_xlsx(path: Path) -> Path:
    return write_xlsx(path, [["户编号", "姓名", "身份证号"], ["1", "张三", "x"]])


def zip_bomb(d: Path) -> Path:
    """A single 256 MB sheet of zeros (≈ 250 KB compressed), built without holding it in memory."""
    parts = _xlsx_parts(base_xlsx(d / "b.xlsx"))
    path = d / "zip_bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                zf.writestr(name, data)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            block = b"0" * (1 << 20)
            for _ in range(256):
                f.write(block)
    return path


def lying_zip_bomb(d: Path) -> Path:
    """A member whose central directory claims 1 KB but which inflates to 50 MB."""
    good = d / "lying_src.xlsx"
    parts = _xlsx_parts(base_xlsx(d / "b2.xlsx"))
    parts["xl/worksheets/sheet1.xml"] = b"<a>" + b" " * (50 << 20) + b"</a>"
    _zip(good, parts)
    raw = bytearray(good.read_bytes())
    # patch the uncompressed size of that member in the central directory and its local header
    name = b"xl/worksheets/sheet1.xml"
    real = (len(parts["xl/worksheets/sheet1.xml"])).to_bytes(4, "little")
    fake = (1024).to_bytes(4, "little")
    for sig, off in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        start = 0
        while (pos := raw.find(sig, start)) >= 0:
            hdr_name_off = pos + (46 if sig == b"PK\x01\x02" else 30)
            if raw[hdr_name_off:hdr_name_off + len(name)] == name and raw[pos + off:pos + off + 4] == real:
                raw[pos + off:pos + off + 4] = fake
            start = pos + 4
    path = d / "lying_zip_bomb.xlsx"
    path.write_bytes(bytes(raw))
    return path


def nested_zip(d: Path) -> Path:
    parts = _xlsx_parts(base_xlsx(d / "n.xlsx"))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("a.txt", b"hello")
    parts["xl/media/image1.png"] = inner.getvalue()  # a zip disguised by its name
    return _zip(d / "nested_zip.xlsx", parts)


def billion_laughs(d: Path) -> Path:
    parts = _xlsx_parts(base_xlsx(d / "bl.xlsx"))
    lol = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
        + b']>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        b"<si><t>&lol9;</t></si></sst>"
    )
    parts["xl/sharedStrings.xml"] = lol
    return _zip(d / "billion_laughs.xlsx", parts)


def xxe(d: Path) -> Path:
    parts = _xlsx_parts(base_xlsx(d / "x.xlsx"))
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"<workbook", b'<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<workbook', 1
    )
    return _zip(d / "xxe.xlsx", parts)


def zip_slip(d: Path) -> Path:
    parts = _xlsx_parts(base_xlsx(d / "s.xlsx"))
    parts["../../../../tmp/evil.sh"] = b"#!/bin/sh\necho pwned\n"
    return _zip(d / "zip_slip.xlsx", parts)


def absolute_member(d: Path) -> Path:
    parts = _xlsx_parts(base_xlsx(d / "abs.xlsx"))
    parts["/etc/cron.d/evil"] = b"* * * * * root true\n"
    return _zip(d / "absolute_member.xlsx", parts)


def sparse_sheet(d: Path) -> Path:
    """One far-away cell: calamine would allocate 1,048,576 × 16,384 cells and abort the process."""
    parts = _xlsx_parts(base_xlsx(d / "sp.xlsx"))
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    )
    return _zip(d / "sparse_sheet.xlsx", parts)


def renamed_binary(d: Path) -> Path:
    path = d / "renamed_binary.xlsx"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40)
    return path


def xlsm(d: Path) -> Path:
    parts = _xlsx_parts(base_xlsx(d / "m.xlsx"))
    parts["xl/vbaProject.bin"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml"
    )
    return _zip(d / "macro.xlsm", parts)


def xlsm_renamed(d: Path) -> Path:
    """A macro workbook saved with an .xlsx name."""
    src = xlsm(d)
    path = d / "macro_renamed.xlsx"
    path.write_bytes(src.read_bytes())
    return path


def xls(d: Path) -> Path:
    path = d / "legacy.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096)
    return path


def xls_renamed(d: Path) -> Path:
    path = d / "legacy_renamed.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4096)
    return path


def csv_nul(d: Path) -> Path:
    path = d / "nul.csv"
    path.write_bytes("户编号,姓名,身份证号\n1,张三,1\x00\n".encode())
    return path


def csv_gbk(d: Path) -> Path:
    """Plain GBK is accepted (what Excel writes on a Chinese Windows) — see test_files; this one is GBK with a
    byte sequence that is not valid in GB18030 either."""
    path = d / "bad_gbk.csv"
    path.write_bytes("户编号,姓名\n1,".encode("gbk") + b"\xff\xff\xff\n")
    return path


def csv_mixed(d: Path) -> Path:
    path = d / "mixed.csv"
    path.write_bytes("户编号,姓名,身份证号\n".encode() + "1,张三,1\n".encode("gbk"))
    return path


def oversize(d: Path, limit: int) -> Path:
    path = d / "oversize.xlsx"
    with open(path, "wb") as f:
        f.truncate(limit + 1)
    return path


def zip_many_entries(d: Path) -> Path:
    parts = _xlsx_parts(base_xlsx(d / "many.xlsx"))
    for i in range(1001):
        parts[f"xl/media/f{i}.txt"] = b"x"
    return _zip(d / "many_entries.xlsx", parts)


def missing_refs(d: Path) -> Path:
    """Cells without r= (their position is implicit): refused, because their extent cannot be bounded
    cheaply before calamine allocates it."""
    parts = _xlsx_parts(base_xlsx(d / "mr.xlsx"))
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b"</sheetData>", b'<row r="3"><c t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    )
    return _zip(d / "missing_refs.xlsx", parts)


def utf16_xml(d: Path) -> Path:
    parts = _xlsx_parts(base_xlsx(d / "u16.xlsx"))
    parts["xl/sharedStrings.xml"] = '<?xml version="1.0" encoding="UTF-16"?><sst/>'.encode("utf-16")
    return _zip(d / "utf16_xml.xlsx", parts)


def r_not_first(d: Path, far: bool = False) -> Path:
    """Cells whose r= is not the first attribute (legal OOXML, unusual): the exact scan handles them; with a
    far-away ref the file is refused."""
    parts = _xlsx_parts(base_xlsx(d / "rnf.xlsx"))
    ref = "XFD1048576" if far else "C3"
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b"</sheetData>", f'<row r="3"><c t="inlineStr" r="{ref}"><is><t>x</t></is></c></row></sheetData>'.encode()
    )
    return _zip(d / ("sparse_r_not_first.xlsx" if far else "r_not_first.xlsx"), parts)


def wide_rectangle(d: Path) -> Path:
    """Each ref within the row and column limits, but together they span 200,001 × 100 cells."""
    parts = _xlsx_parts(base_xlsx(d / "wr.xlsx"))
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(
        b"</sheetData>",
        b'<row r="5"><c r="CV5" t="inlineStr"><is><t>x</t></is></c></row>'
        b'<row r="200001"><c r="A200001" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )
    return _zip(d / "wide_rectangle.xlsx", parts)
