"""Printable notices as PDF: 告知书, 调查表, 公示名单, 审批表 (docs/printing.md).

A ``Doc`` is a title, an issuing authority, a list of blocks and a closing (signature lines, date, seal
placeholder); ``render`` turns it into an A4 PDF with the case number in the header and a verification code and
"第 X 页 共 Y 页" in the footer of every page.

All text is set in ReportLab's built-in CID font ``STSong-Light`` (Adobe-GB1). A CID font is referenced, not
embedded: the reader supplies its own Song face (SimSun on Windows, its bundled or system CJK font in
Foxit, WPS, pdf.js and PDFium), so the server needs no font files, system fonts or Pango. Characters the
reader's Adobe-GB1 font cannot show (outside GBK, e.g. CJK Ext-B names) are printed as the geta mark 〓, the
typesetters' sign for "glyph missing, write it in by hand", instead of an invisible .notdef box.

User input never reaches ReportLab's paragraph mini-markup unescaped: ``<script>`` or ``&amp;`` print as typed.
"""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from django.http import HttpResponse
from reportlab import platypus as rl
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from jiuzhu.core import crypto

FONT = "STSong-Light"
MARGIN = 20 * mm
MISSING_GLYPH = "〓"  # U+3013 GETA MARK, in GB 2312
VERIFY_PURPOSE = "document.verification"
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 symbols: no 0/O, 1/I/L
CODE_LENGTH = 12
CODE_GROUP = 4


# ---- blocks ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Para:
    """A paragraph of running text; ``indent`` gives the customary two-character first-line indent."""

    text: str
    indent: bool = True


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Fields:
    """A bordered key-value grid; ``columns`` is the number of (label, value) pairs per row (1 or 2)."""

    items: Sequence[tuple[str, str]]
    columns: int = 2

    def __post_init__(self) -> None:
        if self.columns not in (1, 2):
            raise ValueError("Fields.columns must be 1 or 2")


@dataclass(frozen=True)
class Table:
    """A ruled table that breaks across pages, repeating its header row on each.

    ``col_widths`` are relative weights (``[1, 3, 1]``), scaled to the text width; ``None`` means equal.
    """

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    col_widths: Sequence[float] | None = None
    repeat_header: bool = True

    def __post_init__(self) -> None:
        n = len(self.header)
        if n == 0:
            raise ValueError("Table needs at least one column")
        if self.col_widths is not None and (len(self.col_widths) != n or min(self.col_widths) <= 0):
            raise ValueError("Table.col_widths needs one positive weight per column")
        for i, row in enumerate(self.rows, start=1):
            if len(row) != n:
                raise ValueError(f"Table row {i} has {len(row)} cells, the header has {n}")


@dataclass(frozen=True)
class Checklist:
    """Items with a drawn box, ticked when ``checked`` (e.g. materials received / still missing)."""

    items: Sequence[tuple[str, bool]]


@dataclass(frozen=True)
class Spacer:
    mm: float


Block = Para | Heading | Fields | Table | Checklist | Spacer


@dataclass(frozen=True)
class Doc:
    """One printable document."""

    title: str
    authority: str
    case_no: str
    verification_code: str
    issued_on: date
    blocks: Sequence[Block]
    signature_lines: Sequence[str] = ()
    seal: bool = False
    watermark: str = ""
    verify_at: str = "/verify/"  # where the footer tells the reader to check the code; pass the full site URL


# ---- text ---------------------------------------------------------------------------------------------

_SUBSTITUTES = {
    "•": "·",
    "¥": "￥",
    "€": "EUR",
    "©": "(C)",
    "®": "(R)",
    "☐": "□",
    "☑": "■",
    "✓": "√",
    "✔": "√",
}


def printable(text: Any) -> str:
    """Text the CID font can show: GBK characters, with a few look-alikes and 〓 for the rest."""
    out = []
    for ch in str(text):
        if ch == "\n":
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat == "Zs" or ch == "\t":
            out.append(" " if ch != "\u3000" else ch)
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue  # control, format (zero-width, bidi), surrogate, private-use, unassigned
        elif ch in _SUBSTITUTES:
            out.append(_SUBSTITUTES[ch])
        else:
            try:
                ch.encode("gbk")
            except UnicodeEncodeError:
                out.append(MISSING_GLYPH)
            else:
                out.append(ch)
    return "".join(out)


