"""Adjustments to what an entitlement pays (issue 6): 补发 (back-pay of months that should have been paid and were
not), 停发 / 暂停 / 恢复 / 减发 from a month on, and 追缴 (recovery of overpaid money, with the fraud fine of 1–3
times the amount obtained when a decision finds fraud, REFERENCE §2.5) with a repayment plan. A recovery binds
the household only once another officer approved it (``approve_recovery``; or ``reject_recovery`` with a reason),
like the payroll runs; repayments are taken only then, and ``allocation.allocate`` shows them against the plan.

Back-pay is paid by a run of kind ``backpay``: maker-checker like the others (``services.approve``), exported and
returned like the others. Its lines name the month they pay for, so the database's live-line constraints (one
live line per household/person, programme, month and ``seq``) hold across every kind of run: a month the regular
payroll paid is never paid again by a back-pay run, and a month a back-pay run paid is skipped by the payroll as
``already_paid``. A supplement for a month already paid (the difference after a retroactive 调标, ``standards``)
is a line with ``seq`` ≥ 1.

Amounts are the policy engine's for each month (``evaluation.evaluate_households`` on the month's first day, as
the payroll does), less any reserve-fund advance of that month; money is ``Decimal`` to the 分."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from jiuzhu.core.audit import audit_record
from jiuzhu.core.months import add_months, first_of, same_day_months_later

from . import lifecycle
from .evaluation import Outcome, digest, evaluate_registry
from .models import (
    ALL,
    MONTHLY_PROGRAMMES,
    Adjustment,
    Entitlement,
    PayrollLine,
    PayrollRun,
    Recovery,
    RecoveryInstalment,
    Repayment,
)
from .services import Forbidden, Refused, Stale, _advances, _authorise

ZERO = Decimal("0.00")
FEN = Decimal("0.01")


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of the months from ``first`` to ``last`` inclusive."""
    out, m = [], first_of(first)
    while m <= first_of(last):
        out.append(m)
        m = add_months(m, 1)
    return out


def this_month() -> dt.date:
    return first_of(timezone.localdate())


# --- the engine for a month -------------------------------------------------------------------------------------


class Due(NamedTuple):
    outcome: Outcome
    advance: Decimal  # 先行救助 from the reserve fund that month
    deduction: Decimal  # the entitlement's 减发 that month


def outcomes(entitlements: list[Entitlement], month: dt.date, *, programme: str | None = None) -> dict[int, Due]:
    """Per entitlement: the engine's outcome for its household and programme on the month's first day, the
    reserve-fund advance of that month for its case and the entitlement's 减发 (both deducted from what the
    month pays, as the payroll does). ``programme``: evaluate that engine programme instead of each
    entitlement's own (nothing deducted)."""
    if not entitlements:
        return {}
    by_prog: dict[str, set[int]] = defaultdict(set)
    for e in entitlements:
        by_prog[programme or e.programme].add(e.household_id)
    res = evaluate_registry(by_prog, month)
    advances: dict[int, tuple[Decimal, list[int]]] = {} if programme else _advances({e.case_id for e in entitlements if e.case_id}, month)
    out = {}
    for e in entitlements:
        o = res[programme or e.programme][e.household_id]
        adv = advances.get(e.case_id, (ZERO, []))[0] if e.case_id else ZERO
        out[e.pk] = Due(o, adv, ZERO if programme else lifecycle.withheld(e, month))
    return out


def set_totals(run: PayrollRun) -> None:
    agg = run.lines.exclude(status=PayrollLine.Status.CANCELLED).aggregate(n=Count("pk"), s=Sum("amount"))
    run.line_count, run.total_amount = agg["n"] or 0, (agg["s"] or ZERO).quantize(FEN)


def due(o: Outcome, advance: Decimal, deduction: Decimal = ZERO) -> Decimal:
    """What the month pays: the engine's amount less the advance and the 减发, never below zero."""
    return max(o.amount - advance - deduction, ZERO) if o.status == "ok" else ZERO


