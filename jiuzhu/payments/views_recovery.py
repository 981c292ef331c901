"""Pages for 追缴 (recovery of overpaid money, the web face of ``adjustments.overpaid_months``,
``create_recovery``, ``approve_recovery``, ``reject_recovery``, ``plan`` and ``repay``): the area's recoveries,
starting one from an entitlement (the overpaid months shown before it is confirmed), a recovery with its months,
amounts, approval, repayment plan (each instalment with what the repayments covered, ``allocation.allocate``) and
repayments.

Officers with the payment permission start recoveries, approve or reject other officers' recoveries, make plans
and record repayments; an auditor reads the list and the recoveries (no forms). As on the other payment pages, the
services check the permission, the area and maker ≠ checker again and audit what they do; their refusals are
shown as form errors, a stale form (the recovery changed since the page was shown) as a 409 with what the officer
entered kept. A recovery or an entitlement outside the user's area is a 404 like a missing one. Names are masked;
no ID or account number is shown."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Max, Min, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiuzhu.accounts import roles
from jiuzhu.core.masking import mask_name
from jiuzhu.core.models import AuditEvent
from jiuzhu.core.scoping import can, get_scoped_or_404

from . import adjustments, services
from .allocation import Allocation, allocate
from .forms import PROGRAMME_CHOICES
from .forms_recovery import (
    ApproveForm,
    PlanForm,
    RecoveryFilter,
    RecoveryStartForm,
    RejectForm,
    RepaymentForm,
)
from .models import Entitlement, PayrollLine, Recovery, RecoveryInstalment, Repayment

PER_PAGE = 50
FEN = Decimal("0.01")


def _reader(request: HttpRequest) -> str:
    """The permission the user reads recoveries with: ``pay`` (officers) or ``view_audit`` (auditors); else 403."""
    if can(request.user, roles.PAY):
        return roles.PAY
    if can(request.user, roles.VIEW_AUDIT):
        return roles.VIEW_AUDIT
    raise PermissionDenied


def _need_pay(request: HttpRequest) -> None:
    if not can(request.user, roles.PAY):
        raise PermissionDenied


def _errors(form: Any, e: services.PaymentError, field: str | None = None) -> int:
    """The service's refusal on the form; the page's status: 409 for a stale form, 403 forbidden, else 400."""
    for m in e.messages or [str(e)]:
        form.add_error(None if isinstance(e, services.Stale) else field, m)
    return 409 if isinstance(e, services.Stale) else 403 if isinstance(e, services.Forbidden) else 400


def programme_label(code: str) -> str:
    return str(dict(PROGRAMME_CHOICES).get(code, code))


# --- the list -----------------------------------------------------------------------------------------------------


@login_required
@require_GET
def recovery_list(request: HttpRequest) -> HttpResponse:
    action = _reader(request)
    form = RecoveryFilter(request.GET or None)
    qs = Recovery.objects.restrict(request.user, action).select_related("household").order_by("-pk")
    if form.is_valid() and form.cleaned_data["status"]:
        qs = qs.filter(status=form.cleaned_data["status"])
    # the amounts of the recoveries that bind (or will once approved): a rejected one is owed by nobody
    totals = qs.exclude(status=Recovery.Status.REJECTED).aggregate(total=Sum("total"), repaid=Sum("repaid"))
    total, repaid = (Decimal(totals["total"] or 0).quantize(FEN), Decimal(totals["repaid"] or 0).quantize(FEN))
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    overdue = _overdue([r for r in page if r.status == Recovery.Status.OPEN])
    rows = [{"r": r, "head": mask_name(r.household.head_name or ""), "programme": programme_label(r.programme),
             "overdue": overdue.get(r.pk)} for r in page]  # fmt: skip
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "payments/recoveries.html", {
        "form": form, "rows": rows, "page": page, "query": query.urlencode(), "count": page.paginator.count,
        "sum_total": total, "sum_repaid": repaid, "sum_balance": total - repaid, "can_pay": action == roles.PAY,
    })  # fmt: skip


# --- starting one -------------------------------------------------------------------------------------------------


def _paid_span(e: Entitlement) -> tuple[Any, Any]:
    """The first and last months the household was paid for the entitlement's programme (the form's defaults)."""
    agg = (PayrollLine.objects.filter(household_id=e.household_id, programme=e.programme, status=PayrollLine.Status.PAID)
           .aggregate(first=Min("month"), last=Max("month")))  # fmt: skip
    return agg["first"], agg["last"]


@login_required
@require_http_methods(["GET", "POST"])
def recovery_new(request: HttpRequest, entitlement: int) -> HttpResponse:
    """Two steps on one form: 计算多发月份 shows each overpaid month (paid → due) and the amounts; 确认追缴 creates the
    recovery (the service works the months out again from the same facts)."""
    e = get_scoped_or_404(Entitlement.objects.select_related("household", "recipient"), request.user, roles.PAY,
                          pk=entitlement)  # fmt: skip
    _need_pay(request)
    first, last = _paid_span(e)
    preview: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        form = RecoveryStartForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            rows = adjustments.overpaid_months(e, d["first_month"], d["last_month"], not_entitled=d["not_entitled"])
            over = sum((Decimal(r["over"]) for r in rows), Decimal("0.00"))
            multiple = d["fine_multiple"] if d["fraud"] else None
            fine = (over * multiple).quantize(FEN, rounding=ROUND_HALF_UP) if multiple is not None else Decimal("0.00")
            preview = {"rows": rows, "overpaid": over, "fine": fine, "total": over + fine, "multiple": multiple}
            if not rows:
                form.add_error(None, _("所选月份没有多发的金额。"))
                status = 400
            elif "confirm" in request.POST:
                try:
                    r = adjustments.create_recovery(e, request.user, first_month=d["first_month"],
                                                    last_month=d["last_month"], reason=d["reason"],
                                                    not_entitled=d["not_entitled"], fraud=d["fraud"],
                                                    fine_multiple=multiple, decision_no=d["decision_no"])  # fmt: skip
                except services.PaymentError as err:
                    _errors(form, err)
                    status = 400
                else:
                    messages.success(request, _("已立案追缴，应追缴合计 %(t)s 元；须由另一名有发放权限的工作人员审核通过后生效。")
                                     % {"t": r.total})  # fmt: skip
                    return redirect("payments:recovery", pk=r.pk)
        else:
            status = 400
    else:
        form = RecoveryStartForm(initial={"first_month": f"{first:%Y-%m}" if first else f"{e.start_month:%Y-%m}",
                                          "last_month": f"{last:%Y-%m}" if last else f"{adjustments.this_month():%Y-%m}"})  # fmt: skip
    return render(request, "payments/recovery_new.html", {
        "e": e, "head": mask_name(e.household.head_name or ""), "recipient": mask_name(e.recipient.name or ""),
        "programme": programme_label(e.programme), "form": form, "preview": preview, "paid_first": first,
        "paid_last": last,
        "open": e.recoveries.filter(status__in=[Recovery.Status.PENDING, Recovery.Status.OPEN]).order_by("pk"),
    }, status=status)  # fmt: skip


# --- one recovery -------------------------------------------------------------------------------------------------

def _history(r: Recovery) -> list[dict[str, Any]]:
    """The recovery's audit events (written by the services), oldest first."""
    labels = {"payroll.recovery": _("立案追缴"), "payroll.recovery_approve": pgettext("recovery history", "审核通过"),
              "payroll.recovery_reject": pgettext("recovery history", "驳回"), "payroll.recovery_plan": _("制定还款计划"),
              "payroll.repayment": _("登记退回")}  # fmt: skip
    events = AuditEvent.objects.filter(object_type=Recovery._meta.label_lower, object_id=str(r.pk),
                                       action__in=list(labels)).order_by("seq")  # fmt: skip
    out = []
    for ev in events:
        d = ev.detail or {}
        if ev.action == "payroll.recovery":
            what = _("多发 %(o)s 元，罚款 %(f)s 元") % {"o": d.get("overpaid", ""), "f": d.get("fine", "")}
        elif ev.action == "payroll.recovery_approve":
            what = _("应追缴合计 %(t)s 元") % {"t": d.get("total", "")}
        elif ev.action == "payroll.recovery_reject":
            what = _("理由：%(r)s") % {"r": d.get("reason", "")}
        elif ev.action == "payroll.recovery_plan":
            what = _("未退余额 %(b)s 元分 %(n)s 期，首期 %(d)s") % {"b": d.get("balance", ""), "n": d.get("instalments", ""),
                                                           "d": d.get("first_due", "")}  # fmt: skip
        else:
            what = _("收据号 %(no)s，%(a)s 元，余额 %(b)s 元") % {"no": d.get("receipt_no", ""), "a": d.get("amount", ""),
                                                          "b": d.get("balance", "")}  # fmt: skip
        out.append({"at": ev.at, "who": ev.actor_username, "action": labels[ev.action], "what": what})
    return out


