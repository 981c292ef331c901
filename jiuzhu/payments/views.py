"""The payroll pages (按月发放): entitlements, runs, generation with its progress, 双人复核, bank files, bank returns
and re-issue — the web face of ``services``, ``exports`` and ``returns`` for officers with the payment permission
(``pay``: township caseworkers, county reviewers).

Every write goes through the services, which check the permission, the area and maker ≠ checker themselves; their
refusals (``Forbidden``, ``Refused``, ``Conflict``) are shown as messages, never as an error page. A run outside
the user's area is a 404 exactly like a missing one; a role without ``pay`` gets 403. Accounts are shown masked;
full numbers appear only in the exported bank files (audited by ``exports.export``).

Generation runs in a background thread (the page polls the run's progress with htmx, as the bulk 核对 page) or in
the request when ``JIUZHU_JOBS_INLINE`` (tests on SQLite, whose in-memory database other threads cannot see)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiuzhu.accounts import roles
from jiuzhu.core.models import Division
from jiuzhu.core.scoping import can, get_scoped_or_404, user_area_prefix

from . import exports, returns, services, subsidy
from .forms import PROGRAMME_CHOICES, CancelForm, EntitlementFilter, GenerateForm, ReturnForm
from .models import BankReturn, Entitlement, PayrollLine, PayrollRun, PayrollSkip, StandardChange

log = logging.getLogger(__name__)

PER_PAGE = 50
WAIT_FOR_RUN_S = 30  # how long the request waits for a background generation to create its run
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "xml": "application/xml",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}  # fmt: skip


def _need_pay(request: HttpRequest) -> None:
    if not can(request.user, roles.PAY):
        raise PermissionDenied


def _refusal(request: HttpRequest, e: services.PaymentError) -> None:
    for m in e.messages or [str(e)]:
        messages.warning(request, m)


CENT = Decimal("0.01")


def yuan(v: Any) -> Decimal:
    """An amount as shown: always two decimals (a database sum comes back as 1622 or 176796.5 on SQLite)."""
    return Decimal(v or 0).quantize(CENT)


def programme_label(code: str) -> str:
    return str(dict(PROGRAMME_CHOICES).get(code, code))


def _area_names(codes: set[str]) -> dict[str, str]:
    return dict(Division.objects.filter(code__in=codes).values_list("code", "name"))


def _scoped_run(request: HttpRequest, pk: int) -> PayrollRun:
    """The run in the user's area (else 404 like a missing one); without the payment permission 403."""
    run = get_scoped_or_404(PayrollRun.objects.select_related("made_by", "approved_by", "job"), request.user,
                            roles.VIEW, pk=pk)  # fmt: skip
    _need_pay(request)
    return run


# --- entitlements -------------------------------------------------------------------------------------------------


@login_required
@require_GET
def entitlement_list(request: HttpRequest) -> HttpResponse:
    _need_pay(request)
    form = EntitlementFilter(request.GET or None)
    qs = (Entitlement.objects.restrict(request.user, roles.PAY).select_related("household", "recipient", "case")
          .order_by("area_code", "household__household_no", "programme", "pk"))  # fmt: skip
    if form.is_valid():
        if form.cleaned_data["programme"]:
            qs = qs.filter(programme=form.cleaned_data["programme"])
        if form.cleaned_data["status"]:
            qs = qs.filter(status=form.cleaned_data["status"])
    totals = qs.aggregate(n=Count("pk"), s=Sum("amount"))
    totals["s"] = yuan(totals["s"])
    page = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "payments/entitlements.html", {
        "form": form, "page": page, "totals": totals, "query": query.urlencode(),
        "labels": dict(PROGRAMME_CHOICES),
    })  # fmt: skip


# --- runs ---------------------------------------------------------------------------------------------------------


def _live_run(area: str, month: dt.date, programme: str, key: str) -> PayrollRun | None:
    return (PayrollRun.objects.filter(idempotency_key=key).first() or
            PayrollRun.objects.filter(kind=PayrollRun.Kind.REGULAR, area_code=area, month=month, programme=programme)
            .exclude(status=PayrollRun.Status.CANCELLED).first())  # fmt: skip


