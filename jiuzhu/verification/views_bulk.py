"""The bulk re-verification pages (动态管理 批量核对): the web face of ``bulk.py`` for the county 核对 centre
(permission ``verify``). Start a job for an area, watch its progress (htmx polls a fragment, as on the registry
import pages; no CDN), read its counts and the households that need attention, each linked to its run's report.

As ``views.py`` (SECURITY PRIV-PURP): any other role gets the refusal page (403) and the attempt is audited; a
job outside the user's area is a 404 exactly like a missing one."""

from __future__ import annotations

import datetime as dt
import logging
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from jiuzhu.accounts import roles
from jiuzhu.batch.models import JobRun
from jiuzhu.cases.models import Programme
from jiuzhu.core.audit import audit_record
from jiuzhu.core.models import Division
from jiuzhu.core.scoping import can, get_scoped_or_404
from jiuzhu.web import forms as web_forms

from . import bulk
from .models import VerificationRun
from .sources import FINDING_KINDS

log = logging.getLogger(__name__)

PER_PAGE = 50  # households needing attention, per page of a job
JOBS_PER_PAGE = 20
ATTENTION = (VerificationRun.Conclusion.FAILS, VerificationRun.Conclusion.INVESTIGATE)
# A finding's kind as the job page names it.
FINDING_LABELS = {kind: label for kind, (label, _records) in FINDING_KINDS.items()}
STAGES = (("read", _("读取数据")), ("compute", _("比对与测算")), ("write", _("写入结果")))


def area_choices(user: Any) -> list[tuple[str, str]]:
    """At most two levels down: a county's verifier picks the county or one of its townships."""
    return web_forms.area_choices(user, levels_down=2)