def live_sums(household_ids: Iterable[int], programmes: Iterable[str], month_list: list[dt.date]) -> dict[tuple[int, str, dt.date], Decimal]:
    """Money in live lines (pending or paid, every ``seq``) per (household, programme, month)."""
    rows = (PayrollLine.objects.filter(household_id__in=set(household_ids), programme__in=set(programmes),
                                       month__in=month_list, status__in=PayrollLine.LIVE)
            .values_list("household_id", "programme", "month").annotate(s=Sum("amount")))  # fmt: skip
    return {(h, p, m): s.quantize(FEN) for h, p, m, s in rows}


# --- back-pay runs ------------------------------------------------------------------------------------------------


@dataclass
class Owed:
    entitlement: Entitlement
    month: dt.date
    amount: Decimal
    engine_amount: Decimal
    advance: Decimal = ZERO
    seq: int = 0
    note: str = ""
    deduction: Decimal = ZERO


@dataclass
class BackpayResult:
    run: PayrollRun | None
    counts: dict[str, int] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)  # entitlement, month, reason


def _suspended(e: Entitlement, month: dt.date, adjustments: list[Adjustment]) -> bool:
    """Whether the month falls in a suspension (暂停 from a month until a later 恢复) recorded for ``e``."""
    state = False
    for a in sorted(adjustments, key=lambda a: (a.effective_month, a.pk)):
        if a.effective_month > month:
            break
        if a.kind == Adjustment.Kind.SUSPEND:
            state = True
        elif a.kind == Adjustment.Kind.RESUME:
            state = False
    return state or (e.status == Entitlement.Status.SUSPENDED and not adjustments)


def default_through(area_code: str) -> dt.date:
    """The last month the payroll has reached: the later of last month and the latest live regular run covering
    the area (its month may be this one)."""
    last = add_months(this_month(), -1)
    prefixes = [area_code[:n] for n in (2, 4, 6, 9, 12) if n <= len(area_code)]
    m = (PayrollRun.objects.filter(kind=PayrollRun.Kind.REGULAR).exclude(status=PayrollRun.Status.CANCELLED)
         .filter(Q(area_code__in=prefixes) | Q(area_code__startswith=area_code)).aggregate(m=Max("month"))["m"])  # fmt: skip
    return max(last, m) if m else last


def owed_months(entitlements: list[Entitlement], through: dt.date) -> dict[int, list[dt.date]]:
    """Per entitlement, the months from its start to ``through`` (and its end) that have no line that paid or may
    still pay (a failed line waits for its re-issue instead) and that no suspension covers."""
    out: dict[int, list[dt.date]] = {}
    if not entitlements:
        return out
    taken = set(PayrollLine.objects.filter(household_id__in={e.household_id for e in entitlements}, seq=0,
                                           status__in=[*PayrollLine.LIVE, PayrollLine.Status.FAILED])
                .values_list("household_id", "programme", "month"))  # fmt: skip
    adj: dict[int, list[Adjustment]] = defaultdict(list)
    for a in Adjustment.objects.filter(entitlement__in=entitlements, kind__in=["suspend", "resume"]):
        adj[a.entitlement_id].append(a)
    for e in entitlements:
        last = min(through, e.end_month) if e.end_month else through
        if e.status == Entitlement.Status.STOPPED and e.end_month is None:
            continue  # stopped before its first month
        out[e.pk] = [m for m in months(e.start_month, last)
                     if (e.household_id, e.programme, m) not in taken and not _suspended(e, m, adj[e.pk])]  # fmt: skip
    return out