def _markup(text: Any) -> str:
    """Escape for ReportLab's paragraph mini-markup; line breaks are kept."""
    return escape(printable(text)).replace("\n", "<br/>")


@lru_cache(maxsize=1)
def _font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _style(name: str, size: float, *, leading: float | None = None, **kw: Any) -> ParagraphStyle:
    return ParagraphStyle(
        name, fontName=_font(), fontSize=size, leading=leading or size * 1.5, wordWrap="CJK", **kw
    )


@lru_cache(maxsize=1)
def _styles() -> dict[str, ParagraphStyle]:
    return {
        "title": _style("title", 18, leading=26, alignment=TA_CENTER, spaceAfter=6 * mm),
        "heading": _style("heading", 13.5, spaceBefore=3 * mm, spaceAfter=1.5 * mm),
        "body": _style("body", 12, spaceAfter=2 * mm),
        "indented": _style("indented", 12, spaceAfter=2 * mm, firstLineIndent=24),
        "cell": _style("cell", 10, leading=13.5),
        "head": _style("head", 10, leading=13.5, alignment=TA_CENTER),
        "right": _style("right", 12, alignment=TA_RIGHT),
    }


def _p(text: Any, style: str) -> rl.Paragraph:
    return rl.Paragraph(_markup(text), _styles()[style])


# ---- blocks to flowables --------------------------------------------------------------------------------

_TEXT_WIDTH = A4[0] - 2 * MARGIN
_RULE = colors.Color(0.45, 0.45, 0.45)
_SHADE = colors.Color(0.92, 0.92, 0.92)
# Rows move to the next page whole; only a row taller than a page (a long 调查 narrative in one cell) is split
# inside, in parts of at least this many points — without it ReportLab gives up with a LayoutError.
_MIN_ROW_PART = 24


class _CheckBox(rl.Flowable):
    """A 3.6 mm square, with a tick when checked — drawn, so it does not depend on any font's ☐/☑."""

    SIZE = 3.6 * mm

    def __init__(self, checked: bool):
        super().__init__()
        self.checked = checked
        self.width = self.height = self.SIZE

    def draw(self) -> None:
        c, s = self.canv, self.SIZE
        c.setLineWidth(0.8)
        c.rect(0, -0.6 * mm, s, s)
        if self.checked:  # one stroked path of two segments
            tick = c.beginPath()
            tick.moveTo(0.18 * s, 0.5 * s - 0.6 * mm)
            tick.lineTo(0.42 * s, 0.22 * s - 0.6 * mm)
            tick.lineTo(0.86 * s, 0.86 * s - 0.6 * mm)
            c.setLineWidth(1.3)
            c.drawPath(tick, stroke=1, fill=0)


def _grid(data: list[list[Any]], widths: list[float], extra: list[tuple[Any, ...]], **kw: Any) -> rl.Table:
    table = rl.Table(data, colWidths=widths, splitInRow=_MIN_ROW_PART, **kw)
    table.setStyle(
        rl.TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), _font()),  # ReportLab's default would add Helvetica
                ("GRID", (0, 0), (-1, -1), 0.5, _RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                *extra,
            ]
        )
    )
    return table


def _fields(block: Fields) -> rl.Table:
    per_row = block.columns
    label_w, value_w = _TEXT_WIDTH * 0.18, _TEXT_WIDTH * (1 / per_row - 0.18)
    cells: list[list[Any]] = [[_p(label, "cell"), _p(value, "cell")] for label, value in block.items]
    cells += [["", ""]] * (-len(cells) % per_row)
    data = [sum(cells[i : i + per_row], []) for i in range(0, len(cells), per_row)]
    shade = [("BACKGROUND", (2 * k, 0), (2 * k, -1), _SHADE) for k in range(per_row)]
    return _grid(data, [label_w, value_w] * per_row, shade, spaceAfter=3 * mm)


def _cell(value: Any, width: float) -> Any:
    """A plain string when it fits on one line (drawn as is, no markup), else a wrapping paragraph: a
    paragraph per cell costs a third of the time of a 3,000-row 公示 list."""
    text = printable(value)
    if "\n" not in text and pdfmetrics.stringWidth(text, FONT, 10) <= width - 12:
        return text
    return _p(text, "cell")


