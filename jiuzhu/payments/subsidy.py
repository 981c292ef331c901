"""价格临时补贴 (REFERENCE §8.4): when the CPI figure entered for a month (the parameters ``stats.cpi_yoy`` /
``stats.cpi_food_yoy``, dated from the first day of the month they are published and paid in, entered by a policy
admin on the 调标 page) reaches the trigger (``price.cpi_trigger`` / ``price.food_trigger``), the month's subsidy
is paid to the eligible recipients.

Design (docs/payments.md, "Price subsidy"): a separate run of the month, not one more monthly programme. The
subsidy has no decision or entitlement of its own — who gets it follows from the month's CPI and from the
household's 低保 / 特困 / 孤儿·事实无人抚养儿童 entitlements in force that month — so it cannot be an entitlement
the regular payroll walks. The run is a regular run of programme ``price_subsidy``: the existing partial unique
constraint gives one live run per (area, month, programme), so the same request, a retry or a concurrent call get
the same run; each line is attached to the household's first such entitlement, and the live-line constraints
(household / person, ``price_subsidy``, month) pay a household once a month whatever runs overlap. The amount is
the policy engine's (programme ``price``: the local 低保 standard × the CPI rise per beneficiary member, rounded,
at least the floor; the household's total), evaluated on the month's first day. Maker-checker and bank files as
any run (``services.approve``, ``exports``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiuzhu.batch.models import JobRun
from jiuzhu.core.audit import audit_record
from jiuzhu.core.months import add_months, first_of

from .adjustments import FEN, ZERO, outcomes, set_totals
from .evaluation import digest, parameter_snapshot
from .models import ALL, PayrollLine, PayrollRun, PayrollSkip
from .services import Refused, _authorise, in_scope

PROGRAMME = "price_subsidy"  # the lines' and the run's programme
ENGINE = "price"  # the policy engine's programme
COVERED = ("dibao", "tekun", "child")  # the entitlements whose recipients the subsidy reaches, in this order


def cpi(area_code: str, month: dt.date) -> dict[str, Any]:
    """The month's CPI figures and triggers for the area, and whether the mechanism starts."""
    import jiuzhu.policy.rules  # noqa: F401  (declares the keys)
    from jiuzhu.policy.divisions import normalise
    from jiuzhu.policyadmin.store import current_store

    store, on = current_store(), first_of(month)
    try:
        scope = normalise(area_code)
    except ValueError:
        scope = area_code
    vals = {}
    for k in ("stats.cpi_yoy", "stats.cpi_food_yoy", "price.cpi_trigger", "price.food_trigger"):
        v = store.resolve(k, scope, on)
        vals[k] = Decimal(str(v.value)) if v is not None else None
    c, f, ct, ft = (vals[k] for k in ("stats.cpi_yoy", "stats.cpi_food_yoy", "price.cpi_trigger", "price.food_trigger"))
    triggered = (c is not None and ct is not None and c >= ct) or (f is not None and ft is not None and f >= ft)
    return {"cpi": c, "food": f, "cpi_trigger": ct, "food_trigger": ft, "triggered": bool(triggered)}


def months_due(area_code: str, *, last: dt.date | None = None, back: int = 3) -> list[dict[str, Any]]:
    """The months (this one and the ``back`` before it) whose CPI figure reaches the trigger for the area and that
    have no live price-subsidy run yet: what the adjust page offers to generate."""
    from .adjustments import this_month

    end = first_of(last) if last else this_month()
    out = []
    for i in range(back, -1, -1):
        m = add_months(end, -i)
        figures = cpi(area_code, m)
        if figures["triggered"] and live_run(area_code, m) is None:
            out.append({"month": m, **figures})
    return out


def of_payroll(run: PayrollRun) -> PayrollRun | None:
    """The price-subsidy run that came with a regular payroll of all programmes (``services.generate``); None for
    any other run."""
    if run.kind != PayrollRun.Kind.REGULAR or run.programme != ALL:
        return None
    return live_run(run.area_code, run.month)


def live_run(area_code: str, month: dt.date) -> PayrollRun | None:
    return (PayrollRun.objects.filter(kind=PayrollRun.Kind.REGULAR, area_code=area_code, month=first_of(month),
                                      programme=PROGRAMME).exclude(status=PayrollRun.Status.CANCELLED).first())  # fmt: skip