def backpay(area_code: str, actor: Any, *, through: dt.date | None = None, programme: str = ALL,
            entitlement_ids: Iterable[int] | None = None) -> BackpayResult:  # fmt: skip
    """补发: every month an entitlement of the area should have been paid up to ``through`` and was not (its
    decision came after its start month; the payroll skipped it for want of an account; ...), evaluated by the
    engine for that month, as lines of one new back-pay run (status ``generated``, to be approved by another
    officer). Months still not payable (not eligible that month, no account yet, fully advanced) are reported
    and left owed. Nothing owed: no run. Calling it again pays nothing twice (the months are live by then)."""
    _authorise(actor, area_code)
    if programme != ALL and programme not in MONTHLY_PROGRAMMES:
        raise Refused(_("该救助项目不按月发放。"))
    through = first_of(through) if through else default_through(area_code)
    qs = Entitlement.objects.filter(area_code__startswith=area_code, start_month__lte=through,
                                    programme__in=MONTHLY_PROGRAMMES)  # fmt: skip
    qs = qs.filter(Q(status__in=[Entitlement.Status.ACTIVE, Entitlement.Status.SUSPENDED]) |
                   Q(status=Entitlement.Status.STOPPED, end_month__isnull=False))  # fmt: skip
    if programme != ALL:
        qs = qs.filter(programme=programme)
    if entitlement_ids is not None:
        qs = qs.filter(pk__in=list(entitlement_ids))
    ents = list(qs.select_related("household", "recipient").order_by("pk"))
    owed = owed_months(ents, through)
    by_month: dict[dt.date, list[Entitlement]] = defaultdict(list)
    for e in ents:
        for m in owed.get(e.pk, []):
            by_month[m].append(e)
    items: list[Owed] = []
    skipped: list[dict[str, str]] = []
    counts: Counter[str] = Counter()
    for m in sorted(by_month):
        res = outcomes(by_month[m], m)
        for e in by_month[m]:
            o, adv, ded = res[e.pk]
            amount = due(o, adv, ded)
            why = ""
            if e.household.status != "active":
                why = _("家庭已注销")
            elif o.status != "ok":
                why = o.detail or o.status
            elif amount <= 0:
                why = _("已由备用金先行发放") if adv > 0 else _("减发后当月无应发金额")
            elif not e.household.bank_account_enc:
                why = _("未登记银行账号")
            if why:
                counts["skipped"] += 1
                skipped.append({"entitlement": str(e.pk), "month": f"{m:%Y-%m}", "reason": why})
                continue
            items.append(Owed(e, m, amount, o.amount, adv, deduction=ded))
    run = _backpay_run(area_code, actor, items, programme, {"through": f"{through:%Y-%m}", "kind": "backpay"},
                       skipped=skipped) if items else None  # fmt: skip
    counts["lines"] = run.line_count if run else 0
    return BackpayResult(run, dict(counts), skipped)


def _backpay_run(area_code: str, actor: Any, items: list[Owed], programme: str, snapshot: dict[str, Any], *,
                 approved_by: Any = None, skipped: list[dict[str, str]] | None = None) -> PayrollRun | None:  # fmt: skip
    """One back-pay run with a line per owed (entitlement, month, seq), in one transaction. A line whose month is
    live meanwhile (another run, a concurrent back-pay) is dropped by the constraints and reported. No line
    written: nothing is kept and None is returned. ``approved_by`` makes the run approved at once (a 调标 whose
    differences the checker approved)."""
    now = timezone.now()
    month = this_month()
    with transaction.atomic():
        run = PayrollRun.objects.create(
            kind=PayrollRun.Kind.BACKPAY, area_code=area_code, month=month, programme=programme,
            status=PayrollRun.Status.GENERATED, made_by=actor, generated_at=now,
            request_hash=digest({"kind": "backpay", "area": area_code, "at": now.isoformat(), **snapshot}),
            snapshot=snapshot | {"months": sorted({f"{i.month:%Y-%m}" for i in items})},
        )  # fmt: skip
        run.snapshot_sha256 = digest(run.snapshot)
        lines = [PayrollLine(
            run=run, entitlement=i.entitlement, household=i.entitlement.household, person=i.entitlement.recipient,
            area_code=i.entitlement.household.area_code, programme=i.entitlement.programme, month=i.month, seq=i.seq,
            amount=i.amount, engine_amount=i.engine_amount, advance_deducted=i.advance, deducted=i.deduction,
            explanation_ref=(f"{i.entitlement.programme}@{i.month:%Y-%m}/{i.entitlement.household.household_no}/"
                             f"{run.snapshot_sha256[:12]}" + (f"+{i.seq}" if i.seq else ""))[:120],
            reference=f"JZ{run.pk}E{i.entitlement.pk}M{i.month:%Y%m}" + (f"S{i.seq}" if i.seq else ""),
            payee_name=i.entitlement.recipient.name[:64], bank_name=i.entitlement.household.bank_name[:64],
            bank_account_enc=i.entitlement.household.bank_account_enc,
            bank_account_bi=i.entitlement.household.bank_account_bi,
            bank_account_masked=i.entitlement.household.bank_account_masked,
        ) for i in items]  # fmt: skip
        PayrollLine.objects.bulk_create(lines, ignore_conflicts=True)
        got = set(run.lines.values_list("reference", flat=True))
        lost = [ln for ln in lines if ln.reference not in got]
        if skipped is not None:
            skipped += [{"entitlement": str(ln.entitlement_id), "month": f"{ln.month:%Y-%m}",
                         "reason": _("该月已在其他发放批次中")} for ln in lost]  # fmt: skip
        if not got:
            transaction.set_rollback(True)
            return None
        set_totals(run)
        run.counts = {"lines": run.line_count, "months": len(run.snapshot["months"]), "conflicts": len(lost),
                      "skipped": len(skipped or [])}  # fmt: skip
        if approved_by is not None:
            run.status, run.approved_by, run.approved_at = PayrollRun.Status.APPROVED, approved_by, now
        run.save()
        audit_record(action="payroll.backpay", actor=actor, obj=run,
                     detail={"lines": run.line_count, "total": str(run.total_amount), **snapshot})  # fmt: skip
        return run