def _allocation(r: Recovery, instalments: list[RecoveryInstalment], repayments: list[Repayment]) -> Allocation | None:
    """The repayments against the plan, for a recovery that binds (open or settled); None before approval or
    once rejected (nothing is owed on it)."""
    if r.status not in (Recovery.Status.OPEN, Recovery.Status.SETTLED) or not instalments:
        return None
    return allocate(instalments, repayments, total=r.total, today=timezone.localdate())


def _overdue(recs: list[Recovery]) -> dict[int, Decimal]:
    """Per open recovery with an overdue instalment, what its overdue instalments lack (two queries a page)."""
    plans: dict[int, list[RecoveryInstalment]] = {}
    paid: dict[int, list[Repayment]] = {}
    for i in RecoveryInstalment.objects.filter(recovery__in=recs).order_by("recovery", "seq"):
        plans.setdefault(i.recovery_id, []).append(i)
    for p in Repayment.objects.filter(recovery__in=[r for r in recs if r.pk in plans]).order_by("pk"):
        paid.setdefault(p.recovery_id, []).append(p)
    today = timezone.localdate()
    out = {}
    for r in recs:
        if r.pk in plans:
            due = allocate(plans[r.pk], paid.get(r.pk, []), total=r.total, today=today).overdue
            if due > 0:
                out[r.pk] = due
    return out


