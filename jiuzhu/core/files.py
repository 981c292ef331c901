"""Hostile-file guard for uploads (SECURITY FILE-UP).

Every uploaded spreadsheet passes ``check_upload`` before any parser sees it. The checks are ordered cheapest
first so that each hostile file is refused in well under two seconds, with a message a township caseworker
can act on:

1. size cap (``settings.IMPORT_MAX_BYTES``) and extension (only ``.xlsx`` and ``.csv``; ``.xlsm``/``.xls``/
   ``.xlsb`` get their own explanation);
2. magic bytes (an xlsx is a zip; an OLE2 header means legacy .xls or an encrypted workbook);
3. the zip's central directory, before anything is decompressed: ≤ 1,000 entries, ≤ 200 MB declared
   uncompressed, per-entry ratio ≤ 100, no absolute or ``..`` member names, no duplicates, no encryption,
   no nested archives, no macro parts; ``[Content_Types].xml`` and ``xl/workbook.xml`` present;
4. one streaming pass over every member: the real size is enforced (``zipfile`` stops at the declared size
   and checks the CRC, so a lying header cannot inflate), XML must be UTF-8 without ``<!DOCTYPE``/
   ``<!ENTITY`` (billion laughs, XXE), nested zips are caught by their magic bytes, and worksheets must not
   address cells beyond ``MAX_SHEET_ROWS`` × ``MAX_SHEET_COLS`` — calamine allocates the dense rectangle up
   to the furthest cell, so one cell at ``XFD1048576`` would otherwise abort the whole server process;
5. CSV: no NUL bytes, UTF-8 (with or without BOM) or GBK/GB18030, mixed encodings refused.

XML that this module parses itself goes through defusedxml. Files are hashed here (SHA-256 and SM3) so the
importer can refuse a file that was already imported (SECURITY FILE-IDEM).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from django.conf import settings
from django.utils.translation import gettext as _

MAX_ENTRIES = 1000
MAX_TOTAL_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 100
# Below this size a high ratio is harmless (a 1 MB part cannot exhaust anything) and small, repetitive
# parts such as styles.xml legitimately compress very well.
RATIO_FLOOR = 1024 * 1024
MAX_SHEET_ROWS = 200_001  # header + 200,000 data rows
MAX_SHEET_COLS = 100
MAX_SHEET_CELLS = 6_000_000  # the dense rectangle calamine allocates (≈ 32 bytes a cell); 200k rows × A–Z fit
CHUNK = 1024 * 1024

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OTHER_BINARY_MAGIC = (
    b"\x7fELF", b"MZ", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b",
    b"BZh", b"\xfd7zXZ",
)  # fmt: skip
ARCHIVE_SUFFIXES = (
    ".zip", ".xlsx", ".xlsm", ".xlsb", ".docx", ".docm", ".pptx", ".jar", ".7z", ".rar", ".gz", ".tar", ".bz2",
    ".xz", ".cab",
)  # fmt: skip
MACRO_CONTENT_TYPES = ("macroenabled", "vbaproject", "ms-office.activex", "ms-excel.intl", "ms-excel.macrosheet")
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# r="A1" on cells, r="1" on rows; the optional prefix allows namespaced markup (<x:c r=…>)
_CELL_REF = re.compile(rb'\sr="([A-Z]{1,3})(\d{1,7})"')
_ROW_REF = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?row\s[^>]*?\br="(\d{1,9})"')
_CELL_OPEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_CELL_WITH_REF = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*?\br="[A-Z]{1,3}\d{1,7}"')
# fast mode: these have literal prefixes, so the regex engine skips ahead and they rarely match
_NOT_CELL = re.compile(rb"<c[\w.:-]")  # <col, <cfRule, <color, <c:… — elements that are not cells
_PREFIXED_CELL = re.compile(rb":c[^\w.:-]")  # <x:c …> — namespaced cells: exact mode
_WIDE_COL = re.compile(rb' r="([A-Z]{2,3})\d')
_LONG_ROW = re.compile(rb' r="[A-Z]{0,3}(\d{6,})"')


class RejectedFile(ValueError):
    """The upload is refused before parsing. ``message`` is shown to the user as is (in the request's language,
    Chinese by default); ``code`` is stable, for the API, tests and the audit log."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CheckedFile:
    path: Path
    kind: str  # "xlsx" | "csv"
    size: int
    sha256: str
    sm3: str
    encoding: str = ""  # csv only: "utf-8-sig", "utf-8" or "gb18030"