# --- 停发 / 暂停 / 恢复 / 减发 ---------------------------------------------------------------------------------------
# The entitlement's months and amount are changed by ``lifecycle`` (the one place that does, and audits it); these
# functions check the officer's permission and area and keep the Adjustment record of what was decided.


def _ent(e: Entitlement | int, actor: Any, reason: str) -> Entitlement:
    ent = Entitlement.objects.get(pk=e if isinstance(e, int) else e.pk)
    _authorise(actor, ent.area_code)
    if not reason.strip():
        raise Refused(_("请填写调整原因。"))
    return ent


def _record(ent: Entitlement, actor: Any, kind: str, month: dt.date, reason: str, amount: Decimal | None = None) -> Adjustment:
    return Adjustment.objects.create(entitlement=ent, area_code=ent.area_code, kind=kind, effective_month=month,
                                     amount=amount, reason=reason.strip()[:300], made_by=actor)  # fmt: skip


def _next(month: dt.date | None) -> dt.date:
    return first_of(month) if month else add_months(this_month(), 1)


def stop(entitlement: Entitlement | int, actor: Any, reason: str, *, from_month: dt.date | None = None) -> Adjustment:
    """停发 from ``from_month`` (default: next month): the entitlement's last month is the one before. Lines already
    generated for later months are not touched (cancel that run, or recover what it paid)."""
    ent = _ent(entitlement, actor, reason)
    start = _next(from_month)
    with transaction.atomic():
        if ent.status == Entitlement.Status.STOPPED and (ent.end_month is None or ent.end_month < start):
            raise Refused(_("该待遇已停发。"))
        ent = lifecycle.stop_from(ent, start, actor=actor, reason=reason.strip())
        return _record(ent, actor, Adjustment.Kind.STOP, start, reason)


def suspend(entitlement: Entitlement | int, actor: Any, reason: str, *, from_month: dt.date | None = None) -> Adjustment:
    """暂停发放 (recorded from ``from_month``, default next month): the payroll leaves a suspended entitlement out,
    and back-pay does not pay the months between the suspension and the 恢复."""
    ent = _ent(entitlement, actor, reason)
    try:
        with transaction.atomic():
            ent = lifecycle.suspend(ent, actor=actor, reason=reason.strip())
            return _record(ent, actor, Adjustment.Kind.SUSPEND, _next(from_month), reason)
    except lifecycle.LifecycleError as e:
        raise Refused(_("只有正常发放的待遇可以暂停。")) from e


def resume(entitlement: Entitlement | int, actor: Any, reason: str, *, from_month: dt.date | None = None) -> Adjustment:
    """恢复发放 of a suspended entitlement from ``from_month`` (default next month)."""
    ent = _ent(entitlement, actor, reason)
    try:
        with transaction.atomic():
            ent = lifecycle.resume(ent, actor=actor, reason=reason.strip())
            return _record(ent, actor, Adjustment.Kind.RESUME, _next(from_month), reason)
    except lifecycle.LifecycleError as e:
        raise Refused(_("只有暂停发放的待遇可以恢复。")) from e
    except IntegrityError as e:  # another active entitlement of the programme for the household
        raise Refused(_("该户该项目已有正常发放的待遇。")) from e


