"""Pages for 调标 reviews, 补发 and 价格临时补贴 (the web face of ``standards``, ``adjustments`` and ``subsidy``), for
officers with the payment permission. As on the payroll pages, the services check the permission, the area and
maker ≠ checker; their refusals become messages; a review outside the user's area is a 404 like a missing one."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiuzhu.accounts import roles
from jiuzhu.core.models import Division
from jiuzhu.core.months import add_months
from jiuzhu.core.scoping import can, get_scoped_or_404
from jiuzhu.web.forms import bootstrap

from . import adjustments, services, standards, subsidy
from .forms import PROGRAMME_CHOICES, area_choices
from .models import StandardChange

log = logging.getLogger(__name__)

def _need_pay(request: HttpRequest) -> None:
    if not can(request.user, roles.PAY):
        raise PermissionDenied


def _refusal(request: HttpRequest, e: services.PaymentError) -> None:
    for m in e.messages or [str(e)]:
        messages.warning(request, m)


def _month(raw: str, label: str) -> dt.date:
    try:
        m = dt.date.fromisoformat(f"{(raw or '').strip()}-01")
    except ValueError:
        raise forms.ValidationError(_("请按“年-月”填写%(f)s，如 2026-01。") % {"f": label}) from None
    if not 2000 <= m.year <= timezone.localdate().year + 1:
        raise forms.ValidationError(_("月份超出范围。"))
    return m


class _AreaForm(forms.Form):
    area = forms.ChoiceField(label=gettext_lazy("区域"))

    def __init__(self, *args: Any, user: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        area: Any = self.fields["area"]
        area.choices = area_choices(user)
        self.initial.setdefault("area", getattr(user, "area_id", ""))
        bootstrap(self)


class StandardForm(_AreaForm):
    effective_month = forms.CharField(label=gettext_lazy("调标生效月份"), widget=forms.TextInput(attrs={"type": "month"}))
    through = forms.CharField(label=gettext_lazy("测算截至月份"), widget=forms.TextInput(attrs={"type": "month"}),
                              help_text=gettext_lazy("默认本月"), required=False)  # fmt: skip

    def clean_effective_month(self) -> dt.date:
        return _month(self.cleaned_data.get("effective_month", ""), str(gettext_lazy("调标生效月份")))

    def clean_through(self) -> dt.date | None:
        raw = self.cleaned_data.get("through", "")
        return _month(raw, str(gettext_lazy("测算截至月份"))) if raw else None


class BackpayForm(_AreaForm):
    through = forms.CharField(label=gettext_lazy("补发截至月份"), widget=forms.TextInput(attrs={"type": "month"}), required=False,
                              help_text=gettext_lazy("默认：已生成发放名册的最近月份"))  # fmt: skip
    programme = forms.ChoiceField(label=gettext_lazy("救助项目"), choices=PROGRAMME_CHOICES)

    def clean_through(self) -> dt.date | None:
        raw = self.cleaned_data.get("through", "")
        return _month(raw, str(gettext_lazy("补发截至月份"))) if raw else None


class PriceForm(_AreaForm):
    month = forms.CharField(label=gettext_lazy("发放月份"), widget=forms.TextInput(attrs={"type": "month"}))

    def clean_month(self) -> dt.date:
        return _month(self.cleaned_data.get("month", ""), str(gettext_lazy("发放月份")))


# --- 调标 -----------------------------------------------------------------------------------------------------------


def _area_label(code: str) -> str:
    name = Division.objects.filter(code=code).values_list("name", flat=True).first()
    return f"{name}（{code}）" if name else code


def standard_changes_for(area: str, since: dt.date, until: dt.date) -> list[dict[str, Any]]:
    """The parameter changes (调标) a policy admin entered for this area or above it, effective from ``since`` to
    ``until`` (inclusive): what a payroll officer reviews here. Newest effective date first."""
    from jiuzhu.policyadmin.models import ParameterChange
    from jiuzhu.policyadmin.services import specs

    scopes = {area[:n] for n in range(len(area) + 1)}  # the national scope "" and every ancestor
    qs = (ParameterChange.objects.filter(kind=ParameterChange.Kind.CHANGE, area_code__in=scopes,
                                         effective_from__gte=since, effective_from__lte=until)
          .order_by("-effective_from", "-pk")[:20])  # fmt: skip
    catalogue = specs()
    out = []
    for c in qs:
        spec = catalogue.get(c.key)
        out.append({"change": c, "label": spec.label if spec else c.key, "unit": spec.unit if spec else "",
                    "area": _area_label(c.area_code) if c.area_code else _("全国"),
                    "month": c.effective_from.replace(day=1)})  # fmt: skip
    return out


def _standard_list_context(request: HttpRequest, form: StandardForm) -> dict[str, Any]:
    user: Any = request.user
    rows = list(StandardChange.objects.restrict(user, roles.PAY).select_related("made_by", "approved_by")[:50])  # fmt: skip
    names = dict(Division.objects.filter(code__in={r.area_code for r in rows}).values_list("code", "name"))
    for r in rows:
        r.area_name = names.get(r.area_code, r.area_code)  # type: ignore[attr-defined]
    today = timezone.localdate()  # the changes in force from a month of the last year up to today
    changes = standard_changes_for(getattr(user, "area_id", "") or "", add_months(today, -12), today)
    return {"rows": rows, "form": form, "changes": changes}


@login_required
@require_GET
def standard_list(request: HttpRequest) -> HttpResponse:
    _need_pay(request)
    ctx = _standard_list_context(request, StandardForm(user=request.user))
    if ctx["changes"]:  # the latest change's month, ready to review
        ctx["form"] = StandardForm(user=request.user,
                                   initial={"effective_month": ctx["changes"][0]["month"].strftime("%Y-%m")})  # fmt: skip
    return render(request, "payments/standards.html", ctx)


@login_required
@require_POST
def standard_new(request: HttpRequest) -> HttpResponse:
    _need_pay(request)
    form = StandardForm(request.POST, user=request.user)
    if form.is_valid():
        d = form.cleaned_data
        try:
            c = standards.start_review(d["area"], d["effective_month"], request.user, through=d["through"])
        except services.PaymentError as e:
            _refusal(request, e)
        else:
            _run_review(c.pk)
            return redirect("payments:standard", pk=c.pk)
    return render(request, "payments/standards.html", _standard_list_context(request, form), status=400)


def _run_review(pk: int) -> None:
    """The comparison in the request when jobs run inline (tests on SQLite), else in a worker thread: the page
    shows the job's progress meanwhile."""
    if getattr(settings, "JIUZHU_JOBS_INLINE", False):
        standards.run_review(pk)
        return

    def work() -> None:
        try:
            standards.run_review(pk)
        except Exception:  # marked failed on the review and its job
            log.exception("standard change review %s failed", pk)
        finally:
            connection.close()

    transaction.on_commit(lambda: threading.Thread(target=work, name=f"standard-review-{pk}", daemon=True).start())


