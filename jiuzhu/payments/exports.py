"""Bank files and the summary sheet of an approved run (layouts in docs/payments.md).

* ``<stem>.csv`` — 代发明细, one row per line, UTF-8 with BOM, CRLF, amounts with two decimals;
* ``<stem>.xml`` — the same payments as ISO 20022 ``pain.001.001.03`` (CustomerCreditTransferInitiation), one
  payment information block, category purpose ``SSBE`` (social security benefit), currency CNY;
* ``<stem>.xlsx`` — sheet 发放明细 (the CSV's columns) and sheet 汇总 (totals by area and programme, grand total,
  and the lines a finance office signs).

The CSV and XML are deterministic: the same run gives the same bytes on every export (their SHA-256 is kept on
the run at the first export and checked on later ones), so a second download is the same payment order and the
bank's duplicate check on ``EndToEndId`` (= the line's reference) holds. Cells are neutralised against formula
injection. Full account numbers appear only in these files; every export is audited.

A run has up to a million lines, so the three files are written in one pass over the lines, read as value tuples
a chunk at a time (never model instances), the chunk's accounts decrypted together (``crypto.decrypt_many``):
the CSV through ``csv.writer``, the XML from string templates (the bytes ElementTree with ``ET.indent`` gave
before, so runs exported earlier still match their SHA-256), the workbook by a small streaming XLSX writer
(inline strings, the detail sheet deflated into the zip as it is written)."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiuzhu.core import crypto
from jiuzhu.core.audit import audit_record
from jiuzhu.registry.exports import TRIGGERS, clean_xml_text, safe_cell

from .models import PayrollLine, PayrollRun
from .services import Refused, _authorise

CSV_HEADERS = ["序号", "业务参考号", "收款人姓名", "收款账号", "开户银行", "金额", "救助项目", "发放月份", "区划代码",
               "户编号", "说明参考"]  # fmt: skip
PROGRAMME_NAMES = {"dibao": "最低生活保障", "tekun": "特困人员救助供养", "two_subsidies": "残疾人两项补贴",
                   "elderly": "高龄补贴", "child": "孤儿和事实无人抚养儿童基本生活费", "all": "全部项目"}  # fmt: skip
PAIN = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"
CHUNK = 5000  # lines read, decrypted and written at a time
# what a line is read as: one tuple, the account still encrypted
COLUMNS = ("reference", "payee_name", "bank_name", "amount", "programme", "month", "area_code",
           "household__household_no", "explanation_ref", "bank_account_enc")  # fmt: skip
# [序号, reference, payee, account, bank, amount "0.00", programme name, "YYYY-MM", area, 户编号, explanation]
Row = list[Any]

_TRIGGERS = frozenset(TRIGGERS)  # neutralise()'s triggers are single characters
_MARKUP = re.compile(r"[&<>]")
# markup, or a control character XML 1.0 forbids (the characters clean_xml_text strips)
_UNSAFE = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f]")
_EDGE_SPACE = re.compile(r"(?:^|\x00)\s|\s(?:\x00|$)")  # a value that starts or ends with white space


@dataclass
class ExportBundle:
    run: PayrollRun
    files: dict[str, bytes]


@dataclass
class Totals:
    """What the summary sheet and the XML's group header need, gathered while the lines stream past."""

    count: int = 0
    amount: Decimal = Decimal("0.00")
    # (township, programme) → [count, amount]
    by: dict[tuple[str, str], list[Any]] = field(default_factory=dict)

    def add(self, chunk: list[tuple[Any, ...]]) -> None:
        by = self.by
        for t in chunk:
            cell = by.get((t[6][:9], t[4]))
            if cell is None:
                cell = by[(t[6][:9], t[4])] = [0, Decimal("0.00")]
            cell[0] += 1
            cell[1] += t[3]
        self.count += len(chunk)
        self.amount = sum((t[3] for t in chunk), self.amount)


KIND_NAMES = {"regular": "按月发放", "reissue": "失败重发", "backpay": "补发"}  # the sheet is a Chinese document


def _officer(user: Any) -> str:
    """The name a finance office knows (the login only when no name is recorded)."""
    return (getattr(user, "full_name", "") or getattr(user, "username", "")) if user is not None else ""