class BulkForm(forms.Form):
    area = forms.ChoiceField(label=_("核对地区"))
    on = forms.DateField(label=_("核对日期"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
                         help_text=_("按该日已入库的部门数据核对"))  # fmt: skip
    programme = forms.ChoiceField(label=_("救助项目"), choices=[c for c in Programme.choices if c[0] != Programme.HELP])

    def __init__(self, *args: Any, user: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        area: Any = self.fields["area"]
        area.choices = area_choices(user)
        self.initial.setdefault("area", getattr(user, "area_id", ""))
        self.initial.setdefault("on", timezone.localdate())
        self.initial.setdefault("programme", Programme.DIBAO)
        for f in self.fields.values():
            f.widget.attrs.setdefault("class", "form-select" if isinstance(f, forms.ChoiceField) else "form-control")

    def clean_on(self) -> dt.date:
        on: dt.date = self.cleaned_data["on"]
        if on > timezone.localdate():
            raise forms.ValidationError(_("核对日期不能晚于今天"))
        return on


def _refused(request: HttpRequest, job: JobRun | None = None) -> HttpResponse:
    user: Any = request.user
    audit_record(action="verification.bulk_denied", actor=user, obj=job, object_type="batch.jobrun",
                 object_area="" if job else user.area_id or "", result="denied",
                 detail={"job": job.pk if job else None, "path": request.path})  # fmt: skip
    return render(request, "verification/denied.html", {}, status=403)


def bulk_verifier(view: Any) -> Any:
    """The bulk job ``pk`` in the user's area (else 404 like a missing one); without the verification
    permission the refusal page (403), audited. The view receives the job instead of its key."""

    @wraps(view)
    def wrapped(request: HttpRequest, pk: int, *args: Any, **kw: Any) -> HttpResponse:
        job = get_scoped_or_404(JobRun.objects.filter(kind=bulk.KIND).select_related("created_by"),
                                request.user, roles.VIEW, pk=pk)  # fmt: skip
        if not can(request.user, roles.VERIFY):
            return _refused(request, job)
        return view(request, job, *args, **kw)

    return login_required(require_GET(wrapped))


def _area_names(codes: set[str]) -> dict[str, str]:
    return dict(Division.objects.filter(code__in=codes).values_list("code", "name"))


@login_required
@require_http_methods(["GET", "POST"])
def bulk_page(request: HttpRequest) -> HttpResponse:
    """The area's bulk jobs, newest first, and the form that starts one (the job then runs in the background
    and the user is sent to its page)."""
    user: Any = request.user
    if not can(user, roles.VERIFY):
        return _refused(request)
    form = BulkForm(request.POST if request.method == "POST" else None, user=user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            job = bulk.bulk_prepare(actor=user, area_code=d["area"], on=d["on"], programme=d["programme"])
            audit_record(action="verification.bulk_requested", actor=user, obj=job,
                         detail={"area": d["area"], "on": d["on"].isoformat(), "programme": d["programme"]})  # fmt: skip
            try:
                bulk.bulk_start(job)
            except Exception:  # (inline only) run_bulk has logged it and marked the job failed; its page says so
                if not getattr(settings, "JIUZHU_JOBS_INLINE", False):
                    raise
                log.warning("bulk verification job %s failed inline", job.pk)
            return redirect("verification:bulk_job", pk=job.pk)
        status = 400
    jobs = (JobRun.objects.restrict(user, roles.VERIFY).filter(kind=bulk.KIND).select_related("created_by")
            .order_by("-created_at", "-pk"))  # fmt: skip
    page = Paginator(jobs, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    names = _area_names({j.area_code for j in page})
    rows = [{"job": j, "area": names.get(j.area_code, j.area_code), "counts": j.counts or {},
             "programme": Programme(j.params["programme"]).label if j.params.get("programme") in Programme.values else ""}
            for j in page]  # fmt: skip
    return render(request, "verification/bulk.html", {"form": form, "rows": rows, "page": page}, status=status)


def _job_context(request: HttpRequest, job: JobRun, page_no: Any = 1) -> dict[str, Any]:
    counts = job.counts or {}
    ctx: dict[str, Any] = {
        "job": job, "counts": counts, "running": job.status in (JobRun.Status.PENDING, JobRun.Status.RUNNING),
        "area": _area_names({job.area_code}).get(job.area_code, job.area_code),
        "programme": Programme(job.params["programme"]).label if job.params.get("programme") in Programme.values else "",
    }  # fmt: skip
    if job.status != JobRun.Status.SUCCEEDED:
        return ctx
    c = counts.get("conclusions") or {}
    ctx["conclusions"] = [(key, label, c.get(key, 0)) for key, label in VerificationRun.Conclusion.choices]
    ctx["findings"] = [(str(FINDING_LABELS.get(k, k)), n) for k, n in (counts.get("findings") or {}).items()]
    ctx["seconds"] = [(label, (counts.get("seconds") or {}).get(key)) for key, label in STAGES]
    runs = (VerificationRun.objects.restrict(request.user, roles.VERIFY).filter(job=job, conclusion__in=ATTENTION)
            .select_related("household", "household__area").annotate(n_findings=Count("findings"))
            .order_by("household__household_no", "pk"))  # fmt: skip
    page: Page[Any] = Paginator(runs, PER_PAGE).get_page(page_no)
    ctx["attention"] = page
    if page.object_list:  # who read which households' conclusions (SECURITY PRIV-PURP)
        audit_record(action="verification.bulk_viewed", actor=request.user, obj=job,
                     detail={"job": job.pk, "page": page.number, "households": [r.household_id for r in page]})  # fmt: skip
    return ctx


@bulk_verifier
def bulk_job(request: HttpRequest, job: JobRun) -> HttpResponse:
    return render(request, "verification/bulk_job.html", _job_context(request, job, request.GET.get("page")))


@bulk_verifier
def bulk_job_progress(request: HttpRequest, job: JobRun) -> HttpResponse:
    """What the job page polls every second: the status fragment, which comes back without its polling trigger
    once the job is finished (with the counts and the first page of households). ``?format=json``: the state
    alone, for scripts."""
    if request.GET.get("format") == "json":
        return JsonResponse({"id": job.pk, "status": job.status, "done": job.done, "total": job.total,
                             "percent": job.percent, "message": job.message,
                             "finished": job.status in (JobRun.Status.SUCCEEDED, JobRun.Status.FAILED),
                             "counts": job.counts or {}})  # fmt: skip
    return render(request, "verification/bulk_progress.html", _job_context(request, job, request.GET.get("page")))
