"""The printable documents of a case as PDF (``/cases/<pk>/documents/<kind>.pdf``) and the public check of a
document's verification code (``/verify/``). docs/case-documents.md.

Printing: only staff who handle cases and see full names (``view_names``: caseworker, village assistant,
reviewer) — a supervisor or auditor gets the same 404 as for a case outside the area or a document whose facts do
not exist yet. The first print records the document and its code (``services.issue_document``); every print is
audited (``case.document_printed``).

The check is public: it says whether the code belongs to a genuine document, and then only its title, the masked
case number, the date and the issuing office. Unknown and malformed codes get the same answer. Lookups are
throttled per client address (``documents.lookup_throttled``), answered with 429 over the limit.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from jiuzhu.accounts.roles import VIEW_NAMES, role_has
from jiuzhu.core.audit import audit_record
from jiuzhu.core.pdf import render_response
from jiuzhu.core.scoping import get_scoped_or_404

from . import documents, services
from .models import Case


@login_required
@require_GET
def document_pdf(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    user = request.user
    if kind not in documents.KINDS or not role_has(getattr(user, "role", ""), VIEW_NAMES):
        raise Http404
    case = get_scoped_or_404(Case.objects.select_related("household", "first_officer"), user, "view", pk=pk)
    try:
        documents.check(case, kind)
    except documents.Unavailable as exc:
        raise Http404 from exc
    with transaction.atomic():
        issued = services.issue_document(case=case, kind=kind, actor=user)
        audit_record(action="case.document_printed", actor=user, obj=case, detail={"kind": kind})
    doc = documents.build(case, kind, issued, verify_at=request.build_absolute_uri(reverse("case_documents:verify")))
    return render_response(doc, documents.filename(case, kind))


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or ""


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """GET shows the form (``?code=`` looks up, for a link or QR code); POST looks up the typed code."""
    code = (request.POST.get("code") if request.method == "POST" else request.GET.get("code")) or ""
    code = code.strip()[:64]
    context: dict[str, object] = {"code": code, "looked_up": False, "result": None}
    if code:
        if documents.lookup_throttled(_client_ip(request)):
            context["throttled"] = _("查询过于频繁，请%(m)d分钟后再试。") % {"m": documents.window_minutes()}
            return render(request, "cases/verify.html", context, status=429)
        context |= {"looked_up": True, "result": documents.verify(code)}
    return render(request, "cases/verify.html", context)