def reduce(entitlement: Entitlement | int, actor: Any, amount: Decimal, reason: str, *,
           from_month: dt.date | None = None) -> Adjustment:  # fmt: skip
    """减发: the monthly amount lowered to ``amount`` from ``from_month`` (default next month): the difference is
    withheld every month from what the engine gives (``lifecycle.set_deduction``; the payroll, back-pay and 调标
    subtract it), so a later standard change still reaches the household, less the same deduction."""
    ent = _ent(entitlement, actor, reason)
    amount = Decimal(amount).quantize(FEN)
    if amount < 0 or amount >= ent.amount:
        raise Refused(_("减发后的金额须低于原金额且不为负数。"))
    if ent.status == Entitlement.Status.STOPPED:
        raise Refused(_("该待遇已停发。"))
    month = _next(from_month)
    with transaction.atomic():
        ent = lifecycle.set_deduction(ent, ent.deduction + ent.amount - amount, month, actor=actor, reason=reason.strip())
        return _record(ent, actor, Adjustment.Kind.REDUCE, month, reason, amount)


# --- 追缴 -----------------------------------------------------------------------------------------------------------


def overpaid_months(entitlement: Entitlement, first: dt.date, last: dt.date, *,
                    not_entitled: bool = False) -> list[dict[str, str]]:  # fmt: skip
    """The months from ``first`` to ``last`` where the money paid (paid lines, every ``seq``) is above what the
    engine now gives for the month (``not_entitled``: nothing was due, e.g. a decision that the household was
    never eligible in these months)."""
    ms = months(first, last)
    paid = dict(PayrollLine.objects.filter(household_id=entitlement.household_id, programme=entitlement.programme,
                                           month__in=ms, status=PayrollLine.Status.PAID)
                .values_list("month").annotate(s=Sum("amount")).values_list("month", "s"))  # fmt: skip
    out = []
    for m in ms:
        p = paid.get(m, ZERO).quantize(FEN)
        if p <= 0:
            continue
        if not_entitled:
            d = ZERO
        else:
            d = due(*outcomes([entitlement], m)[entitlement.pk])
        if p > d:
            out.append({"month": f"{m:%Y-%m}", "paid": str(p), "due": str(d), "over": str(p - d)})
    return out


def create_recovery(entitlement: Entitlement | int, actor: Any, *, first_month: dt.date, last_month: dt.date,
                    reason: str, not_entitled: bool = False, fraud: bool = False, fine_multiple: Decimal | None = None,
                    decision_no: str = "") -> Recovery:  # fmt: skip
    """追缴: the overpaid months and amount from the paid lines against the re-evaluated amount. The fine —
    ``fine_multiple`` (1 to 3) times the amount obtained (多发金额) — only with ``fraud`` and the number of the
    decision that finds it (N3 §68)."""
    ent = Entitlement.objects.get(pk=entitlement if isinstance(entitlement, int) else entitlement.pk)
    _authorise(actor, ent.area_code)
    if not reason.strip():
        raise Refused(_("请填写追缴原因。"))
    if fraud:
        if not decision_no.strip():
            raise Refused(_("认定骗取须填写处理决定文号。"))
        if fine_multiple is None or not Decimal("1") <= Decimal(fine_multiple) <= Decimal("3"):
            raise Refused(_("罚款倍数须在 1 至 3 倍之间。"))
    elif fine_multiple is not None:
        raise Refused(_("只有认定骗取的才处以罚款。"))
    first, last = first_of(first_month), first_of(last_month)
    if last < first:
        raise Refused(_("截止月份不能早于起始月份。"))
    rows = overpaid_months(ent, first, last, not_entitled=not_entitled)
    over = sum((Decimal(r["over"]) for r in rows), ZERO)
    if over <= 0:
        raise Refused(_("所选月份没有多发的金额。"))
    multiple = Decimal(fine_multiple).quantize(FEN) if fraud and fine_multiple is not None else None
    fine = (over * multiple).quantize(FEN, rounding=ROUND_HALF_UP) if multiple is not None else ZERO
    with transaction.atomic():
        # a month is recovered once: an earlier recovery of the entitlement (pending, open or settled — a rejected
        # one takes nothing) that took any of these months refuses this one (the entitlement's row lock serialises
        # two officers doing it at once)
        Entitlement.objects.select_for_update().filter(pk=ent.pk).exists()
        wanted = {x["month"] for x in rows}
        for earlier in Recovery.objects.filter(entitlement=ent).exclude(status=Recovery.Status.REJECTED).order_by("pk"):
            both = sorted(wanted & {x["month"] for x in earlier.months})
            if both:
                raise Refused(_("%(m)s 已在追缴第 %(n)s 号（%(s)s）中，不能重复追缴。") % {
                    "m": "、".join(both), "n": earlier.pk, "s": earlier.get_status_display()})  # fmt: skip
        r = Recovery.objects.create(entitlement=ent, household_id=ent.household_id, area_code=ent.area_code,
                                    programme=ent.programme, first_month=first, last_month=last, months=rows,
                                    overpaid=over, fraud=fraud, decision_no=decision_no.strip()[:100],
                                    fine_multiple=multiple, fine=fine, total=over + fine, reason=reason.strip()[:300],
                                    made_by=actor)  # fmt: skip
        audit_record(action="payroll.recovery", actor=actor, obj=r,
                     detail={"overpaid": str(over), "fine": str(fine), "months": [x["month"] for x in rows],
                             "fraud": fraud, "decision_no": r.decision_no, "status": r.status})  # fmt: skip
    return r