def stem(run: PayrollRun) -> str:
    kind = {"regular": "", "reissue": "-reissue"}.get(str(run.kind), f"-{run.kind}")
    return f"payroll-{run.area_code}-{run.month:%Y%m}-{run.programme}-{run.pk}{kind}"


def _chunks(run: PayrollRun) -> Iterator[list[tuple[Any, ...]]]:
    lines = run.lines.exclude(status=PayrollLine.Status.CANCELLED).order_by("pk").values_list(*COLUMNS)
    chunk: list[tuple[Any, ...]] = []
    for t in lines.iterator(chunk_size=CHUNK):
        chunk.append(t)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _rows(
    chunk: list[tuple[Any, ...]], accounts: list[str], start: int, months: dict[date, str]
) -> list[Row]:
    rows: list[Row] = []
    append = rows.append
    names = PROGRAMME_NAMES
    for i, (t, acc) in enumerate(zip(chunk, accounts, strict=True), start):
        ref, payee, bank, amount, prog, month, area, household_no, explanation, _enc = t
        m = months.get(month)
        if m is None:
            m = months[month] = f"{month:%Y-%m}"
        append([i, ref, payee, acc, bank, f"{amount:.2f}", names.get(prog, prog), m, area, household_no,
                explanation])  # fmt: skip
    return rows


def _neutralised(rows: list[Row]) -> list[Row]:
    """``safe_cell(v, xlsx=False)`` of every cell (the 序号 is a number; every other cell is text)."""
    trig = _TRIGGERS
    return [[r[0], *[("'" + v) if v[:1] in trig else v for v in r[1:]]] for r in rows]


def export(run: PayrollRun | int, actor: Any) -> ExportBundle:
    """The run's files. An approved run becomes ``exported``; an exported run gives the same CSV and XML again."""
    with transaction.atomic():
        r = PayrollRun.objects.select_for_update().get(pk=run if isinstance(run, int) else run.pk)
        _authorise(actor, r.area_code)
        if r.status not in (PayrollRun.Status.APPROVED, PayrollRun.Status.EXPORTED):
            raise Refused(
                _("发放批次须经审核后方可导出（当前状态：%(s)s）。") % {"s": r.get_status_display()}
            )
        first = r.exported_at is None
        if first:
            r.exported_at = timezone.now()
        bank, pain, book, totals = BankCsv(), Pain001(r), DetailSheet(), Totals()
        months: dict[date, str] = {}
        for chunk in _chunks(r):
            accounts = crypto.decrypt_many([t[9] for t in chunk], context="household.bank_account")
            rows = _rows(chunk, accounts, totals.count + 1, months)
            totals.add(chunk)
            cells = _neutralised(rows)
            bank.add(cells)
            pain.add(rows)
            book.add(rows, cells)
        files = {f"{stem(r)}.csv": bank.close(), f"{stem(r)}.xml": pain.close(totals),
                 f"{stem(r)}.xlsx": workbook(r, book, totals)}  # fmt: skip
        sums = {
            name: hashlib.sha256(data).hexdigest()
            for name, data in files.items()
            if not name.endswith(".xlsx")
        }
        if first:
            r.exports = sums
            r.status = PayrollRun.Status.EXPORTED
            r.version += 1
            r.save()
        elif sorted(sums.values()) != sorted(r.exports.values()):  # a line changed after the bank got the file
            raise Refused(_("导出文件与首次导出不一致，请联系系统管理员。"))
        audit_record(action="payroll.export", actor=actor, obj=r,
                     detail={"first": first, "lines": totals.count, "total": str(r.total_amount), "files": sums})  # fmt: skip
        return ExportBundle(r, files)


# --- CSV ---------------------------------------------------------------------------------------------------------


class BankCsv:
    """代发明细: UTF-8 with BOM, CRLF, the header row, one row per line."""

    def __init__(self) -> None:
        self.raw = io.BytesIO()  # encoded as it is written: no second copy of the file as text
        self.text = io.TextIOWrapper(self.raw, encoding="utf-8", newline="")
        self.text.write("\ufeff")
        self.writer = csv.writer(self.text, lineterminator="\r\n")
        self.writer.writerow(CSV_HEADERS)

    def add(self, cells: list[Row]) -> None:
        self.writer.writerows(cells)

    def close(self) -> bytes:
        self.text.flush()
        return self.raw.getvalue()