def _scoped(request: HttpRequest, pk: int, action: str) -> Recovery:
    return get_scoped_or_404(Recovery.objects.select_related("household", "entitlement", "made_by", "approved_by",
                                                             "rejected_by"), request.user, action, pk=pk)  # fmt: skip


def _detail(request: HttpRequest, r: Recovery, *, action: str, plan_form: PlanForm | None = None,
            repay_form: RepaymentForm | None = None, approve_form: ApproveForm | None = None,
            reject_form: RejectForm | None = None, status: int = 200) -> HttpResponse:  # fmt: skip
    instalments = list(r.instalments.all())
    repayments = list(r.repayments.select_related("recorded_by").order_by("pk"))
    can_pay = action == roles.PAY
    is_maker = request.user.pk == r.made_by_id
    pending = r.status == Recovery.Status.PENDING
    shown = {"plan": can_pay and r.status in (Recovery.Status.PENDING, Recovery.Status.OPEN),
             "repay": can_pay and r.status == Recovery.Status.OPEN, "review": can_pay and pending and not is_maker}  # fmt: skip
    # Every form carries the version of the recovery as this page shows it (the template writes ``r.version``, also
    # into a form re-shown after a refusal: the page now shows the recovery as it is, so sending the kept input
    # again acts on what the officer sees).
    forms = {"plan": plan_form or PlanForm(prefix="plan"), "repay": repay_form or RepaymentForm(prefix="pay"),
             "approve": approve_form or ApproveForm(prefix="approve"),
             "reject": reject_form or RejectForm(prefix="reject")}  # fmt: skip
    # a refused form whose part of the page is gone (the recovery changed meanwhile): its errors and what the
    # officer entered are shown at the top, so nothing they typed is lost
    kept: list[dict[str, Any]] = []
    for key, form in forms.items():
        if form.is_bound and not shown["review" if key in ("approve", "reject") else key]:
            kept.append({"errors": [*form.non_field_errors()] or [e for f in form.visible_fields() for e in f.errors],
                         "entered": [(f.label, f.value()) for f in form.visible_fields() if f.value()]})  # fmt: skip
    return render(request, "payments/recovery.html", {
        "r": r, "head": mask_name(r.household.head_name or ""), "programme": programme_label(r.programme),
        "months": r.months, "instalments": instalments,
        "instalment_sum": sum((i.amount for i in instalments), Decimal("0.00")),
        "allocation": _allocation(r, instalments, repayments),
        "repayments": repayments, "history": _history(r), "can_pay": can_pay, "is_maker": is_maker,
        "pending": pending, "open": r.status == Recovery.Status.OPEN, "shown": shown, "kept": kept,
        "plan_form": forms["plan"], "repay_form": forms["repay"], "approve_form": forms["approve"],
        "reject_form": forms["reject"],
    }, status=status)  # fmt: skip