def display_name(filename: str) -> str:
    """The user's file name, safe to show, log and store: no directories, no control characters, ≤ 120
    characters. Never used as a path."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[-120:] or "upload"


def file_hashes(path: Path) -> tuple[str, str]:
    """SHA-256 and SM3 of the file, one pass."""
    sha = hashlib.sha256()
    sm3 = hashes.Hash(hashes.SM3())
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            sha.update(block)
            sm3.update(block)
    return sha.hexdigest(), sm3.finalize().hex()


def check_upload(path: str | Path, filename: str, *, max_bytes: int | None = None) -> CheckedFile:
    """Refuse a hostile or unsupported file (raises RejectedFile) or describe an acceptable one."""
    path = Path(path)
    limit = settings.IMPORT_MAX_BYTES if max_bytes is None else max_bytes
    size = path.stat().st_size
    if limit and size > limit:
        raise RejectedFile(
            "too_large", _("文件大小 %(size).1f MB 超过上限 %(limit).0f MB，请分批导入") % {"size": size / 1048576, "limit": limit / 1048576}
        )
    if size == 0:
        raise RejectedFile("empty", _("文件是空的"))
    kind = _kind_from_name(filename)
    with open(path, "rb") as f:
        head = f.read(8)
    encoding = ""
    if kind == "xlsx":
        if head.startswith(OLE_MAGIC):
            raise RejectedFile(
                "ole", _("文件实际是旧版 .xls 格式或加密的工作簿：请取消密码保护，在 Excel/WPS 中另存为 .xlsx 后再上传")
            )
        if not head.startswith(b"PK\x03\x04"):
            raise RejectedFile("not_zip", _("文件内容不是有效的 .xlsx 工作簿（可能是改了扩展名的其他文件）"))
        check_xlsx(path)
    else:
        encoding = check_csv(path)
    sha, sm3 = file_hashes(path)
    return CheckedFile(path=path, kind=kind, size=size, sha256=sha, sm3=sm3, encoding=encoding)


def _kind_from_name(filename: str) -> str:
    suffix = posixpath.splitext(display_name(filename).lower())[1]
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == ".csv":
        return "csv"
    if suffix in (".xlsm", ".xltm", ".xlam"):
        raise RejectedFile("macro", _("不接受含宏的工作簿（.xlsm）：请在 Excel/WPS 中另存为 .xlsx 后再上传"))
    if suffix in (".xls", ".et", ".xlt"):
        raise RejectedFile("xls", _("不接受旧版 .xls 格式：请在 Excel/WPS 中另存为 .xlsx 后再上传"))
    if suffix == ".xlsb":
        raise RejectedFile("xlsb", _("不接受二进制工作簿（.xlsb）：请另存为 .xlsx 后再上传"))
    raise RejectedFile("extension", _("只接受 .xlsx 工作簿或 .csv 文件"))


# --- xlsx ----------------------------------------------------------------------------------------------------


def check_xlsx(path: Path) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise RejectedFile("bad_zip", _("文件已损坏，无法作为 .xlsx 打开")) from exc
    with zf:
        infos = zf.infolist()
        _check_directory(infos)
        names = {i.filename for i in infos}
        lower = {n.lower() for n in names}
        if "xl/workbook.bin" in lower:
            raise RejectedFile("xlsb", _("这是二进制工作簿（.xlsb）：请另存为 .xlsx 后再上传"))
        if any(n.rsplit("/", 1)[-1].startswith("vbaproject") for n in lower) or any(
            n.startswith(("xl/activex/", "xl/macrosheets/")) for n in lower
        ):
            raise RejectedFile("macro", _("工作簿含有宏或 ActiveX 控件：请另存为不含宏的 .xlsx 后再上传"))
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise RejectedFile("not_xlsx", _("文件不是 Excel 工作簿（缺少 workbook 部件），请用 Excel/WPS 另存为 .xlsx"))
        for info in infos:
            _scan_member(zf, info)
        _check_content_types(zf.read("[Content_Types].xml"))


def _check_directory(infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_ENTRIES:
        raise RejectedFile("zip_entries", _("压缩包内文件数 %(n)s 超过上限 %(limit)s，不是正常的工作簿") % {"n": len(infos), "limit": MAX_ENTRIES})
    total = 0
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if (
            name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts or "\x00" in name
            or "\\" in name
        ):
            raise RejectedFile("zip_path", _("工作簿内含有非法的文件路径（绝对路径或 ..），已拒绝"))
        if name in seen:
            raise RejectedFile("zip_duplicate", _("工作簿内有重名部件，已拒绝"))
        seen.add(name)
        if info.flag_bits & 0x1:
            raise RejectedFile("encrypted", _("工作簿已加密：请取消密码保护后另存为 .xlsx"))
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise RejectedFile("zip_method", _("工作簿使用了不支持的压缩方式，请用 Excel/WPS 重新另存为 .xlsx"))
        if name.lower().endswith(ARCHIVE_SUFFIXES):
            raise RejectedFile("nested_zip", _("工作簿内嵌有压缩包或其他文档，已拒绝：请只保留表格数据后另存"))
        total += info.file_size
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise RejectedFile("zip_bomb", _("工作簿解压后超过 200 MB（疑似压缩炸弹），已拒绝"))
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise RejectedFile("zip_ratio", _("工作簿压缩比异常（超过 100 倍，疑似压缩炸弹），已拒绝"))


def _scan_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, *, exact: bool = False) -> None:
    """Decompress one member in chunks, never holding more than CHUNK + a small overlap. Worksheets get the
    cheap extent bound first; only an irregular sheet (or one whose bound is too loose) is read again with
    the exact, slower scan."""
    if info.is_dir():
        return
    is_xml = info.filename.lower().endswith((".xml", ".rels", ".vml"))
    extent = _Extent(exact=exact)
    tail = b""
    first = True
    try:
        with zf.open(info) as member:
            while block := member.read(CHUNK):
                if first:
                    first = False
                    if block.startswith(ZIP_MAGIC):
                        raise RejectedFile("nested_zip", _("工作簿内嵌有压缩包，已拒绝：请只保留表格数据后另存"))
                    if is_xml and (block.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in block[:64]):
                        raise RejectedFile("xml_encoding", _("工作簿内的 XML 不是 UTF-8 编码，请用 Excel/WPS 重新另存"))
                if not is_xml:
                    continue
                window = tail + block
                if _DTD.search(window):
                    raise RejectedFile(
                        "xml_dtd", _("工作簿内含有 XML 实体或 DOCTYPE 声明（可能是 XML 炸弹或外部实体攻击），已拒绝")
                    )
                if not extent.is_sheet and b"sheetData" in window:
                    extent.is_sheet = True
                if extent.is_sheet:
                    # Scan up to the last "<" and carry the rest over, so no tag is ever cut in two and
                    # nothing is counted twice.
                    cut = window.rfind(b"<")
                    scan, tail = (window[:cut], window[cut:]) if cut > len(window) - 512 else (window, b"")
                    extent.add(scan)
                else:
                    tail = block[-64:]
    except RejectedFile:
        raise
    except zipfile.BadZipFile as exc:
        raise RejectedFile("bad_zip", _("工作簿已损坏（解压校验失败，可能是伪造的压缩包），已拒绝")) from exc
    except (OSError, EOFError, NotImplementedError, ValueError, RuntimeError) as exc:
        raise RejectedFile("bad_zip", _("工作簿已损坏，无法读取")) from exc
    if extent.is_sheet and not extent.settled():
        _scan_member(zf, info, exact=True)


class _Extent:
    """Upper bounds of the rows and columns a worksheet addresses.

    Fast mode (what Excel, WPS, LibreOffice and openpyxl write: every cell opens with ``<c r="…"``): counts
    and rarely-matching searches only — columns beyond Z and rows of 6+ digits are the only refs collected,
    so the bound is at most Z × 99,999 unless the sheet really is that large. Exact mode parses every ref; it
    runs only when fast mode cannot vouch for the sheet, and refuses cells without a position."""

    def __init__(self, *, exact: bool):
        self.exact = exact
        self.is_sheet = False
        self.max_row = self.max_col = 0
        self.cells = self.cells_with_ref = 0
        self.irregular = False

    def add(self, scan: bytes) -> None:
        if self.exact:
            for col, row in set(_CELL_REF.findall(scan)):
                self.max_col = max(self.max_col, _col_index(col))
                self.max_row = max(self.max_row, int(row))
            for row in _ROW_REF.findall(scan):
                self.max_row = max(self.max_row, int(row))
            self.cells += len(_CELL_OPEN.findall(scan))
            self.cells_with_ref += len(_CELL_WITH_REF.findall(scan))
        else:
            cells = scan.count(b"<c") - len(_NOT_CELL.findall(scan))
            if cells != scan.count(b'<c r="') or _PREFIXED_CELL.search(scan):
                self.irregular = True
            if cells:
                self.max_col = max(self.max_col, 26, *(_col_index(c) for c in set(_WIDE_COL.findall(scan))))
                self.max_row = max(self.max_row, 99_999, *(int(r) for r in _LONG_ROW.findall(scan)))
        _check_sheet_extent(self.max_row, self.max_col, final=self.exact)

    def settled(self) -> bool:
        if self.exact:
            if self.cells != self.cells_with_ref:
                raise RejectedFile("sheet_refs", _("工作表格式不规范（单元格缺少位置信息），请用 Excel/WPS 重新另存为 .xlsx"))
            return True
        return not self.irregular and self.max_row * self.max_col <= MAX_SHEET_CELLS


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


def _check_sheet_extent(max_row: int, max_col: int, *, final: bool = True) -> None:
    """Rows and columns are exact once they exceed the fast-mode defaults, so they may refuse at once; the
    cell product is refused only on exact figures (fast mode rescans instead)."""
    if max_row > MAX_SHEET_ROWS:
        raise RejectedFile(
            "sheet_rows", _("工作表行数超过上限（最多 %(rows)s 行数据，含远处的空白格式行），请分批导入") % {"rows": f"{MAX_SHEET_ROWS - 1:,}"}
        )
    if max_col > MAX_SHEET_COLS:
        raise RejectedFile("sheet_cols", _("工作表列数超过上限 %(cols)s（可能有远处的空白单元格），请删除多余列后另存") % {"cols": MAX_SHEET_COLS})
    if final and max_row * max_col > MAX_SHEET_CELLS:
        raise RejectedFile("sheet_cells", _("工作表单元格范围过大，请删除多余的行和列后另存"))


def _check_content_types(raw: bytes) -> None:
    try:
        root = SafeET.fromstring(raw, forbid_dtd=True)
    except (DefusedXmlException, SafeET.ParseError) as exc:
        raise RejectedFile("xml_dtd", _("工作簿的内容类型声明无效或含有 XML 实体，已拒绝")) from exc
    for el in root:
        ctype = (el.get("ContentType") or "").lower()
        if any(m in ctype for m in MACRO_CONTENT_TYPES):
            raise RejectedFile("macro", _("工作簿含有宏（启用宏的工作簿）：请另存为不含宏的 .xlsx 后再上传"))


# --- csv -----------------------------------------------------------------------------------------------------


def check_csv(path: Path) -> str:
    data = path.read_bytes()
    if data.startswith(ZIP_MAGIC):
        raise RejectedFile("csv_binary", _("文件实际是压缩包或 .xlsx 工作簿，不是 CSV 文本：请把扩展名改为 .xlsx 或另存为 CSV"))
    if data.startswith(OLE_MAGIC):
        raise RejectedFile("csv_binary", _("文件实际是旧版 .xls 工作簿，不是 CSV 文本：请另存为 .xlsx 或 CSV（UTF-8）"))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RejectedFile("csv_utf16", _("CSV 是 UTF-16 编码，请另存为“CSV UTF-8（逗号分隔）”"))
    if data.startswith(OTHER_BINARY_MAGIC):
        raise RejectedFile("csv_binary", _("文件内容是二进制格式，不是 CSV 文本"))
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise RejectedFile("csv_nul", _("CSV 第 %(line)s 行含有空字符（NUL），不是有效的文本文件，已拒绝") % {"line": line})
    return detect_csv_encoding(data)


def detect_csv_encoding(data: bytes) -> str:
    """``utf-8-sig`` (BOM), ``utf-8`` or ``gb18030`` (a superset of GBK/GB2312, what Excel's “CSV” writes on a
    Chinese Windows). A file whose lines disagree is refused: guessing would silently corrupt names."""
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    try:
        body.decode("utf-8")
        return "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError:
        pass
    utf8_lines: list[int] = []
    gbk_lines: list[int] = []
    bad_lines: list[int] = []
    for n, line in enumerate(body.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_lines.append(n)
        except UnicodeDecodeError:
            try:
                line.decode("gb18030")
                gbk_lines.append(n)
            except UnicodeDecodeError:
                bad_lines.append(n)
    if bad_lines:
        raise RejectedFile("csv_encoding", _("CSV 第 %(line)s 行既不是 UTF-8 也不是 GBK 编码，请另存为“CSV UTF-8”") % {"line": bad_lines[0]})
    if gbk_lines and (utf8_lines or bom):
        u = utf8_lines[0] if utf8_lines else 1
        raise RejectedFile(
            "csv_mixed",
            _("CSV 编码混杂：第 %(utf8)s 行是 UTF-8，第 %(gbk)s 行是 GBK，请统一另存为“CSV UTF-8（逗号分隔）”")
            % {"utf8": u, "gbk": gbk_lines[0]},
        )
    return "gb18030"