def _generate(user: Any, area: str, month: dt.date, programme: str, key: str) -> PayrollRun:
    """Generate (or resume) and return the run: in the request when jobs run inline, else in a thread — the
    request returns as soon as the run exists, and its page follows the progress."""
    if getattr(settings, "JIUZHU_JOBS_INLINE", False):
        return services.generate(area_code=area, month=month, programme=programme, actor=user, idempotency_key=key)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["run"] = services.generate(area_code=area, month=month, programme=programme, actor=user,
                                           idempotency_key=key)  # fmt: skip
        except services.PaymentError as e:
            box["error"] = e
        except Exception as e:  # the run stays generating; generating again resumes it
            log.exception("payroll generation %s %s %s failed", area, month, programme)
            box["error"] = e
        finally:
            connection.close()

    t = threading.Thread(target=work, name=f"payroll-{area}-{month:%Y%m}-{programme}", daemon=True)
    t.start()
    until = time.monotonic() + WAIT_FOR_RUN_S
    while time.monotonic() < until:
        t.join(0.2)
        if isinstance(box.get("error"), services.PaymentError):
            raise box["error"]
        if "run" in box:
            return box["run"]  # type: ignore[no-any-return]
        run = _live_run(area, month, programme, key)
        if run is not None:
            return run
        if "error" in box:
            raise services.Refused(_("生成失败，请稍后重试（已记录错误）。"))
    raise services.Refused(_("生成已开始，请稍后在发放批次列表中查看。"))


@login_required
@require_http_methods(["GET", "POST"])
def run_list(request: HttpRequest) -> HttpResponse:
    """The area's runs, newest first, and the form that generates one (the same request lands on the same run)."""
    _need_pay(request)
    user: Any = request.user
    form = GenerateForm(request.POST if request.method == "POST" else None, user=user)
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        else:
            d = form.cleaned_data
            try:
                run = _generate(user, d["area"], d["month"], d["programme"], d["key"])
            except services.PaymentError as e:
                _refusal(request, e)
                # the form again with what was asked, under a new key
                form = GenerateForm(None, user=user, initial={"area": d["area"], "programme": d["programme"],
                                                              "month": d["month"].strftime("%Y-%m")})  # fmt: skip
            else:
                return redirect("payments:run", pk=run.pk)
    runs = PayrollRun.objects.restrict(user, roles.PAY).select_related("made_by", "approved_by").order_by("-pk")
    page = Paginator(runs, 20).get_page(request.GET.get("page"))
    names = _area_names({r.area_code for r in page})
    rows = [{"run": r, "area": names.get(r.area_code, r.area_code), "programme": programme_label(r.programme)}
            for r in page]  # fmt: skip
    return render(request, "payments/runs.html", {"form": form, "rows": rows, "page": page}, status=status)


def _run_context(request: HttpRequest, run: PayrollRun) -> dict[str, Any]:
    user: Any = request.user
    skipped = (run.skips.values("reason").annotate(n=Count("pk")).order_by("reason"))
    labels = dict(PayrollSkip.Reason.choices)
    ctx: dict[str, Any] = {
        "run": run, "running": run.status == PayrollRun.Status.GENERATING,
        "area": _area_names({run.area_code}).get(run.area_code, run.area_code),
        "programme": programme_label(run.programme),
        "skipped": [(s["reason"], labels.get(s["reason"], s["reason"]), s["n"]) for s in skipped],
        "recon": [(PayrollLine.Status(k).label, yuan(v)) for k, v in services.reconciliation(run).items()
                  if k != "total"],
        "is_maker": user.pk == run.made_by_id,
    }  # fmt: skip
    return ctx


@login_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _scoped_run(request, pk)
    ctx = _run_context(request, run)
    lines = run.lines.select_related("household").order_by("pk")
    ctx["lines"] = Paginator(lines, PER_PAGE).get_page(request.GET.get("page"))
    for ln in ctx["lines"]:
        ln.programme_label = programme_label(ln.programme)
    failed = list(run.lines.filter(status=PayrollLine.Status.FAILED).select_related("household").order_by("pk"))
    for ln in failed:
        h = ln.household
        ln.account_corrected = bool(h.bank_account_enc) and h.bank_account_bi != ln.bank_account_bi  # type: ignore[attr-defined]
    ctx["failed"] = failed
    ctx["skips"] = list(run.skips.select_related("entitlement__household").order_by("reason", "pk")[:200])
    for sk in ctx["skips"]:
        sk.programme_label = programme_label(sk.entitlement.programme)
    ctx["reissues"] = PayrollRun.objects.filter(lines__reissue_of__run=run).distinct().order_by("pk")
    src = run.snapshot.get("reissue_of_run") if run.kind == PayrollRun.Kind.REISSUE else None
    ctx["source"] = PayrollRun.objects.restrict(request.user, roles.PAY).filter(pk=src).first() if src else None
    # a 调标 back-pay run: the review whose differences it pays
    backpay = run.kind == PayrollRun.Kind.BACKPAY
    ctx["standard_change"] = StandardChange.objects.filter(backpay_run=run).first() if backpay else None
    ctx["price_run"] = subsidy.of_payroll(run)  # the month's 价格临时补贴, which comes with all programmes
    ctx["cancel_form"] = CancelForm()
    ctx["files"] = [("csv", _("代发明细 CSV")), ("xml", _("pain.001 XML")), ("xlsx", _("汇总表 XLSX"))]
    return render(request, "payments/run.html", ctx)


