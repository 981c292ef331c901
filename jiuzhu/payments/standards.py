"""调标: when a policy admin's new standard takes effect (a ``policyadmin.ParameterChange`` dated in the past, or
this month), every entitlement of the area that was paid since is re-evaluated month by month under the
parameters in force for each month, and compared with what its live lines pay for that month.

``preview_standard_change`` does it as a ``batch.JobRun`` (progress per chunk of entitlements) and keeps the
differences on a ``StandardChange`` (entitlement, household, programme, the months with paid → due, the last
month's old and new amount, back-pay total). ``approve_standard_change`` — by another officer with the payment
permission — turns the positive differences into supplement lines (``PayrollLine.seq`` ≥ 1) of one back-pay run,
approved by that checker at once (the preview was the making, the approval the checking), to be exported like any
run. It is idempotent: approving the same review again returns the same run, and a new review of the same change
finds the differences already live (each month's live lines add up to the new amount) and pays nothing twice —
two approvals racing for the same month collide on the live-line constraint on ``seq``.

A lower new amount (a standard lowered retroactively, or facts changed since) is listed as a shortfall and not
recovered here: recovery is a separate decision (``adjustments.create_recovery``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from jiuzhu.batch.models import JobRun
from jiuzhu.core.audit import audit_record
from jiuzhu.core.masking import mask_name
from jiuzhu.core.months import first_of

from .adjustments import FEN, ZERO, Owed, _backpay_run, due, live_sums, months, outcomes, this_month
from .models import MONTHLY_PROGRAMMES, Entitlement, PayrollLine, PayrollRun, StandardChange
from .services import Forbidden, Refused, _authorise

CHUNK = 200


def affected(area_code: str, first: dt.date, last: dt.date) -> Any:
    """The entitlements of the area that may have been paid in a month from ``first`` to ``last``."""
    qs = Entitlement.objects.filter(area_code__startswith=area_code, programme__in=MONTHLY_PROGRAMMES,
                                    start_month__lte=last)  # fmt: skip
    qs = qs.exclude(end_month__lt=first).exclude(status=Entitlement.Status.STOPPED, end_month__isnull=True)
    return qs.order_by("pk")


def preview_standard_change(area_code: str, effective_month: dt.date, actor: Any, *,
                            through: dt.date | None = None, chunk_size: int = CHUNK) -> StandardChange:  # fmt: skip
    """Re-evaluate the area's entitlements for the months from ``effective_month`` to ``through`` (default: this
    month) against what was paid, in this call; the review waits for approval by another officer."""
    change = start_review(area_code, effective_month, actor, through=through)
    return run_review(change.pk, chunk_size=chunk_size)


def start_review(area_code: str, effective_month: dt.date, actor: Any, *, through: dt.date | None = None) -> StandardChange:
    """The review and its job, status ``previewing`` (``run_review`` does the work, here or in a worker thread)."""
    _authorise(actor, area_code)
    first = first_of(effective_month)
    last = first_of(through) if through else this_month()
    if last < first:
        raise Refused(_("调标生效月份不能晚于测算截至月份。"))
    job = JobRun.objects.create(kind="standard_change", status=JobRun.Status.RUNNING, area_code=area_code,
                                created_by=actor, total=affected(area_code, first, last).count(),
                                params={"effective_month": f"{first:%Y-%m}", "through": f"{last:%Y-%m}"})  # fmt: skip
    return StandardChange.objects.create(area_code=area_code, effective_month=first, through_month=last, job=job,
                                         made_by=actor)  # fmt: skip


def run_review(pk: int, *, chunk_size: int = CHUNK) -> StandardChange:
    """Compare month by month, with the job's progress after each chunk; a failure marks the review failed."""
    change = StandardChange.objects.select_related("job", "made_by").get(pk=pk)
    job = change.job
    assert job is not None
    first, last = change.effective_month, change.through_month
    try:
        rows, n = _compare(affected(change.area_code, first, last), months(first, last), job, chunk_size)
    except Exception as e:
        JobRun.objects.filter(pk=job.pk).update(status=JobRun.Status.FAILED, message=str(e)[:255],
                                                finished_at=timezone.now())  # fmt: skip
        StandardChange.objects.filter(pk=change.pk).update(status=StandardChange.Status.FAILED)
        raise
    change.rows = rows
    change.entitlements = n
    change.backpay_total = sum((Decimal(r["backpay"]) for r in rows), ZERO)
    change.shortfall_total = sum((Decimal(r["shortfall"]) for r in rows), ZERO)
    change.status = StandardChange.Status.PREVIEWED
    change.save()
    counts = {"entitlements": n, "changed": len(rows), "backpay": str(change.backpay_total),
              "shortfall": str(change.shortfall_total)}  # fmt: skip
    JobRun.objects.filter(pk=job.pk).update(status=JobRun.Status.SUCCEEDED, done=n, total=n, counts=counts,
                                            finished_at=timezone.now())  # fmt: skip
    job.refresh_from_db()
    audit_record(action="payroll.standard_preview", actor=change.made_by, obj=change,
                 detail={"area": change.area_code, "from": f"{first:%Y-%m}", "through": f"{last:%Y-%m}", **counts})  # fmt: skip
    return change


