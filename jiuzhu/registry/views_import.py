"""Import and export pages. Thin: check the permission, fetch through a scoped getter, call importers/exports."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from jiuzhu.accounts import roles
from jiuzhu.batch.models import JobRun
from jiuzhu.core.audit import audit_record
from jiuzhu.core.crypto import CryptoError
from jiuzhu.core.files import RejectedFile, display_name
from jiuzhu.core.masking import mask_id
from jiuzhu.core.scoping import can, get_scoped_or_404

from . import importers, selectors
from .exports import content_disposition, export_households

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERRORS_SHOWN = 50


def _require(request: HttpRequest, action: str) -> None:
    if not can(request.user, action):
        raise PermissionDenied


def _jobs(request: HttpRequest):  # type: ignore[no-untyped-def]
    return JobRun.objects.restrict(request.user, roles.IMPORT).filter(kind=importers.KIND)


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    """Upload form (GET) and upload (POST): the file is checked here, in the request (≤ 2 s), then the job
    runs in the background and the user is sent to its status page."""
    _require(request, roles.IMPORT)
    error = ""
    earlier = None
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error, status = _("请选择要上传的 .xlsx 或 .csv 文件"), 400
        elif settings.IMPORT_MAX_BYTES and upload.size and upload.size > settings.IMPORT_MAX_BYTES:
            error, status = _("文件大小超过上限 %(limit).0f MB，请分批导入") % {"limit": settings.IMPORT_MAX_BYTES / 1048576}, 400
            audit_record(action="registry.import", actor=request.user, result="rejected", object_type="batch.jobrun",
                         object_area=request.user.area_id or "",  # type: ignore[union-attr]
                         detail={"filename": display_name(upload.name or ""), "reason": "too_large"})  # fmt: skip
        else:
            staged = importers.stage_upload(upload.chunks())
            try:
                job = importers.import_prepare(actor=request.user, path=staged, filename=upload.name or "")
            except RejectedFile as exc:
                error, status = exc.message, 400
            except importers.AlreadyImported as exc:
                error, status = exc.message, 409
                earlier = exc.job if _jobs(request).filter(pk=exc.job.pk).exists() else None
            else:
                importers.import_start(job)
                return redirect("registry:import_job", pk=job.pk)
    ctx = {"error": error, "earlier": earlier, "jobs": _jobs(request).select_related("created_by")[:10],
           "max_mb": settings.IMPORT_MAX_BYTES // 1048576, "columns": importers.COLUMNS}  # fmt: skip
    return render(request, "registry/import.html", ctx, status=status)


@login_required
@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    _require(request, roles.IMPORT)
    response = HttpResponse(importers.template_workbook(request.user), content_type=XLSX)
    response["Content-Disposition"] = content_disposition("低收入人口导入模板.xlsx", "jiuzhu-import-template.xlsx")
    return response


def _job_context(job: JobRun) -> dict[str, object]:
    counts = job.counts or {}
    return {
        "job": job,
        "running": job.status in (JobRun.Status.PENDING, JobRun.Status.RUNNING),
        "errors": (job.errors or [])[:ERRORS_SHOWN],
        "error_count": counts.get("errors", len(job.errors or [])),
        "warnings": counts.get("warnings", []),
        "counts": counts,
    }


@login_required
@require_GET
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_scoped_or_404(JobRun.objects.filter(kind=importers.KIND), request.user, roles.IMPORT, pk=pk)
    return render(request, "registry/import_job.html", _job_context(job))


@login_required
@require_GET
def import_job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The status fragment htmx polls every second; once the job is finished the fragment comes back
    without its polling trigger, so polling stops."""
    job = get_scoped_or_404(JobRun.objects.filter(kind=importers.KIND), request.user, roles.IMPORT, pk=pk)
    return render(request, "registry/import_progress.html", _job_context(job))


@login_required
@require_GET
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_scoped_or_404(JobRun.objects.filter(kind=importers.KIND), request.user, roles.IMPORT, pk=pk)
    try:
        data = importers.load_error_report(job)
    except (FileNotFoundError, CryptoError, ValueError) as exc:
        raise Http404 from exc
    audit_record(action="registry.import.error_report", actor=request.user, object_type="batch.jobrun",
                 object_id=job.pk, object_area=job.area_code)  # fmt: skip
    response = HttpResponse(data, content_type=XLSX)
    stem = job.params.get("filename", "import").rsplit(".", 1)[0]
    response["Content-Disposition"] = content_disposition(f"导入错误报告_{stem}.xlsx", f"import-errors-{job.pk}.xlsx")
    return response


@login_required
@require_GET
def household_export(request: HttpRequest) -> HttpResponseBase:
    """``households/export/?format=xlsx|csv&q=&village=&status=`` — the list page's filters, exported."""
    _require(request, roles.EXPORT)
    q, village, status = selectors.list_filters(request.GET)
    qs = selectors.household_search(request.user, q=q, village=village, status=status, action=roles.EXPORT)
    # The filter goes into the audit log: an ID number typed into the search box only in masked form.
    logged_q = mask_id(q.replace(" ", "")) if selectors.is_id_query(q) else q
    filters = {k: v for k, v in (("q", logged_q), ("village", village), ("status", status)) if v}
    return export_households(request.user, qs, request.GET.get("format", "xlsx"), filters=filters)