def _locked(recovery: Recovery | int, actor: Any) -> Recovery:
    """The recovery under its row lock (every change to it takes the lock first), for an officer of its area."""
    r = Recovery.objects.select_for_update().get(pk=recovery if isinstance(recovery, int) else recovery.pk)
    _authorise(actor, r.area_code)
    return r


def _fresh(r: Recovery, version: int | None) -> None:
    """``version``: the one the actor's form was made from — any change since (every change bumps it) refuses
    the action (``Stale``), nothing done. None: not checked (a caller without a form)."""
    if version is not None and r.version != version:
        raise Stale(_("此追缴已被他人更新（当前状态：%(s)s），请查看最新内容后重试；您填写的内容已保留。") % {
            "s": r.get_status_display()})  # fmt: skip


def _checker(r: Recovery, actor: Any, verb: str, version: int | None) -> None:
    """双人复核, as for the payroll runs (``services.approve``): not the maker; the form not stale; only a
    pending recovery."""
    if getattr(actor, "pk", None) == r.made_by_id:
        raise Forbidden(_("不能审核本人立案的追缴。") if verb == "approve" else _("不能驳回本人立案的追缴。"))
    _fresh(r, version)
    if r.status != Recovery.Status.PENDING:
        msg = _("只有待审核的追缴可以审核（当前状态：%(s)s）。") if verb == "approve" else _("只有待审核的追缴可以驳回（当前状态：%(s)s）。")
        raise Refused(msg % {"s": r.get_status_display()})


def approve_recovery(recovery: Recovery | int, actor: Any, *, version: int | None = None) -> Recovery:
    """双人复核: another officer with the payment permission for the recovery's area approves a pending recovery;
    it is then binding (``open``): repayments may be recorded."""
    with transaction.atomic():
        r = _locked(recovery, actor)
        _checker(r, actor, "approve", version)
        r.status, r.approved_by, r.approved_at = Recovery.Status.OPEN, actor, timezone.now()
        r.version += 1
        r.save(update_fields=["status", "approved_by", "approved_at", "version"])
        audit_record(action="payroll.recovery_approve", actor=actor, obj=r,
                     detail={"total": str(r.total), "months": [x["month"] for x in r.months], "made_by": r.made_by_id})  # fmt: skip
        return r


def reject_recovery(recovery: Recovery | int, actor: Any, reason: str, *, version: int | None = None) -> Recovery:
    """驳回: another officer refuses a pending recovery, saying why. It binds nobody: no repayment is taken on it
    and its months may be recovered again (``create_recovery`` ignores rejected recoveries)."""
    if not reason.strip():
        raise Refused(_("请填写驳回理由。"))
    with transaction.atomic():
        r = _locked(recovery, actor)
        _checker(r, actor, "reject", version)
        r.status, r.rejected_by, r.rejected_at = Recovery.Status.REJECTED, actor, timezone.now()
        r.reject_reason = reason.strip()[:300]
        r.version += 1
        r.save(update_fields=["status", "rejected_by", "rejected_at", "reject_reason", "version"])
        audit_record(action="payroll.recovery_reject", actor=actor, obj=r,
                     detail={"reason": r.reject_reason, "total": str(r.total), "months": [x["month"] for x in r.months],
                             "made_by": r.made_by_id})  # fmt: skip
        return r