@login_required
@require_GET
def recovery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    action = _reader(request)
    return _detail(request, _scoped(request, pk, action), action=action)


def _act(request: HttpRequest, pk: int, form_class: Any, prefix: str, slot: str,
         do: Callable[[Recovery, dict[str, Any]], str], field: str | None = None) -> HttpResponse:  # fmt: skip
    """One action form of the recovery page (``slot``: its keyword of ``_detail``): ``do(recovery, cleaned_data)``
    calls the service and says what was done; then back to the page with that message — or the page again with
    the form and the service's refusal (on ``field``; 400, 403 for the maker, 409 for a stale page), what was
    typed kept."""
    r = _scoped(request, pk, roles.PAY)
    _need_pay(request)
    form = form_class(request.POST, prefix=prefix)
    status = 400
    if form.is_valid():
        try:
            done = do(r, form.cleaned_data)
        except services.PaymentError as e:
            status = _errors(form, e, field)
        else:
            messages.success(request, done)
            return redirect("payments:recovery", pk=r.pk)
    r.refresh_from_db()
    return _detail(request, r, action=roles.PAY, **{slot: form}, status=status)


@login_required
@require_POST
def recovery_approve(request: HttpRequest, pk: int) -> HttpResponse:
    """审核通过 by another officer (the service refuses the maker, a stale page and a recovery not pending)."""

    def do(r: Recovery, d: dict[str, Any]) -> str:
        adjustments.approve_recovery(r, request.user, version=d["version"])
        return _("已审核通过，追缴生效，可以登记退回。")

    return _act(request, pk, ApproveForm, "approve", "approve_form", do)


@login_required
@require_POST
def recovery_reject(request: HttpRequest, pk: int) -> HttpResponse:
    """驳回 by another officer, with the reason (required)."""

    def do(r: Recovery, d: dict[str, Any]) -> str:
        adjustments.reject_recovery(r, request.user, d["reason"], version=d["version"])
        return _("已驳回该追缴，所涉月份可以重新立案追缴。")

    return _act(request, pk, RejectForm, "reject", "reject_form", do, "reason")


@login_required
@require_POST
def recovery_plan(request: HttpRequest, pk: int) -> HttpResponse:
    def do(r: Recovery, d: dict[str, Any]) -> str:
        rows = adjustments.plan(r, request.user, instalments=d["instalments"], first_due=d["first_due"],
                                version=d["version"])  # fmt: skip
        return _("已制定还款计划，共 %(n)s 期。") % {"n": len(rows)}

    return _act(request, pk, PlanForm, "plan", "plan_form", do)


@login_required
@require_POST
def recovery_repay(request: HttpRequest, pk: int) -> HttpResponse:
    def do(r: Recovery, d: dict[str, Any]) -> str:
        p = adjustments.repay(r, request.user, amount=d["amount"], paid_on=d["paid_on"], receipt_no=d["receipt_no"],
                              version=d["version"])  # fmt: skip
        r.refresh_from_db()
        return _("已登记退回 %(a)s 元（收据号 %(no)s），未退余额 %(b)s 元。") % {
            "a": p.amount, "no": p.receipt_no, "b": r.balance}  # fmt: skip

    return _act(request, pk, RepaymentForm, "pay", "repay_form", do, "amount")
