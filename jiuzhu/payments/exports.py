"""Bank files and the summary sheet of an approved run (layouts in docs/payments.md).

* ``<stem>.csv`` — 代发明细, one row per line, UTF-8 with BOM, CRLF, amounts with two decimals;
* ``<stem>.xml`` — the same payments as ISO 20022 ``pain.001.001.03`` (CustomerCreditTransferInitiation), one
  payment information block, category purpose ``SSBE`` (social security benefit), currency CNY;
* ``<stem>.xlsx`` — sheet 发放明细 (the CSV's columns) and sheet 汇总 (totals by area and programme, grand total,
  and the lines a finance office signs).

The CSV and XML are deterministic: the same run gives the same bytes on every export (their SHA-256 is kept on
the run at the first export and checked on later ones), so a second download is the same payment order and the
bank's duplicate check on ``EndToEndId`` (= the line's reference) holds. Cells are neutralised against formula
injection. Full account numbers appear only in these files; every export is audited."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiuzhu.core import crypto
from jiuzhu.core.audit import audit_record
from jiuzhu.registry.exports import safe_cell

from .models import PayrollLine, PayrollRun
from .services import Refused, _authorise

CSV_HEADERS = ["序号", "业务参考号", "收款人姓名", "收款账号", "开户银行", "金额", "救助项目", "发放月份", "区划代码",
               "户编号", "说明参考"]  # fmt: skip
PROGRAMME_NAMES = {"dibao": "最低生活保障", "tekun": "特困人员救助供养", "two_subsidies": "残疾人两项补贴",
                   "elderly": "高龄补贴", "child": "孤儿和事实无人抚养儿童基本生活费", "all": "全部项目"}  # fmt: skip
PAIN = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"


@dataclass
class ExportBundle:
    run: PayrollRun
    files: dict[str, bytes]


def stem(run: PayrollRun) -> str:
    kind = "" if run.kind == PayrollRun.Kind.REGULAR else "-reissue"
    return f"payroll-{run.area_code}-{run.month:%Y%m}-{run.programme}-{run.pk}{kind}"


def _lines(run: PayrollRun) -> list[PayrollLine]:
    return list(run.lines.exclude(status=PayrollLine.Status.CANCELLED).select_related("household").order_by("pk"))


def _account(line: PayrollLine) -> str:
    return crypto.decrypt(line.bank_account_enc, context="household.bank_account")


def export(run: PayrollRun | int, actor: Any) -> ExportBundle:
    """The run's files. An approved run becomes ``exported``; an exported run gives the same CSV and XML again."""
    with transaction.atomic():
        r = PayrollRun.objects.select_for_update().get(pk=run if isinstance(run, int) else run.pk)
        _authorise(actor, r.area_code)
        if r.status not in (PayrollRun.Status.APPROVED, PayrollRun.Status.EXPORTED):
            raise Refused(_("发放批次须经审核后方可导出（当前状态：%(s)s）。") % {"s": r.get_status_display()})
        first = r.exported_at is None
        if first:
            r.exported_at = timezone.now()
        lines = _lines(r)
        accounts = [_account(ln) for ln in lines]
        files = {f"{stem(r)}.csv": bank_csv(lines, accounts), f"{stem(r)}.xml": pain001(r, lines, accounts),
                 f"{stem(r)}.xlsx": workbook(r, lines, accounts)}  # fmt: skip
        sums = {name: hashlib.sha256(data).hexdigest() for name, data in files.items() if not name.endswith(".xlsx")}
        if first:
            r.exports = sums
            r.status = PayrollRun.Status.EXPORTED
            r.version += 1
            r.save()
        elif sums != r.exports:  # would mean a line changed after the bank got the file
            raise Refused(_("导出文件与首次导出不一致，请联系系统管理员。"))
        audit_record(action="payroll.export", actor=actor, obj=r,
                     detail={"first": first, "lines": len(lines), "total": str(r.total_amount), "files": sums})  # fmt: skip
        return ExportBundle(r, files)


def _row(i: int, ln: PayrollLine, account: str) -> list[Any]:
    return [i, ln.reference, ln.payee_name, account, ln.bank_name, f"{ln.amount:.2f}", PROGRAMME_NAMES.get(ln.programme, ln.programme),
            f"{ln.month:%Y-%m}", ln.area_code, ln.household.household_no, ln.explanation_ref]  # fmt: skip


