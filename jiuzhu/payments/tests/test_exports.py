"""The three files of a run agree line by line, whatever the names hold (markup, formula triggers, characters XML
cannot carry); the XML is the bytes ElementTree gave before the streaming writers (so runs exported earlier still
match their SHA-256); the workbook opens in openpyxl with its summary and number format."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest
from defusedxml import ElementTree as DET
from django.utils import timezone
from openpyxl import load_workbook

from jiuzhu.core import crypto
from jiuzhu.payments import exports
from jiuzhu.payments.exports import CSV_HEADERS, PAIN, PROGRAMME_NAMES, export
from jiuzhu.payments.models import PayrollLine, PayrollRun
from jiuzhu.registry.exports import neutralise
from jiuzhu.testing.fixtures import TOWN_A, villages

from .kit import approved_run, granted, sync

pytestmark = pytest.mark.django_db
AWKWARD = [("Tom & Jerry", "银行 <总行> & 分行"), ("<script>王</script>", "=HYPERLINK(\"x\")"), ("=1+2", "@SUM(A1)"),
           ("-李四", "工商银行 ")]  # fmt: skip


def _files(run: PayrollRun, actor) -> tuple[list[list[str]], bytes, bytes]:
    bundle = export(run, actor)
    stem = exports.stem(run)
    rows = list(csv.reader(io.StringIO(bundle.files[f"{stem}.csv"].decode("utf-8-sig"), newline="")))
    return rows, bundle.files[f"{stem}.xml"], bundle.files[f"{stem}.xlsx"]


def _run_with(personas, names: list[tuple[str, str]]) -> PayrollRun:
    vs = villages(TOWN_A)
    for i in range(len(names) + 1):
        granted(personas.caseworker_a, vs[i % len(vs)])
    sync()
    run = approved_run(personas.caseworker_a, personas.reviewer, TOWN_A)
    for line, (payee, bank) in zip(run.lines.order_by("pk"), names, strict=False):
        PayrollLine.objects.filter(pk=line.pk).update(payee_name=payee, bank_name=bank)
    return run


def _texts(row: tuple) -> list[str]:
    """A detail row as the CSV writes it (金额 with two decimals)."""
    return [f"{v:.2f}" if i == 5 else str(v) for i, v in enumerate(row)]


def test_csv_xml_and_xlsx_agree_line_by_line(personas):
    run = _run_with(personas, AWKWARD)
    rows, xml, xlsx = _files(run, personas.caseworker_a)
    assert rows[0] == CSV_HEADERS and len(rows) == 1 + len(AWKWARD) + 1
    lines = list(run.lines.order_by("pk"))
    assert [r[2] for r in rows[1:-1]] == [neutralise(p) for p, _ in AWKWARD]  # '=1+2, '-李四
    assert [r[4] for r in rows[1:-1]] == [neutralise(b) for _, b in AWKWARD]
    # pain.001 parses, and each transaction is the CSV's row (names as they are: the XML is not a spreadsheet)
    doc = DET.fromstring(xml)
    ns = {"p": PAIN}
    txs = doc.findall("p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf", ns)
    assert len(txs) == len(lines) == len(rows) - 1
    for tx, row, line in zip(txs, rows[1:], lines, strict=True):
        assert tx.find("p:PmtId/p:EndToEndId", ns).text == row[1] == line.reference
        assert tx.find("p:Amt/p:InstdAmt", ns).text == row[5] == f"{line.amount:.2f}"
        assert tx.find("p:CdtrAcct/p:Id/p:Othr/p:Id", ns).text == row[3]
        assert row[3] == crypto.decrypt(line.bank_account_enc, context="household.bank_account")
        assert (
            neutralise(tx.find("p:Cdtr/p:Nm", ns).text) == row[2]
            and tx.find("p:Cdtr/p:Nm", ns).text == line.payee_name
        )
        assert neutralise(tx.find("p:CdtrAgt/p:FinInstnId/p:Nm", ns).text) == row[4]
    total = sum(Decimal(r[5]) for r in rows[1:])
    assert doc.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", ns).text == str(len(lines))
    assert Decimal(doc.find("p:CstmrCdtTrfInitn/p:PmtInf/p:CtrlSum", ns).text) == total
    # the workbook's detail rows are the CSV's rows (序号 a number)
    wb = load_workbook(io.BytesIO(xlsx))
    assert wb.sheetnames == ["发放明细", "汇总"]
    detail = [list(r) for r in wb["发放明细"].iter_rows(values_only=True)]
    assert detail[0] == CSV_HEADERS
    assert [_texts(r) for r in detail[1:]] == rows[1:]
    assert all(isinstance(r[0], int) and isinstance(r[5], float) for r in detail[1:])  # 序号 and 金额 numbers
    assert b'<t xml:space="preserve">' + "工商银行 ".encode() in zipfile.ZipFile(io.BytesIO(xlsx)).read(
        "xl/worksheets/sheet1.xml"
    )  # the trailing space kept for Excel too
    # the summary: title, batch, header, the township, 合计 in #,##0.00, signature lines
    sm = wb["汇总"]
    values = [list(r) for r in sm.iter_rows(values_only=True)]
    assert values[0][0].endswith("2026年01月 社会救助资金发放汇总表") and values[1][0].startswith(
        f"批次 {run.pk}（按月发放）"
    )
    assert values[3] == ["区划代码", "乡镇（街道）", f"{PROGRAMME_NAMES['dibao']} 人次", f"{PROGRAMME_NAMES['dibao']} 金额",
                         "合计人次", "合计金额"]  # fmt: skip
    assert (
        values[4][0] == TOWN_A
        and values[4][1]
        and values[4][2:] == [len(lines), float(total), len(lines), float(total)]
    )
    assert values[5] == ["合计", None, len(lines), float(total), len(lines), float(total)]
    assert [c.number_format for c in sm[6]][2:] == ["General", "#,##0.00", "General", "#,##0.00"]
    assert values[7][:4] == [
        "制表（经办）",
        personas.caseworker_a.username,
        "审核",
        personas.reviewer.username,
    ]
    assert values[8][0] == "财务负责人（签字）"


def _elementtree_pain001(run: PayrollRun) -> bytes:
    """The pain.001 as ElementTree built it (the layout before the streaming writers), from the lines."""

    def sub(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, tag, attrs)
        if text is not None:
            el.text = text
        return el

    def nm(value):
        return (value or "NOTPROVIDED")[:140]

    lines = list(run.lines.exclude(status="cancelled").order_by("pk"))
    when = timezone.localtime(run.exported_at)
    total = f"{sum((ln.amount for ln in lines), Decimal('0.00')):.2f}"
    doc = ET.Element("Document", {"xmlns": PAIN})
    root = sub(doc, "CstmrCdtTrfInitn")
    hdr = sub(root, "GrpHdr")
    for tag, text in (("MsgId", f"JZ-RUN-{run.pk}"), ("CreDtTm", when.strftime("%Y-%m-%dT%H:%M:%S")),
                      ("NbOfTxs", str(len(lines))), ("CtrlSum", total)):  # fmt: skip
        sub(hdr, tag, text)
    sub(sub(hdr, "InitgPty"), "Nm", nm(os.environ.get("JIUZHU_PAYROLL_DEBTOR_NAME", "")))
    pmt = sub(root, "PmtInf")
    for tag, text in (("PmtInfId", f"JZ-RUN-{run.pk}-{run.month:%Y%m}"), ("PmtMtd", "TRF"), ("NbOfTxs", str(len(lines))),
                      ("CtrlSum", total)):  # fmt: skip
        sub(pmt, tag, text)
    sub(sub(sub(pmt, "PmtTpInf"), "CtgyPurp"), "Cd", "SSBE")
    sub(pmt, "ReqdExctnDt", when.date().isoformat())
    sub(sub(pmt, "Dbtr"), "Nm", nm(os.environ.get("JIUZHU_PAYROLL_DEBTOR_NAME", "")))
    sub(
        sub(sub(sub(pmt, "DbtrAcct"), "Id"), "Othr"),
        "Id",
        nm(os.environ.get("JIUZHU_PAYROLL_DEBTOR_ACCOUNT", "")),
    )
    sub(sub(sub(sub(pmt, "DbtrAgt"), "FinInstnId"), "Othr"), "Id", "NOTPROVIDED")
    for ln in lines:
        tx = sub(pmt, "CdtTrfTxInf")
        sub(sub(tx, "PmtId"), "EndToEndId", ln.reference)
        sub(sub(tx, "Amt"), "InstdAmt", f"{ln.amount:.2f}", Ccy="CNY")
        sub(sub(sub(tx, "CdtrAgt"), "FinInstnId"), "Nm", nm(ln.bank_name))
        sub(sub(tx, "Cdtr"), "Nm", nm(ln.payee_name))
        acc = crypto.decrypt(ln.bank_account_enc, context="household.bank_account")
        sub(sub(sub(sub(tx, "CdtrAcct"), "Id"), "Othr"), "Id", acc)
        prog = PROGRAMME_NAMES.get(ln.programme, ln.programme)
        sub(sub(tx, "RmtInf"), "Ustrd", f"{ln.month:%Y-%m} {prog} {ln.reference}"[:140])
    ET.indent(doc)
    return ET.tostring(doc, encoding="utf-8", xml_declaration=True)


def test_xml_is_the_bytes_elementtree_gave(personas, monkeypatch):
    monkeypatch.setenv("JIUZHU_PAYROLL_DEBTOR_NAME", "某县财政局 & 民政局")
    run = _run_with(personas, AWKWARD)
    _rows, xml, _xlsx = _files(run, personas.caseworker_a)
    run.refresh_from_db()
    assert xml == _elementtree_pain001(run)


def test_xlsx_strips_what_xml_cannot_hold_then_neutralises(personas):
    run = _run_with(personas, [("王\x07五", "\x01=银行")])
    rows, _xml, xlsx = _files(run, personas.caseworker_a)
    detail = list(load_workbook(io.BytesIO(xlsx))["发放明细"].iter_rows(values_only=True))
    assert rows[1][2] == "王\x07五" and rows[1][4] == "\x01=银行"  # the CSV keeps them (not a trigger first)
    assert (
        detail[1][2] == "王五" and detail[1][4] == "'=银行"
    )  # safe_cell(xlsx=True): stripped, then neutralised
    assert [_texts(r) for r in detail[2:]] == rows[2:]


def test_chunks_follow_on(personas, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK", 2)
    run = _run_with(personas, AWKWARD)
    rows, xml, xlsx = _files(run, personas.caseworker_a)
    assert [r[0] for r in rows[1:]] == [str(i) for i in range(1, len(rows))]
    refs = [t.text for t in DET.fromstring(xml).iter(f"{{{PAIN}}}EndToEndId")]
    assert refs == [r[1] for r in rows[1:]]
    detail = list(load_workbook(io.BytesIO(xlsx))["发放明细"].iter_rows(values_only=True))
    assert [_texts(r) for r in detail[1:]] == rows[1:]