def plan(recovery: Recovery | int, actor: Any, *, instalments: int, first_due: dt.date,
         version: int | None = None) -> list[RecoveryInstalment]:  # fmt: skip
    """The repayment plan: the balance in ``instalments`` monthly instalments from ``first_due`` (equal to the 分,
    the remainder on the last). A new plan replaces the old one. It may be drafted while the recovery waits for
    approval (the checker sees it with the recovery) and changed while it is open; not once rejected or settled."""
    if not 1 <= instalments <= 60:
        raise Refused(_("分期数须在 1 至 60 之间。"))
    with transaction.atomic():
        r = _locked(recovery, actor)
        _fresh(r, version)
        if r.status == Recovery.Status.REJECTED:
            raise Refused(_("已驳回的追缴不能制定还款计划。"))
        balance = r.total - r.repaid
        if balance <= 0:
            raise Refused(_("该追缴已结清。"))
        fen = int(balance * 100)
        if instalments > fen:
            raise Refused(_("分期数过多。"))
        each = fen // instalments
        amounts = [each] * (instalments - 1) + [fen - each * (instalments - 1)]
        r.instalments.all().delete()
        rows = RecoveryInstalment.objects.bulk_create([
            RecoveryInstalment(recovery=r, seq=i + 1, due_on=same_day_months_later(first_due, i), amount=Decimal(a) / 100)
            for i, a in enumerate(amounts)])  # fmt: skip
        r.version += 1
        r.save(update_fields=["version"])
        audit_record(action="payroll.recovery_plan", actor=actor, obj=r,
                     detail={"instalments": instalments, "first_due": first_due.isoformat(), "balance": str(balance)})  # fmt: skip
        return rows


def repay(recovery: Recovery | int, actor: Any, *, amount: Decimal, paid_on: dt.date, receipt_no: str,
          version: int | None = None) -> Repayment:  # fmt: skip
    """A repayment recorded against an approved (``open``) recovery. The same receipt again is a no-op (the
    recorded repayment is returned, even from a form made before it); more than the balance is refused — and the
    database refuses a negative balance too."""
    amount = Decimal(amount).quantize(FEN)
    if amount <= 0:
        raise Refused(_("退回金额须大于零。"))
    if not receipt_no.strip():
        raise Refused(_("请填写收据号。"))
    with transaction.atomic():
        r = _locked(recovery, actor)
        done = r.repayments.filter(receipt_no=receipt_no.strip()).first()
        if done is not None:
            if done.amount != amount:
                raise Refused(_("该收据号已登记为另一金额。"))
            return done
        if r.status in (Recovery.Status.PENDING, Recovery.Status.REJECTED):
            raise Refused(_("只有审核通过的追缴可以登记退回（当前状态：%(s)s）。") % {"s": r.get_status_display()})
        _fresh(r, version)
        if amount > r.total - r.repaid:
            raise Refused(_("退回金额超过未退余额 %(b)s 元。") % {"b": r.total - r.repaid})
        p = Repayment.objects.create(recovery=r, amount=amount, paid_on=paid_on, receipt_no=receipt_no.strip()[:64],
                                     recorded_by=actor)  # fmt: skip
        r.repaid += amount
        if r.repaid == r.total:
            r.status = Recovery.Status.SETTLED
        r.version += 1
        r.save(update_fields=["repaid", "status", "version"])
        audit_record(action="payroll.repayment", actor=actor, obj=r,
                     detail={"amount": str(amount), "receipt_no": p.receipt_no, "balance": str(r.total - r.repaid)})  # fmt: skip
        return p


__all__ = ["Forbidden", "Refused", "Stale", "backpay", "stop", "suspend", "resume", "reduce", "create_recovery",
           "approve_recovery", "reject_recovery", "plan", "repay", "overpaid_months", "months"]