def bank_csv(lines: list[PayrollLine], accounts: list[str]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_HEADERS)
    for i, (ln, acc) in enumerate(zip(lines, accounts, strict=True), 1):
        w.writerow([safe_cell(v, xlsx=False) for v in _row(i, ln, acc)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrs)
    if text is not None:
        el.text = text
    return el


def _nm(value: str) -> str:
    return (value or "NOTPROVIDED")[:140]


def pain001(run: PayrollRun, lines: list[PayrollLine], accounts: list[str]) -> bytes:
    """ISO 20022 credit transfer initiation. The debtor (the county's payment account) comes from the environment
    (``JIUZHU_PAYROLL_DEBTOR_NAME``, ``JIUZHU_PAYROLL_DEBTOR_ACCOUNT``); without it ``NOTPROVIDED``."""
    assert run.exported_at is not None
    total = sum((ln.amount for ln in lines), Decimal("0.00"))
    ET.register_namespace("", PAIN)
    doc = ET.Element("Document", {"xmlns": PAIN})
    root = _sub(doc, "CstmrCdtTrfInitn")
    hdr = _sub(root, "GrpHdr")
    _sub(hdr, "MsgId", f"JZ-RUN-{run.pk}")
    _sub(hdr, "CreDtTm", timezone.localtime(run.exported_at).strftime("%Y-%m-%dT%H:%M:%S"))
    _sub(hdr, "NbOfTxs", str(len(lines)))
    _sub(hdr, "CtrlSum", f"{total:.2f}")
    _sub(_sub(hdr, "InitgPty"), "Nm", _nm(os.environ.get("JIUZHU_PAYROLL_DEBTOR_NAME", "")))
    pmt = _sub(root, "PmtInf")
    _sub(pmt, "PmtInfId", f"JZ-RUN-{run.pk}-{run.month:%Y%m}")
    _sub(pmt, "PmtMtd", "TRF")
    _sub(pmt, "NbOfTxs", str(len(lines)))
    _sub(pmt, "CtrlSum", f"{total:.2f}")
    _sub(_sub(_sub(pmt, "PmtTpInf"), "CtgyPurp"), "Cd", "SSBE")
    _sub(pmt, "ReqdExctnDt", timezone.localtime(run.exported_at).date().isoformat())
    _sub(_sub(pmt, "Dbtr"), "Nm", _nm(os.environ.get("JIUZHU_PAYROLL_DEBTOR_NAME", "")))
    _sub(_sub(_sub(_sub(pmt, "DbtrAcct"), "Id"), "Othr"), "Id", _nm(os.environ.get("JIUZHU_PAYROLL_DEBTOR_ACCOUNT", "")))
    _sub(_sub(_sub(_sub(pmt, "DbtrAgt"), "FinInstnId"), "Othr"), "Id", "NOTPROVIDED")
    for ln, acc in zip(lines, accounts, strict=True):
        tx = _sub(pmt, "CdtTrfTxInf")
        _sub(_sub(tx, "PmtId"), "EndToEndId", ln.reference)
        _sub(_sub(tx, "Amt"), "InstdAmt", f"{ln.amount:.2f}", Ccy="CNY")
        _sub(_sub(_sub(tx, "CdtrAgt"), "FinInstnId"), "Nm", _nm(ln.bank_name))
        _sub(_sub(tx, "Cdtr"), "Nm", _nm(ln.payee_name))
        _sub(_sub(_sub(_sub(tx, "CdtrAcct"), "Id"), "Othr"), "Id", acc)
        _sub(_sub(tx, "RmtInf"), "Ustrd", f"{ln.month:%Y-%m} {PROGRAMME_NAMES.get(ln.programme, ln.programme)} {ln.reference}"[:140])
    ET.indent(doc)
    return ET.tostring(doc, encoding="utf-8", xml_declaration=True)


def summary(lines: list[PayrollLine]) -> tuple[list[str], list[tuple[str, dict[str, tuple[int, Decimal]]]]]:
    """Totals by township (the first nine digits of the line's area) and programme."""
    progs = sorted({ln.programme for ln in lines}, key=lambda p: list(PROGRAMME_NAMES).index(p) if p in PROGRAMME_NAMES else 99)
    by: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(lambda: [0, Decimal("0.00")]))
    for ln in lines:
        cell = by[ln.area_code[:9]][ln.programme]
        cell[0] += 1
        cell[1] += ln.amount
    rows = [(area, {p: (c[0], c[1]) for p, c in cells.items()}) for area, cells in sorted(by.items())]
    return progs, rows


def workbook(run: PayrollRun, lines: list[PayrollLine], accounts: list[str]) -> bytes:
    from openpyxl import Workbook

    from jiuzhu.core.models import Division

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "发放明细"
    ws.append(CSV_HEADERS)
    for i, (ln, acc) in enumerate(zip(lines, accounts, strict=True), 1):
        ws.append([safe_cell(v, xlsx=True) for v in _row(i, ln, acc)])
    sm = wb.create_sheet("汇总")
    progs, rows = summary(lines)
    names = dict(Division.objects.filter(code__in=[a for a, _ in rows] + [run.area_code]).values_list("code", "name"))
    sm.append([f"{names.get(run.area_code, run.area_code)} {run.month:%Y年%m月} 社会救助资金发放汇总表"])
    sm.append([f"批次 {run.pk}（{'失败重发' if run.kind == PayrollRun.Kind.REISSUE else '按月发放'}），项目：{PROGRAMME_NAMES.get(run.programme, run.programme)}"])
    sm.append([])
    head = ["区划代码", "乡镇（街道）"]
    for p in progs:
        head += [f"{PROGRAMME_NAMES.get(p, p)} 人次", f"{PROGRAMME_NAMES.get(p, p)} 金额"]
    sm.append([*head, "合计人次", "合计金额"])
    totals: dict[str, list[Any]] = {p: [0, Decimal("0.00")] for p in progs}
    for area, cells in rows:
        row: list[Any] = [area, safe_cell(names.get(area, ""), xlsx=True)]
        n, s = 0, Decimal("0.00")
        for p in progs:
            c, a = cells.get(p, (0, Decimal("0.00")))
            row += [c, a]
            totals[p][0] += c
            totals[p][1] += a
            n, s = n + c, s + a
        sm.append([*row, n, s])
    grand: list[Any] = ["合计", ""]
    for p in progs:
        grand += totals[p]
    grand += [sum(t[0] for t in totals.values()), sum((t[1] for t in totals.values()), Decimal("0.00"))]
    sm.append(grand)
    for row_cells in sm.iter_rows(min_row=5):
        for cell in row_cells:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
    sm.append([])
    sm.append(["制表（经办）", getattr(run.made_by, "username", ""), "审核", getattr(run.approved_by, "username", "")])
    sm.append(["财务负责人（签字）", "", "日期", ""])
    when = timezone.localtime(run.exported_at) if run.exported_at else None
    if when is not None:
        wb.properties.created = wb.properties.modified = when.replace(tzinfo=None)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