def _table(block: Table) -> rl.Table:
    weights = list(block.col_widths or [1.0] * len(block.header))
    widths = [_TEXT_WIDTH * w / sum(weights) for w in weights]
    data = [[_p(h, "head") for h in block.header]]
    data += [[_cell(cell, width) for cell, width in zip(row, widths, strict=True)] for row in block.rows]
    return _grid(
        data,
        widths,
        [
            ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
            ("FONTSIZE", (0, 1), (-1, -1), 10),
            ("LEADING", (0, 1), (-1, -1), 13.5),
        ],
        repeatRows=1 if block.repeat_header else 0,
        spaceAfter=3 * mm,
    )


def _checklist(block: Checklist) -> rl.Table:
    data = [[_CheckBox(checked), _p(text, "body")] for text, checked in block.items]
    table = rl.Table(
        data, colWidths=[8 * mm, _TEXT_WIDTH - 8 * mm], splitInRow=_MIN_ROW_PART, spaceAfter=2 * mm
    )
    table.setStyle(
        rl.TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), _font()),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
                ("LEFTPADDING", (0, 0), (0, -1), 2),
            ]
        )
    )
    return table


def _flowable(block: Block) -> rl.Flowable:
    match block:
        case Para(text=text, indent=indent):
            return _p(text, "indented" if indent else "body")
        case Heading(text=text):
            return _p(text, "heading")
        case Fields():
            return _fields(block)
        case Table():
            return _table(block)
        case Checklist():
            return _checklist(block)
        case Spacer(mm=height):
            return rl.Spacer(1, height * mm)
    raise TypeError(f"not a printable block: {block!r}")


class _SignatureLine(rl.Flowable):
    """``经办人：________  日期：    年  月  日`` — drawn at fixed positions (a paragraph would collapse the gaps
    left for the handwritten date)."""

    SIZE = 12

    def __init__(self, label: str):
        super().__init__()
        self.label = printable(label) + "："
        self.width, self.height = _TEXT_WIDTH, 12 * mm

    def draw(self) -> None:
        c, y, size = self.canv, 2 * mm, self.SIZE
        date = (("日期：", 18 * mm), ("年", 10 * mm), ("月", 10 * mm), ("日", 0.0))
        date_width = sum(pdfmetrics.stringWidth(t, FONT, size) + gap for t, gap in date)
        start = max(42 * mm, pdfmetrics.stringWidth(self.label, FONT, size) + 3 * mm)
        end = start + max(20 * mm, min(56 * mm, self.width - date_width - 3 * mm - start))
        c.setFont(_font(), size)
        c.drawString(0, y, self.label)
        c.setLineWidth(0.6)
        c.line(start, y - 1.5, end, y - 1.5)
        x = end + 3 * mm
        for text, gap in date:
            c.drawString(x, y, text)
            x += pdfmetrics.stringWidth(text, FONT, size) + gap


def _closing(doc: Doc) -> rl.Flowable:
    """Signature lines, then the authority, date and seal placeholder at the bottom right, kept together."""
    parts: list[rl.Flowable] = [rl.Spacer(1, 6 * mm)]
    parts += [_SignatureLine(label) for label in doc.signature_lines]
    if doc.signature_lines:
        parts.append(rl.Spacer(1, 8 * mm))
    authority = printable(doc.authority) + ("（盖章）" if doc.seal else "")  # str(): lazy translations too
    issued = f"{doc.issued_on.year}年{doc.issued_on.month}月{doc.issued_on.day}日"
    parts += [_p(authority, "right"), _p(issued, "right")]
    return rl.KeepTogether(parts)


# ---- page furniture -------------------------------------------------------------------------------------


