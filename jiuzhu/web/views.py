from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from jiuzhu.accounts import roles
from jiuzhu.core.models import AuditEvent
from jiuzhu.core.scoping import can


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if can(request.user, roles.VIEW):
        return redirect("registry:household_list")
    return render(request, "web/home.html")


@login_required
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    """Read-only audit log for the auditor (SECURITY AUD-PROT): events whose actor or object lies in the
    auditor's area."""
    if not can(request.user, roles.VIEW_AUDIT):
        raise PermissionDenied
    prefix = request.user.area_id  # type: ignore[union-attr]
    from django.db.models import Q

    qs = AuditEvent.objects.filter(Q(object_area__startswith=prefix) | Q(actor_area__startswith=prefix)).order_by("-seq")
    action = request.GET.get("action", "").strip()
    if action:
        qs = qs.filter(action__startswith=action)
    return render(request, "web/audit_list.html", {"events": qs[:200], "action": action})