def _compare(scope: Any, month_list: list[dt.date], job: JobRun, chunk_size: int) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    last_pk, n = 0, 0
    while True:
        chunk = list(scope.filter(pk__gt=last_pk).select_related("household")[:chunk_size])
        if not chunk:
            break
        last_pk = chunk[-1].pk
        n += len(chunk)
        paid = live_sums({e.household_id for e in chunk}, {e.programme for e in chunk}, month_list)
        per: dict[int, list[dict[str, str]]] = defaultdict(list)
        for m in month_list:
            todo = [e for e in chunk if (e.household_id, e.programme, m) in paid and e.start_month <= m
                    and (e.end_month is None or e.end_month >= m)]  # fmt: skip
            res = outcomes(todo, m)
            for e in todo:
                new, old = due(*res[e.pk]), paid[(e.household_id, e.programme, m)]
                if new != old:
                    per[e.pk].append({"month": f"{m:%Y-%m}", "paid": str(old), "due": str(new), "diff": str(new - old)})
        for e in chunk:
            if per.get(e.pk):
                ms = per[e.pk]
                rows.append({
                    "entitlement": e.pk, "household": e.household_id, "household_no": e.household.household_no,
                    "head": mask_name(e.household.head_name or ""), "programme": e.programme,
                    "old": ms[-1]["paid"], "new": ms[-1]["due"], "months": ms,
                    "backpay": str(sum((Decimal(x["diff"]) for x in ms if Decimal(x["diff"]) > 0), ZERO)),
                    "shortfall": str(-sum((Decimal(x["diff"]) for x in ms if Decimal(x["diff"]) < 0), ZERO)),
                })  # fmt: skip
        JobRun.objects.filter(pk=job.pk).update(done=n)
    return rows, n


def approve_standard_change(change: StandardChange | int, actor: Any) -> PayrollRun | None:
    """By another officer: the review's positive differences paid as supplement lines of one back-pay run
    (approved by ``actor``). The same review again returns the same run; months whose live lines already reach the
    new amount (a run approved from an earlier review) get nothing. None when nothing is owed."""
    from jiuzhu.registry.models import Household

    with transaction.atomic():
        c = StandardChange.objects.select_for_update().get(pk=change if isinstance(change, int) else change.pk)
        _authorise(actor, c.area_code)
        if actor.pk == c.made_by_id:
            raise Forbidden(_("不能审核本人测算的调标差额。"))
        if c.status == StandardChange.Status.APPROVED:
            return c.backpay_run
        if c.status != StandardChange.Status.PREVIEWED:
            raise Refused(_("只有待审核的调标测算可以审核。"))
        wanted = [(r, x) for r in c.rows for x in r["months"] if Decimal(x["diff"]) > 0]
        ents = {e.pk: e for e in Entitlement.objects.filter(pk__in={r["entitlement"] for r, _x in wanted})
                .select_related("household", "recipient")}  # fmt: skip
        month_list = sorted({dt.date.fromisoformat(x["month"] + "-01") for _r, x in wanted})
        paid = live_sums({e.household_id for e in ents.values()}, {e.programme for e in ents.values()}, month_list)
        seqs = dict(((h, p, m), s) for h, p, m, s in PayrollLine.objects
                    .filter(household_id__in={e.household_id for e in ents.values()}, month__in=month_list,
                            status__in=PayrollLine.LIVE)
                    .values_list("household_id", "programme", "month").annotate(s=Max("seq"))
                    .values_list("household_id", "programme", "month", "s"))  # fmt: skip
        items: list[Owed] = []
        skipped = 0
        for r, x in wanted:
            e = ents[r["entitlement"]]
            m = dt.date.fromisoformat(x["month"] + "-01")
            key = (e.household_id, e.programme, m)
            owed = (Decimal(x["due"]) - paid.get(key, ZERO)).quantize(FEN)
            h: Household = e.household
            if owed <= 0:
                continue
            if not h.bank_account_enc:
                skipped += 1
                continue
            items.append(Owed(e, m, owed, Decimal(x["due"]), seq=seqs.get(key, 0) + 1))
        run = _backpay_run(c.area_code, c.made_by, items, "all",
                           {"kind": "standard_change", "standard_change": c.pk,
                            "effective_month": f"{c.effective_month:%Y-%m}"}, approved_by=actor) if items else None  # fmt: skip
        c.status, c.approved_by, c.approved_at, c.backpay_run = StandardChange.Status.APPROVED, actor, timezone.now(), run
        c.save()
        audit_record(action="payroll.standard_approve", actor=actor, obj=c,
                     detail={"run": run.pk if run else None, "lines": run.line_count if run else 0,
                             "total": str(run.total_amount) if run else "0.00", "no_account": skipped})  # fmt: skip
        return run