def _furniture(c: Canvas, doc: Doc, page: int, total: int) -> None:
    width, height = A4
    c.saveState()
    c.setFont(_font(), 9)
    c.setFillColor(colors.Color(0.25, 0.25, 0.25))
    c.drawString(MARGIN, height - 13 * mm, printable(doc.authority))
    c.drawRightString(width - MARGIN, height - 13 * mm, printable(f"案件编号：{doc.case_no}"))
    c.drawString(MARGIN, 11 * mm, printable(f"核验码：{doc.verification_code}（可在 {doc.verify_at} 核验）"))
    c.drawRightString(width - MARGIN, 11 * mm, f"第 {page} 页 共 {total} 页")
    c.setStrokeColor(_RULE)
    c.setLineWidth(0.4)
    c.line(MARGIN, height - 15 * mm, width - MARGIN, height - 15 * mm)
    c.line(MARGIN, 15 * mm, width - MARGIN, 15 * mm)
    if doc.watermark:
        text = printable(doc.watermark)
        size = min(72.0, 0.6 * (width**2 + height**2) ** 0.5 / max(pdfmetrics.stringWidth(text, FONT, 1), 1))
        # drawn over the content, translucent, so shaded table cells cannot hide it
        c.setFillColor(colors.Color(0.5, 0.5, 0.5, alpha=0.16))
        c.translate(width / 2, height / 2)
        c.rotate(45)
        c.setFont(_font(), size)
        c.drawCentredString(0, -size / 3, text)
    c.restoreState()


class _PagedCanvas(Canvas):
    """Holds pages back until the end so that each can say "共 Y 页" (the ReportLab page-count recipe)."""

    def __init__(self, *args: Any, doc: Doc, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._jiuzhu_doc = doc
        self._held: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held)
        for state in self._held:
            self.__dict__.update(state)
            _furniture(self, self._jiuzhu_doc, self._pageNumber, total)
            super().showPage()
        super().save()


# ---- public API -----------------------------------------------------------------------------------------


def render(doc: Doc, *, invariant: bool = False, compress: bool = True) -> bytes:
    """The document as A4 PDF bytes. ``invariant`` fixes dates and IDs so equal input gives equal bytes;
    ``compress=False`` leaves page content streams readable (tests)."""
    buf = io.BytesIO()
    template = rl.SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=printable(doc.title),
        author=printable(doc.authority),
        creator="jiuzhu",
        initialFontName=_font(),  # otherwise every page also references Helvetica
        invariant=1 if invariant else 0,
        pageCompression=1 if compress else 0,
    )
    story: list[rl.Flowable] = [_p(doc.title, "title")]
    story += [_flowable(block) for block in doc.blocks]
    story.append(_closing(doc))
    template.build(story, canvasmaker=partial(_PagedCanvas, doc=doc))
    return buf.getvalue()


def render_response(doc: Doc, filename: str) -> HttpResponse:
    """An inline PDF response. ``no-store``: these documents carry personal data and must not sit in caches."""
    name = "".join(ch for ch in filename if ch not in '/\\"' and unicodedata.category(ch)[0] != "C").strip()
    if not name.lower().endswith(".pdf"):
        name += ".pdf"
    response = HttpResponse(render(doc), content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(name, safe='')}"
    response["Cache-Control"] = "no-store"
    return response


# ---- verification codes ---------------------------------------------------------------------------------


def make_verification_code(*parts: str) -> str:
    """A 12-symbol code such as ``K7Q9-4MXT-2PHD``: a keyed HMAC-SM3 (the crypto provider's blind index under
    its own purpose) of the parts, so it is stable for the same document and cannot be guessed or forged
    without the key file. 31 symbols ^ 12 ≈ 2^59."""
    if not parts:
        raise ValueError("make_verification_code needs at least one part")
    digest = crypto.blind_index(json.dumps(list(parts), ensure_ascii=False), purpose=VERIFY_PURPOSE)
    n = int(digest, 16)
    symbols = []
    for _ in range(CODE_LENGTH):
        n, r = divmod(n, len(CODE_ALPHABET))
        symbols.append(CODE_ALPHABET[r])
    return _group("".join(symbols))


def _group(code: str) -> str:
    return "-".join(code[i : i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))


def normalise_verification_code(text: str) -> str:
    """The canonical ``XXXX-XXXX-XXXX`` form of what someone typed: any case, full-width characters, spaces
    or dashes anywhere. ``ValueError`` if it cannot be a code (wrong length or a symbol outside the alphabet)."""
    raw = "".join(ch for ch in unicodedata.normalize("NFKC", text).upper() if ch.isalnum())
    if len(raw) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in raw):
        raise ValueError("not a verification code")
    return _group(raw)