@login_required
@require_GET
def standard_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """What the review page polls while the comparison runs; once done, htmx reloads the page (HX-Refresh)."""
    c = get_scoped_or_404(StandardChange.objects.select_related("job"), request.user, roles.VIEW, pk=pk)
    _need_pay(request)
    response = render(request, "payments/standard_status.html", {"c": c})
    if c.status != StandardChange.Status.PREVIEWING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_GET
def standard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    c = get_scoped_or_404(StandardChange.objects.select_related("made_by", "approved_by", "job", "backpay_run"),
                          request.user, roles.VIEW, pk=pk)  # fmt: skip
    _need_pay(request)
    labels = dict(PROGRAMME_CHOICES)
    rows = [r | {"label": labels.get(r["programme"], r["programme"]), "count": len(r["months"])} for r in c.rows]
    months = sum(len(r["months"]) for r in c.rows)
    changes = standard_changes_for(c.area_code, c.effective_month, add_months(c.through_month, 1) - dt.timedelta(days=1))
    return render(request, "payments/standard.html", {
        "c": c, "rows": rows, "months": months, "is_maker": request.user.pk == c.made_by_id,
        "area": _area_label(c.area_code), "changes": changes,
        "can_approve": c.status == StandardChange.Status.PREVIEWED and request.user.pk != c.made_by_id,
        "net": c.backpay_total - c.shortfall_total if c.backpay_total is not None else Decimal("0"),
    })  # fmt: skip


@login_required
@require_POST
def standard_approve(request: HttpRequest, pk: int) -> HttpResponse:
    c = get_scoped_or_404(StandardChange.objects.all(), request.user, roles.VIEW, pk=pk)
    _need_pay(request)
    try:
        run = standards.approve_standard_change(c, request.user)
    except services.PaymentError as e:
        _refusal(request, e)
        return redirect("payments:standard", pk=c.pk)
    if run is None:
        messages.info(request, _("已审核：没有需要补发的差额。"))
        return redirect("payments:standard", pk=c.pk)
    messages.success(request, _("已审核，补发批次已生成，可导出银行文件。"))
    return redirect("payments:run", pk=run.pk)


# --- 补发, 价格临时补贴 -------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def adjust(request: HttpRequest) -> HttpResponse:
    """One page with two forms: 补发 (a back-pay run of the months owed) and 价格临时补贴 (the month's subsidy)."""
    _need_pay(request)
    user: Any = request.user
    backpay_form = BackpayForm(user=user, prefix="bp")
    price_form = PriceForm(user=user, prefix="ps", initial={"month": timezone.localdate().strftime("%Y-%m")})
    status = 200
    if request.method == "POST":
        try:
            if "backpay" in request.POST:
                backpay_form = BackpayForm(request.POST, user=user, prefix="bp")
                if backpay_form.is_valid():
                    d = backpay_form.cleaned_data
                    res = adjustments.backpay(d["area"], user, through=d["through"], programme=d["programme"])
                    for s in res.skipped[:20]:
                        messages.info(request, _("待遇 %(e)s，%(m)s：%(r)s") % {"e": s["entitlement"], "m": s["month"],
                                                                            "r": s["reason"]})  # fmt: skip
                    if res.run is not None:
                        return redirect("payments:run", pk=res.run.pk)
                    messages.info(request, _("没有可以补发的月份。"))
            elif "price" in request.POST:
                price_form = PriceForm(request.POST, user=user, prefix="ps")
                if price_form.is_valid():
                    d = price_form.cleaned_data
                    run = subsidy.generate_price_subsidy(d["area"], d["month"], user)
                    return redirect("payments:run", pk=run.pk)
        except services.PaymentError as e:
            _refusal(request, e)
        status = 400 if (backpay_form.errors or price_form.errors) else 200
    due = subsidy.months_due(getattr(user, "area_id", "") or "")
    return render(request, "payments/adjust.html", {"backpay_form": backpay_form, "price_form": price_form,
                                                    "price_due": due}, status=status)  # fmt: skip
