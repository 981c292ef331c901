"""The bank's return file (回盘文件): which lines were paid and which failed, with the reason (SECURITY PAY-RECON).

The file is checked as a whole before anything is applied: every bad cell is reported as 第N行 列名; any such
error refuses the file and changes nothing. References the platform does not know (or that belong to an area the
officer cannot see) are reported and not applied. The same file twice (same SHA-256) is a no-op; a row that
repeats what is already recorded changes nothing either. A paid line never changes again; a failed line that was
re-issued is not touched (the re-issue carries the payment now) — both are reported as conflicts.

Layout (CSV, UTF-8 with or without BOM, or GBK; header row; the column names in Chinese or English):
业务参考号/reference, 金额/amount, 处理结果/status (成功|失败 or paid|failed), 失败原因/reason (required when
failed), 处理日期/date (YYYY-MM-DD or YYYYMMDD, optional), 收款账号/account (optional; when present its last four
digits must match the line's account)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiuzhu.accounts.roles import PAY
from jiuzhu.core.audit import audit_record
from jiuzhu.core.scoping import can

from .models import BankReturn, PayrollLine, PayrollRun
from .services import Forbidden

MAX_BYTES = 20 * 1024 * 1024
COLUMNS = {
    "reference": ("业务参考号", "reference"),
    "amount": ("金额", "amount"),
    "status": ("处理结果", "status"),
    "reason": ("失败原因", "reason"),
    "date": ("处理日期", "date"),
    "account": ("收款账号", "account"),
}
REQUIRED = ("reference", "amount", "status")
STATUS = {"成功": "paid", "paid": "paid", "success": "paid", "s": "paid",
          "失败": "failed", "failed": "failed", "fail": "failed", "f": "failed"}  # fmt: skip


@dataclass
class ReturnResult:
    applied: bool
    duplicate: bool = False  # the same file was imported before: nothing done
    errors: list[dict[str, Any]] = field(default_factory=list)  # {row, column, message}
    counts: dict[str, int] = field(default_factory=dict)
    unknown: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    bank_return: BankReturn | None = None


@dataclass
class _Row:
    n: int
    reference: str
    amount: Decimal
    status: str
    reason: str
    date: dt.date | None
    account: str


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise ValueError


def _date(v: str) -> dt.date:
    v = v.strip()
    if len(v) == 8 and v.isdigit():
        v = f"{v[:4]}-{v[4:6]}-{v[6:]}"
    return dt.date.fromisoformat(v)


def parse(data: bytes) -> tuple[list[_Row], list[dict[str, Any]]]:
    """Rows and errors ({row, column, message}); row numbers count the header as row 1, as a spreadsheet does."""
    errors: list[dict[str, Any]] = []

    def err(row: int, column: str, message: str) -> None:
        errors.append({"row": row, "column": column, "message": message})

    if len(data) > MAX_BYTES:
        err(0, "", _("文件过大。"))
        return [], errors
    try:
        text = _decode(data)
    except ValueError:
        err(0, "", _("文件编码无法识别（请使用 UTF-8 或 GBK）。"))
        return [], errors
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        err(1, "", _("文件为空。"))
        return [], errors
    names = [h.strip().lower() for h in header]
    index: dict[str, int] = {}
    for key, aliases in COLUMNS.items():
        for a in aliases:
            if a.lower() in names:
                index[key] = names.index(a.lower())
                break
    for key in REQUIRED:
        if key not in index:
            err(1, COLUMNS[key][0], _("缺少必填列。"))
    if errors:
        return [], errors
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(reader, start=2):
        if not any(c.strip() for c in raw):
            continue

        def cell(key: str, raw: list[str] = raw) -> str:
            i = index.get(key)
            return raw[i].strip() if i is not None and i < len(raw) else ""

        before = len(errors)
        ref = cell("reference")
        if not ref:
            err(n, COLUMNS["reference"][0], _("不能为空。"))
        elif ref in seen:
            err(n, COLUMNS["reference"][0], _("与第 %(r)s 行重复。") % {"r": seen[ref]})
        else:
            seen[ref] = n
        amount = Decimal("0")
        try:
            amount = Decimal(cell("amount").replace(",", ""))
            if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
                raise InvalidOperation
        except InvalidOperation:
            err(n, COLUMNS["amount"][0], _("金额须为大于0、最多两位小数的数字。"))
        status = STATUS.get(cell("status").lower(), "")
        if not status:
            err(n, COLUMNS["status"][0], _("处理结果须为“成功”或“失败”。"))
        reason = cell("reason")
        if status == "failed" and not reason:
            err(n, COLUMNS["reason"][0], _("失败的记录须注明失败原因。"))
        date = None
        if cell("date"):
            try:
                date = _date(cell("date"))
            except ValueError:
                err(n, COLUMNS["date"][0], _("日期格式须为 YYYY-MM-DD 或 YYYYMMDD。"))
        if len(errors) == before:
            rows.append(_Row(n, ref, amount, status, reason[:200], date, cell("account")))
    return rows, errors


def import_return(data: bytes, *, filename: str, actor: Any) -> ReturnResult:
    """Check the file, then apply it in one transaction (see the module's text)."""
    if not can(actor, PAY):
        raise Forbidden(_("无权导入银行回盘文件。"))
    sha = hashlib.sha256(data).hexdigest()
    previous = BankReturn.objects.filter(sha256=sha).first()
    if previous is not None:
        return ReturnResult(applied=False, duplicate=True, counts=previous.counts, unknown=previous.unknown,
                            conflicts=previous.conflicts, bank_return=previous)  # fmt: skip
    rows, errors = parse(data)
    visible = PayrollLine.objects.restrict(actor, PAY)  # type: ignore[attr-defined]
    lines = {ln.reference: ln for ln in visible.filter(reference__in=[r.reference for r in rows]).select_related("run")}
    unknown = [{"row": r.n, "reference": r.reference} for r in rows if r.reference not in lines]
    for r in rows:
        ln = lines.get(r.reference)
        if ln is None:
            continue
        if r.amount != ln.amount:
            errors.append({"row": r.n, "column": COLUMNS["amount"][0],
                           "message": _("与发放明细金额 %(a)s 不一致。") % {"a": f"{ln.amount:.2f}"}})  # fmt: skip
        if r.account and r.account[-4:] != ln.bank_account_masked[-4:]:
            errors.append({"row": r.n, "column": COLUMNS["account"][0], "message": _("与发放明细的收款账号不一致。")})
        if ln.run.status != PayrollRun.Status.EXPORTED:
            errors.append({"row": r.n, "column": COLUMNS["reference"][0], "message": _("该明细所在批次尚未导出给银行。")})
    if errors:
        return ReturnResult(applied=False, errors=sorted(errors, key=lambda e: (e["row"], e["column"])), unknown=unknown)
    counts = {"rows": len(rows), "paid": 0, "failed": 0, "unchanged": 0, "unknown": len(unknown), "conflicts": 0}
    conflicts: list[dict[str, Any]] = []
    try:
        with transaction.atomic():
            ret = BankReturn.objects.create(sha256=sha, filename=filename[:200], imported_by=actor, rows=len(rows))
            for r in rows:
                if r.reference not in lines:
                    continue
                outcome = _apply(ret, lines[r.reference].pk, r)
                if outcome in ("paid", "failed", "unchanged"):
                    counts[outcome] += 1
                else:
                    counts["conflicts"] += 1
                    conflicts.append({"row": r.n, "reference": r.reference, "message": outcome})
            ret.counts, ret.unknown, ret.conflicts = counts, unknown, conflicts
            ret.save(update_fields=["counts", "unknown", "conflicts"])
            audit_record(action="payroll.return", actor=actor, object_type="payments.bankreturn", object_id=ret.pk,
                         detail={"file": ret.filename, "sha256": sha, **counts})  # fmt: skip
    except IntegrityError:  # the same file imported concurrently
        previous = BankReturn.objects.filter(sha256=sha).first()
        if previous is None:
            raise
        return ReturnResult(applied=False, duplicate=True, counts=previous.counts, unknown=previous.unknown,
                            conflicts=previous.conflicts, bank_return=previous)  # fmt: skip
    return ReturnResult(applied=True, counts=counts, unknown=unknown, conflicts=conflicts, bank_return=ret)


def _apply(ret: BankReturn, line_id: int, r: _Row) -> str:
    """paid / failed / unchanged, or the conflict's message."""
    ln = PayrollLine.objects.select_for_update().get(pk=line_id)
    S = PayrollLine.Status
    if ln.status == r.status:
        return "unchanged"
    if ln.status == S.PAID:
        return _("该明细已记为发放成功，不再变更。")
    if ln.status in (S.REISSUED, S.CANCELLED):
        return _("该明细已重发或已作废，未予处理。")
    # pending → paid | failed; failed → paid is the bank correcting itself, allowed while no re-issue carries the
    # payment (the line is then ``reissued`` above) — the constraints would refuse a second live line anyway.
    ln.status = r.status
    ln.failure_reason = r.reason if r.status == S.FAILED else ""
    ln.settled_on = r.date or timezone.localdate()
    ln.bank_return = ret
    try:
        with transaction.atomic():
            ln.save(update_fields=["status", "failure_reason", "settled_on", "bank_return"])
    except IntegrityError:
        return _("该月已有另一笔有效发放，未予处理。")
    return r.status
