"""动态管理 pages (docs/dynamic-management.md): the review queue (open reviews due within 30 days or overdue, in
the user's area; a button that generates the schedule), a review's page (the household, the re-verification's
conclusion at the township's level — the report itself stays with the 核对 centre —, the engine's result for
next month and the outcome form), the 特困 termination after its publicity, and the notice PDF.

For the roles that handle cases (``dynamic.HANDLERS``: township caseworkers, county reviewers); another area's
review is a 404 exactly like a missing one. Every change is a POST with CSRF through ``cases.dynamic``."""

from __future__ import annotations

from typing import Any

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiuzhu.core.audit import audit_record
from jiuzhu.core.pdf import render_response
from jiuzhu.core.scoping import get_scoped_or_404

from . import documents, dynamic
from .forms import style
from .models import Review

OUTCOMES = [(k, v) for k, v in Review.Outcome.choices if k]


class OutcomeForm(djforms.Form):
    outcome = djforms.ChoiceField(label=gettext_lazy("复核结果"), choices=OUTCOMES)
    reasons = djforms.CharField(label=gettext_lazy("理由（写入通知书）"), widget=djforms.Textarea(attrs={"rows": 3}),
                                max_length=2000)  # fmt: skip

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        style(self)


class TerminationForm(djforms.Form):
    objection = djforms.CharField(label=gettext_lazy("公示期间的异议（无异议请留空）"), required=False, max_length=2000,
                                  widget=djforms.Textarea(attrs={"rows": 2}))  # fmt: skip

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        style(self)


def _handler(request: HttpRequest) -> Any:
    user: Any = request.user
    if getattr(user, "role", "") not in dynamic.HANDLERS or not getattr(user, "area_id", None):
        raise Http404
    return user


def _review(request: HttpRequest, pk: int) -> Review:
    _handler(request)
    qs = Review.objects.select_related("household", "entitlement", "entitlement__recipient", "verification_run",
                                       "person", "publicity")  # fmt: skip
    return get_scoped_or_404(qs, request.user, "view_names", pk=pk)


@login_required
@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    user = _handler(request)
    today = timezone.localdate()
    rows = list(dynamic.queue(user, today)[:200])
    publicity = list(Review.objects.restrict(user, "view_names").filter(status=Review.Status.PUBLICITY)[:50])
    done = list(Review.objects.restrict(user, "view_names").filter(status=Review.Status.DONE)
                .select_related("household").order_by("-completed_on", "-pk")[:20])  # fmt: skip
    return render(request, "cases/review_list.html",
                  {"rows": rows, "publicity": publicity, "done": done, "today": today})  # fmt: skip


@login_required
@require_POST
def review_schedule(request: HttpRequest) -> HttpResponse:
    user = _handler(request)
    counts = dynamic.schedule_reviews(user.area_id, timezone.localdate(), user)
    messages.success(request, _("已生成复核任务 %(c)d 项，处理死亡事件 %(d)d 项。") % {"c": counts["created"], "d": counts["deaths"]})
    return redirect("cases:reviews")


@login_required
@require_http_methods(["GET", "POST"])
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    user: Any = request.user
    today = timezone.localdate()
    form: OutcomeForm | None = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "verify" and review.status == Review.Status.OPEN:
                dynamic._authorise(user, review.area_code)
                run = dynamic.verify(review, actor=user, on=today)
                Review.objects.filter(pk=review.pk).update(verification_run=run)
                messages.success(request, _("已完成复核核对。"))
                return redirect("cases:review", pk=review.pk)
            if action == "complete":
                form = OutcomeForm(request.POST)
                if form.is_valid():
                    dynamic.complete_review(review, actor=user, on=today, reasons=form.cleaned_data["reasons"],
                                            outcome=form.cleaned_data["outcome"], run=review.verification_run)  # fmt: skip
                    messages.success(request, _("复核已办结。"))
                    return redirect("cases:review", pk=review.pk)
            elif action == "terminate":
                tform = TerminationForm(request.POST)
                if tform.is_valid():
                    dynamic.finish_termination(review, actor=user, on=today, objection=tform.cleaned_data["objection"])
                    messages.success(request, _("已处理终止公示结果。"))
                    return redirect("cases:review", pk=review.pk)
        except dynamic.ReviewError as e:
            messages.error(request, str(e))
            return redirect("cases:review", pk=review.pk)
    run = review.verification_run
    proposal = None
    if review.status == Review.Status.OPEN and run is not None:
        proposal = dynamic.propose(review, run, today)
        if form is None:
            form = OutcomeForm(initial={"outcome": proposal.get("outcome") or ""})
    summary = ""
    if run is not None:
        from jiuzhu.verification.services import summary as run_summary

        summary = run_summary(run)
    audit_record(action="review.viewed", actor=user, obj=review)
    return render(request, "cases/review_detail.html", {
        "review": review, "run": run, "summary": summary, "proposal": proposal, "form": form,
        "tform": TerminationForm() if review.status == Review.Status.PUBLICITY else None,
        "outcome_label": dict(Review.Outcome.choices).get((proposal or {}).get("outcome") or "", ""),
        "may_print": bool(review.notice_code), "today": today,
    })  # fmt: skip


@login_required
@require_GET
def review_notice(request: HttpRequest, pk: int) -> HttpResponse:
    review = _review(request, pk)
    try:
        doc = documents.build_review_notice(review, verify_at=request.build_absolute_uri(reverse("case_documents:verify")))
    except documents.Unavailable as exc:
        raise Http404 from exc
    audit_record(action="review.notice_printed", actor=request.user, obj=review)
    return render_response(doc, documents.review_filename(review))


@login_required
@require_GET
def review_exit_end_notice(request: HttpRequest, pk: int) -> HttpResponse:
    """停发通知书 at the end of a 渐退 (the township prints it in the exit's last month)."""
    review = _review(request, pk)
    try:
        doc = documents.build_exit_end_notice(review, on=timezone.localdate(),
                                              verify_at=request.build_absolute_uri(reverse("case_documents:verify")))  # fmt: skip
    except documents.Unavailable as exc:
        raise Http404 from exc
    audit_record(action="review.notice_printed", actor=request.user, obj=review, detail={"kind": "exit_end"})
    return render_response(doc, f"FH-{review.household.household_no}-{review.pk}-{doc.title}.pdf")