@login_required
@require_GET
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """What the run page polls while it generates; once done, htmx reloads the whole page (HX-Refresh)."""
    run = _scoped_run(request, pk)
    response = render(request, "payments/run_status.html", _run_context(request, run))
    if run.status != PayrollRun.Status.GENERATING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def run_resume(request: HttpRequest, pk: int) -> HttpResponse:
    """A run left generating (a crash, a restart) is resumed: generation continues where its chunks end."""
    run = _scoped_run(request, pk)
    if run.status == PayrollRun.Status.GENERATING and run.kind == PayrollRun.Kind.REGULAR:
        try:
            _generate(request.user, run.area_code, run.month, run.programme, run.idempotency_key or "")
        except services.PaymentError as e:
            _refusal(request, e)
    return redirect("payments:run", pk=run.pk)


@login_required
@require_POST
def run_approve(request: HttpRequest, pk: int) -> HttpResponse:
    run = _scoped_run(request, pk)
    try:
        services.approve(run, request.user)
    except services.PaymentError as e:
        _refusal(request, e)
    else:
        messages.success(request, _("已审核通过，可以导出银行文件。"))
    return redirect("payments:run", pk=run.pk)


@login_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = _scoped_run(request, pk)
    form = CancelForm(request.POST)
    try:
        services.cancel(run, request.user, form.data.get("reason", "") if form.is_valid() else "")
    except services.PaymentError as e:
        _refusal(request, e)
    else:
        messages.success(request, _("发放批次已作废。"))
    return redirect("payments:run", pk=run.pk)


@login_required
@require_POST
def run_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """One of the run's files (the first export marks the run exported; later ones give the same bytes)."""
    run = _scoped_run(request, pk)
    if fmt not in CONTENT_TYPES:
        raise Http404
    try:
        bundle = exports.export(run, request.user)
    except services.PaymentError as e:
        _refusal(request, e)
        return redirect("payments:run", pk=run.pk)
    name, data = next((n, d) for n, d in bundle.files.items() if n.endswith(f".{fmt}"))
    response = HttpResponse(data, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def run_reissue(request: HttpRequest, pk: int) -> HttpResponse:
    """The chosen failed lines (all when none is chosen) paid again in a new run, once the accounts are corrected."""
    run = _scoped_run(request, pk)
    ids = [int(x) for x in request.POST.getlist("line") if x.isdigit()] or None
    try:
        new = services.reissue(run, request.user, line_ids=ids)
    except services.PaymentError as e:
        messages.warning(request, _("不能重新发放：须先在家庭户信息中更正银行账号，或明细已处理。"))
        _refusal(request, e)
        return redirect("payments:run", pk=run.pk)
    messages.success(request, _("已生成重新发放批次，须由另一名工作人员审核。"))
    return redirect("payments:run", pk=new.pk)


# --- bank returns -------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def return_upload(request: HttpRequest) -> HttpResponse:
    """Upload the bank's return file: checked as a whole (row/column errors refuse it and change nothing), then
    applied; the counts, unknown references and conflicts are shown. The same file again changes nothing."""
    _need_pay(request)
    user: Any = request.user
    form = ReturnForm(request.POST or None, request.FILES or None)
    result, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            f = form.cleaned_data["file"]
            if f.size > returns.MAX_BYTES:
                form.add_error("file", _("文件过大。"))
                status = 400
            else:
                try:
                    result = returns.import_return(f.read(), filename=f.name, actor=user)
                except services.PaymentError as e:
                    _refusal(request, e)
                else:
                    status = 422 if result.errors else 200
        else:
            status = 400
    prefix = user_area_prefix(user) or "-"
    history = (BankReturn.objects.filter(Q(imported_by__area__code__startswith=prefix)).select_related("imported_by")
               .order_by("-pk")[:20])  # fmt: skip
    # where the officer goes next: the runs with failed lines still waiting for a corrected account and a re-issue
    failing = (PayrollRun.objects.restrict(user, roles.PAY).filter(lines__status=PayrollLine.Status.FAILED)
               .annotate(n_failed=Count("lines"), s_failed=Sum("lines__amount")).order_by("-pk")[:20])  # fmt: skip
    names = _area_names({r.area_code for r in failing})
    pending = [{"run": r, "area": names.get(r.area_code, r.area_code), "n": r.n_failed, "amount": yuan(r.s_failed)}
               for r in failing]  # fmt: skip
    return render(request, "payments/returns.html", {"form": form, "result": result, "history": history,
                                                     "pending": pending}, status=status)  # fmt: skip