# --- pain.001 ----------------------------------------------------------------------------------------------------
# The layout ElementTree gave with ET.indent (two spaces, ``<X />`` for an empty element), byte for byte.

_TX = """
      <CdtTrfTxInf>
        <PmtId>
          <EndToEndId>{}</EndToEndId>
        </PmtId>
        <Amt>
          <InstdAmt Ccy="CNY">{}</InstdAmt>
        </Amt>
        <CdtrAgt>
          <FinInstnId>
            <Nm>{}</Nm>
          </FinInstnId>
        </CdtrAgt>
        <Cdtr>
          <Nm>{}</Nm>
        </Cdtr>
        <CdtrAcct>
          <Id>
            <Othr>
              <Id>{}</Id>
            </Othr>
          </Id>
        </CdtrAcct>
        <RmtInf>
          <Ustrd>{}</Ustrd>
        </RmtInf>
      </CdtTrfTxInf>"""


def _nm(value: str) -> str:
    return (value or "NOTPROVIDED")[:140]


def _text(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>" if value else f"<{tag} />"


class Pain001:
    """ISO 20022 credit transfer initiation. The debtor (the county's payment account) comes from the environment
    (``JIUZHU_PAYROLL_DEBTOR_NAME``, ``JIUZHU_PAYROLL_DEBTOR_ACCOUNT``); without it ``NOTPROVIDED``. The
    transactions are kept encoded, the group header (counts and control sum) is written in front at the end."""

    def __init__(self, run: PayrollRun) -> None:
        self.run = run
        self.parts: list[bytes] = []

    def add(self, rows: list[Row]) -> None:
        tx = _TX.format
        out: list[str] = []
        append = out.append
        # escape only when the chunk holds markup at all (almost never: references, digits, Chinese names)
        markup = _MARKUP.search("".join([v for r in rows for v in (r[1], r[2], r[3], r[4], r[6])]))
        for r in rows:
            ref, payee, acc, bank, amount, prog, month = r[1], r[2], r[3], r[4], r[5], r[6], r[7]
            ustrd = f"{month} {prog} {ref}"[:140]
            if markup:
                s = tx(escape(ref), amount, escape(_nm(bank)), escape(_nm(payee)), escape(acc), escape(ustrd))
            else:
                s = tx(ref, amount, _nm(bank), _nm(payee), acc, ustrd)
            if not ref or not acc:
                s = s.replace("<EndToEndId></EndToEndId>", "<EndToEndId />").replace("<Id></Id>", "<Id />")
            append(s)
        self.parts.append("".join(out).encode("utf-8"))

    def close(self, totals: Totals) -> bytes:
        run = self.run
        assert run.exported_at is not None
        when = timezone.localtime(run.exported_at)
        debtor = _nm(os.environ.get("JIUZHU_PAYROLL_DEBTOR_NAME", ""))
        account = _nm(os.environ.get("JIUZHU_PAYROLL_DEBTOR_ACCOUNT", ""))
        n, total = str(totals.count), f"{totals.amount:.2f}"
        head = f"""<?xml version='1.0' encoding='utf-8'?>
<Document xmlns={quoteattr(PAIN)}>
  <CstmrCdtTrfInitn>
    <GrpHdr>
      {_text("MsgId", f"JZ-RUN-{run.pk}")}
      {_text("CreDtTm", when.strftime("%Y-%m-%dT%H:%M:%S"))}
      {_text("NbOfTxs", n)}
      {_text("CtrlSum", total)}
      <InitgPty>
        {_text("Nm", debtor)}
      </InitgPty>
    </GrpHdr>
    <PmtInf>
      {_text("PmtInfId", f"JZ-RUN-{run.pk}-{run.month:%Y%m}")}
      <PmtMtd>TRF</PmtMtd>
      {_text("NbOfTxs", n)}
      {_text("CtrlSum", total)}
      <PmtTpInf>
        <CtgyPurp>
          <Cd>SSBE</Cd>
        </CtgyPurp>
      </PmtTpInf>
      {_text("ReqdExctnDt", when.date().isoformat())}
      <Dbtr>
        {_text("Nm", debtor)}
      </Dbtr>
      <DbtrAcct>
        <Id>
          <Othr>
            {_text("Id", account)}
          </Othr>
        </Id>
      </DbtrAcct>
      <DbtrAgt>
        <FinInstnId>
          <Othr>
            <Id>NOTPROVIDED</Id>
          </Othr>
        </FinInstnId>
      </DbtrAgt>"""
        tail = "\n    </PmtInf>\n  </CstmrCdtTrfInitn>\n</Document>"
        out = io.BytesIO()
        out.write(head.encode("utf-8"))
        parts, self.parts = self.parts[::-1], []
        while parts:  # each part dropped once copied: the file is held about once, not twice
            out.write(parts.pop())
        out.write(tail.encode("utf-8"))
        return out.getvalue()


# --- XLSX --------------------------------------------------------------------------------------------------------
# A minimal SpreadsheetML package: inline strings (no shared-string table to hold), rows and cells without
# references (they are optional: a row follows the previous one, a cell the previous cell), one number format.

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_HEAD = f'{_XML_HEAD}<worksheet xmlns="{_MAIN}"><sheetData>'
_SHEET_TAIL = "</sheetData></worksheet>"
_S = '<c t="inlineStr"><is><t>'  # a text cell opens,
_SE = "</t></is></c>"  # and closes
_MONEY_STYLE = 1  # cellXfs index of #,##0.00 (built-in number format 4)
_STYLES = f"""{_XML_HEAD}<styleSheet xmlns="{_MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""  # noqa: E501
_CONTENT_TYPES = f"""{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>"""  # noqa: E501
_ROOT_RELS = f"""{_XML_HEAD}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/><Relationship Id="rId2" Type="{_PKG_REL}/metadata/core-properties" Target="docProps/core.xml"/></Relationships>"""  # noqa: E501
_BOOK_RELS = f"""{_XML_HEAD}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{_REL}/worksheet" Target="worksheets/sheet2.xml"/><Relationship Id="rId3" Type="{_REL}/styles" Target="styles.xml"/></Relationships>"""  # noqa: E501
_BOOK = f"""{_XML_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets><sheet name="发放明细" sheetId="1" r:id="rId1"/><sheet name="汇总" sheetId="2" r:id="rId2"/></sheets></workbook>"""  # noqa: E501


def _core(when: str) -> str:
    return (f'{_XML_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>jiuzhu</dc:creator>'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{when}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{when}</dcterms:modified></cp:coreProperties>')  # fmt: skip


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "<c/>"
    if isinstance(value, Decimal):
        return f'<c s="{_MONEY_STYLE}"><v>{value:f}</v></c>'
    if isinstance(value, int):
        return f"<c><v>{value}</v></c>"
    text = clean_xml_text(str(value))
    if text != text.strip():  # kept as it is, as openpyxl writes it
        return f'<c t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'
    return f"{_S}{escape(text)}{_SE}"


def _xml_row(values: list[Any]) -> str:
    return "<row>" + "".join(_cell(v) for v in values) + "</row>"


class DetailSheet:
    """The workbook being written: sheet 发放明细 is deflated into the zip chunk by chunk; ``workbook`` adds the
    summary and the package parts and closes it."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.zip = zipfile.ZipFile(self.buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self.sheet = self.zip.open("xl/worksheets/sheet1.xml", "w")
        self.sheet.write((_SHEET_HEAD + _xml_row(CSV_HEADERS)).encode("utf-8"))

    def add(self, rows: list[Row], cells: list[Row]) -> None:
        """``rows`` as read, ``cells`` neutralised (the CSV's)."""
        sep = _SE + _S
        values = [v for r in cells for v in r[1:]]
        # rare: escape, strip what XML cannot hold before neutralising (safe_cell), keep spaces at either end
        if _UNSAFE.search("".join(values)) or _EDGE_SPACE.search("\x00".join(values)):
            xml = "".join([_xml_row([r[0], *(Decimal(v) if i == 4 else safe_cell(v, xlsx=True)
                                                 for i, v in enumerate(r[1:]))]) for r in rows])  # fmt: skip
        else:  # 金额 a number (Excel's SUM adds it up), the rest text
            money = f'{_SE}<c s="{_MONEY_STYLE}"><v>'
            xml = "".join([f"<row><c><v>{r[0]}</v></c>{_S}{sep.join(r[1:5])}{money}{r[5]}</v></c>{_S}"
                           f"{sep.join(r[6:])}{_SE}</row>" for r in cells])  # fmt: skip
        self.sheet.write(xml.encode("utf-8"))

    def close(self, summary: list[list[Any]], created: str) -> bytes:
        self.sheet.write(_SHEET_TAIL.encode("utf-8"))
        self.sheet.close()
        z = self.zip
        z.writestr(
            "xl/worksheets/sheet2.xml", _SHEET_HEAD + "".join(_xml_row(r) for r in summary) + _SHEET_TAIL
        )
        for name, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                           ("docProps/core.xml", _core(created)), ("xl/workbook.xml", _BOOK),
                           ("xl/_rels/workbook.xml.rels", _BOOK_RELS), ("xl/styles.xml", _STYLES)):  # fmt: skip
            z.writestr(name, text)
        z.close()
        return self.buf.getvalue()


def summary(totals: Totals) -> tuple[list[str], list[tuple[str, dict[str, tuple[int, Decimal]]]]]:
    """Totals by township (the first nine digits of the line's area) and programme."""
    order = list(PROGRAMME_NAMES)
    progs = sorted({p for _area, p in totals.by}, key=lambda p: order.index(p) if p in order else 99)
    by: dict[str, dict[str, tuple[int, Decimal]]] = {}
    for (area, prog), (count, amount) in totals.by.items():
        by.setdefault(area, {})[prog] = (count, amount)
    return progs, sorted(by.items())


def workbook(run: PayrollRun, book: DetailSheet, totals: Totals) -> bytes:
    """The xlsx: the detail sheet written so far, the summary sheet a finance office signs."""
    from jiuzhu.core.models import Division

    progs, rows = summary(totals)
    names = dict(
        Division.objects.filter(code__in=[a for a, _ in rows] + [run.area_code]).values_list("code", "name")
    )
    sm: list[list[Any]] = [
        [f"{names.get(run.area_code, run.area_code)} {run.month:%Y年%m月} 社会救助资金发放汇总表"],
        [f"批次 {run.pk}（{KIND_NAMES.get(run.kind, run.kind)}），项目：{PROGRAMME_NAMES.get(run.programme, run.programme)}"],
        [],
    ]  # fmt: skip
    head = ["区划代码", "乡镇（街道）"]
    for p in progs:
        head += [f"{PROGRAMME_NAMES.get(p, p)} 人次", f"{PROGRAMME_NAMES.get(p, p)} 金额"]
    sm.append([*head, "合计人次", "合计金额"])
    sums: dict[str, list[Any]] = {p: [0, Decimal("0.00")] for p in progs}
    for area, cells in rows:
        row: list[Any] = [area, safe_cell(names.get(area, ""), xlsx=True)]
        n, s = 0, Decimal("0.00")
        for p in progs:
            c, a = cells.get(p, (0, Decimal("0.00")))
            row += [c, a]
            sums[p][0] += c
            sums[p][1] += a
            n, s = n + c, s + a
        sm.append([*row, n, s])
    grand: list[Any] = ["合计", ""]
    for p in progs:
        grand += sums[p]
    grand += [sum(t[0] for t in sums.values()), sum((t[1] for t in sums.values()), Decimal("0.00"))]
    sm.append(grand)
    sm.append([])
    sm.append(
        [
            "制表（经办）",
            _officer(run.made_by),
            "审核",
            _officer(run.approved_by),
        ]
    )
    sm.append(["财务负责人（签字）", "", "日期", ""])
    when = timezone.localtime(run.exported_at) if run.exported_at else timezone.localtime()
    return book.close(sm, when.strftime("%Y-%m-%dT%H:%M:%SZ"))