def generate_price_subsidy(area_code: str, month: dt.date, actor: Any) -> PayrollRun:
    """The month's 价格临时补贴 for the area's recipients as one run (status ``generated``, to be approved by another
    officer). Refused when the month's CPI does not reach the trigger. Same request, same run."""
    _authorise(actor, area_code)
    month = first_of(month)
    existing = live_run(area_code, month)
    if existing is not None:
        return existing
    figures = cpi(area_code, month)
    if not figures["triggered"]:
        raise Refused(_("%(m)s 的 CPI 同比涨幅 %(c)s 未达到启动条件 %(t)s，不发放价格临时补贴。")
                      % {"m": f"{month:%Y-%m}", "c": figures["cpi"], "t": figures["cpi_trigger"]})  # fmt: skip
    ents = list(in_scope(area_code, month, "all").filter(programme__in=COVERED).select_related("household", "recipient"))
    ents.sort(key=lambda e: (e.household_id, COVERED.index(e.programme), e.pk))
    first: dict[int, Any] = {}
    for e in ents:
        first.setdefault(e.household_id, e)
    chosen = list(first.values())
    res = outcomes(chosen, month, programme=ENGINE)
    snapshot = parameter_snapshot(sorted({e.household.area_code for e in chosen}), month, [ENGINE])
    snapshot |= {"area": area_code, "month": f"{month:%Y-%m}", "programme": PROGRAMME,
                 "cpi": {k: str(v) if v is not None else None for k, v in figures.items() if k != "triggered"}}  # fmt: skip
    try:
        with transaction.atomic():
            job = JobRun.objects.create(kind="price_subsidy", status=JobRun.Status.RUNNING, area_code=area_code,
                                        created_by=actor, total=len(chosen), params={"month": f"{month:%Y-%m}"})  # fmt: skip
            run = PayrollRun.objects.create(area_code=area_code, month=month, programme=PROGRAMME, made_by=actor,
                                            request_hash=digest({"kind": "price_subsidy", "area": area_code,
                                                                 "month": month.isoformat()}),
                                            snapshot=snapshot, snapshot_sha256=digest(snapshot), job=job)  # fmt: skip
            _fill(run, chosen, res)
            set_totals(run)
            run.status, run.generated_at = PayrollRun.Status.GENERATED, timezone.now()
            run.counts = {"entitlements": len(chosen), "lines": run.line_count,
                          "skipped": dict(sorted((r, run.skips.filter(reason=r).count())
                                                 for r in set(run.skips.values_list("reason", flat=True))))}  # fmt: skip
            run.save()
            JobRun.objects.filter(pk=job.pk).update(status=JobRun.Status.SUCCEEDED, done=len(chosen),
                                                    counts=run.counts, finished_at=timezone.now())  # fmt: skip
            audit_record(action="payroll.price_subsidy", actor=actor, obj=run,
                         detail={"lines": run.line_count, "total": str(run.total_amount), **snapshot["cpi"]})  # fmt: skip
            return run
    except IntegrityError:  # the same run made concurrently
        existing = live_run(area_code, month)
        if existing is None:
            raise
        return existing


def _fill(run: PayrollRun, chosen: list[Any], res: dict[int, Any]) -> None:
    R = PayrollSkip.Reason
    taken = set(PayrollLine.objects.filter(programme=PROGRAMME, month=run.month, status__in=PayrollLine.LIVE,
                                           household_id__in=[e.household_id for e in chosen])
                .values_list("household_id", flat=True))  # fmt: skip
    lines, skips = [], []
    for e in chosen:
        h = e.household
        o = res[e.pk].outcome
        reason = ""
        if h.status != "active":
            reason = R.HOUSEHOLD_CLOSED
        elif o.status != "ok" or o.amount <= ZERO:
            reason = R.NOT_ELIGIBLE if o.status in ("ok", "not_eligible") else R.NOT_EVALUABLE
        elif not h.bank_account_enc:
            reason = R.NO_ACCOUNT
        elif h.pk in taken:
            reason = R.ALREADY_PAID
        if reason:
            skips.append(PayrollSkip(run=run, entitlement=e, area_code=h.area_code, reason=reason, detail=o.detail[:300]))
            continue
        lines.append(PayrollLine(
            run=run, entitlement=e, household=h, person=e.recipient, area_code=h.area_code, programme=PROGRAMME,
            month=run.month, amount=o.amount.quantize(FEN), engine_amount=o.amount.quantize(FEN),
            explanation_ref=f"{ENGINE}@{run.month:%Y-%m}/{h.household_no}/{run.snapshot_sha256[:12]}",
            reference=f"JZ{run.pk}E{e.pk}", payee_name=e.recipient.name[:64], bank_name=h.bank_name[:64],
            bank_account_enc=h.bank_account_enc, bank_account_bi=h.bank_account_bi,
            bank_account_masked=h.bank_account_masked,
        ))  # fmt: skip
    PayrollLine.objects.bulk_create(lines, ignore_conflicts=True)
    got = set(run.lines.values_list("entitlement_id", flat=True))
    skips += [PayrollSkip(run=run, entitlement_id=ln.entitlement_id, area_code=ln.area_code, reason=R.ALREADY_PAID)
              for ln in lines if ln.entitlement_id not in got]  # fmt: skip
    PayrollSkip.objects.bulk_create(skips, ignore_conflicts=True)
