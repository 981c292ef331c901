"""动态管理 (REFERENCE §2.4, §2.5, §4.5; docs/dynamic-management.md): review schedules, doing a review, and the
events that trigger one (a death, three refused job offers).

* ``schedule_reviews(area, on)`` keeps one open scheduled review per paying 低保/特困 entitlement, due 12 months
  (stable households, every 特困) or 6 months (unstable income) after the last review — or after the first month
  paid when there was none. Idempotent: a second call adds nothing. It also picks up deaths the registry knows of
  and that no review has handled yet (``scan_deaths``).
* ``complete_review(review, actor, on)`` re-verifies the household (``verification.services``, purpose
  ``review``, relying on the authorisation on file exactly as the bulk re-verification does), evaluates the
  assessed picture with the policy engine for the next month, and records the outcome — no change, increase,
  decrease, 渐退 for the area's ``dibao.gradual_exit_months``, or stop — with the reasons and a notice. A 特困
  termination is first publicised for 7 days (``Publicity``); ``finish_termination`` stops the support after
  it. The entitlement changes only through ``payments.lifecycle``. A recipient who leaves is checked against the
  other programmes (as 政策找人 on the case page) and the review lists what they may now get.
* ``record_death(person, died_on, actor)``: the person's benefit stops from the next month (a household
  programme goes on, evaluated without them by the payroll, the recipient changed if it was them) and the
  household gets a re-assessment review due within 3 months of the death.
* ``record_job_refusal(...)``: the third consecutive refusal without good reason opens a review whose outcome
  takes that person's own share out of the household's amount (REFERENCE §2.5 [H]: the county reduces or stops
  that person's own benefit).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from jiuzhu.accounts.roles import Role
from jiuzhu.core.audit import audit_record
from jiuzhu.core.months import next_month, same_day_months_later
from jiuzhu.core.scoping import area_visible

from .models import JobOfferRefusal, Programme, Publicity, Review

REVIEWED = ("dibao", "tekun")  # programmes with scheduled reviews (REFERENCE §2.5, §4.5)
STABLE_MONTHS = 12  # REFERENCE §9 dibao.review_interval_months (stable / unstable) 12 / 6 [H, N1 §31; N4 §7]
UNSTABLE_MONTHS = 6
DEATH_RECHECK_MONTHS = 3  # dibao.death_recheck_months [H, N5 §1(3)]
JOB_REFUSALS = 3  # dibao.job_refusals_before_sanction: 3 consecutive [H, N1 §34; N3 §45]
WORKING_AGE = (
    16,
    60,
)  # 16 ≤ age < 60: able to work by age (the registry's labour_capacity may say otherwise)
TERMINATION_PUBLICITY_DAYS = 7  # REFERENCE §4.5 [H, N2 §24–27]
HANDLERS = frozenset({Role.CASEWORKER.value, Role.REVIEWER.value})


class ReviewError(Exception):
    def __init__(self, *messages: str):
        super().__init__("；".join(messages))
        self.messages = list(messages)


class Forbidden(ReviewError):
    pass


class Refused(ReviewError):
    pass


# --- dates ------------------------------------------------------------------------------------------------------


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def may_handle(actor: Any, area_code: str) -> bool:
    return getattr(actor, "role", "") in HANDLERS and area_visible(actor, area_code, "view_names")


def _authorise(actor: Any, area_code: str) -> None:
    if not may_handle(actor, area_code):
        raise Forbidden(_("无权办理该区域的动态管理复核。"))


# --- the schedule -----------------------------------------------------------------------------------------------


def paying(area_code: str, on: dt.date) -> QuerySet[Any]:
    """Entitlements that pay in ``on``'s month or later: active, or stopped with a last month not yet reached."""
    from jiuzhu.payments.models import Entitlement

    month = on.replace(day=1)
    return (Entitlement.objects.filter(area_code__startswith=area_code)
            .filter(Q(status=Entitlement.Status.ACTIVE, end_month__isnull=True) |
                    Q(status=Entitlement.Status.ACTIVE, end_month__gte=month) |
                    Q(status=Entitlement.Status.STOPPED, end_month__gte=month)))  # fmt: skip


def unstable_income(household: Any, on: dt.date) -> tuple[bool, str]:
    """The rule for the half-yearly class (REFERENCE §2.5 B: unstable income source, members able to work),
    decided from the registry: a living member of working age (16–59) with wage or business income declared.
    Wages of a working-age member change with the job; pensions, allowances and support do not."""
    from jiuzhu.registry.models import Person, PersonEconomy

    for p in Person.objects.filter(household=household).filter(
        Q(death_date__isnull=True) | Q(death_date__gt=on)
    ):
        if not WORKING_AGE[0] <= _age(p.birth_date, on) < WORKING_AGE[1]:
            continue
        econ = PersonEconomy.objects.filter(person=p).first()
        if econ is not None and ((econ.wage or 0) > 0 or (econ.business or 0) > 0):
            return True, _("有劳动年龄成员取得工资性或经营性收入，收入来源不固定，每半年复核一次")
    return False, _("家庭经济状况短期内变化不大，每年复核一次")


def interval_for(entitlement: Any, on: dt.date) -> tuple[int, str]:
    if entitlement.programme == "tekun":
        return STABLE_MONTHS, _("特困人员每年复核一次")
    unstable, rule = unstable_income(entitlement.household, on)
    return (UNSTABLE_MONTHS if unstable else STABLE_MONTHS), rule


def schedule_reviews(area_code: str, on: dt.date, actor: Any = None) -> dict[str, int]:
    """One open scheduled review per paying 低保/特困 entitlement of the area (idempotent). Returns counts."""
    counts = {"created": 0, "open": 0, "deaths": 0, "closed": 0}
    for e in paying(area_code, on).filter(programme__in=REVIEWED).select_related("household").order_by("pk"):
        mine = Review.objects.filter(entitlement=e, kind=Review.Kind.SCHEDULED)
        if mine.filter(status__in=[Review.Status.OPEN, Review.Status.PUBLICITY]).exists():
            counts["open"] += 1
            continue
        if e.end_month is not None:  # already leaving (渐退 or stopped later): no new cycle
            continue
        last = (Review.objects.filter(entitlement=e, status=Review.Status.DONE).order_by("-completed_on")
                .values_list("completed_on", flat=True).first()) or e.start_month  # fmt: skip
        months, rule = interval_for(e, on)
        n = mine.count() + 1
        try:
            with transaction.atomic():
                Review.objects.create(area_code=e.household.area_code, household=e.household, programme=e.programme,
                                      entitlement=e, kind=Review.Kind.SCHEDULED, key=f"cycle:{e.pk}:{n}",
                                      interval_months=months, interval_rule=rule, due_on=same_day_months_later(last, months))  # fmt: skip
            counts["created"] += 1
        except IntegrityError:  # made by a concurrent call
            counts["open"] += 1
    counts["deaths"] = len(scan_deaths(area_code, on, actor))
    counts["closed"] = close_unneeded(area_code, on)
    if counts["created"] or counts["deaths"] or counts["closed"]:
        audit_record(action="review.scheduled", actor=actor, object_type="cases.review", object_area=area_code,
                     detail={"area": area_code, "on": on.isoformat(), **counts})  # fmt: skip
    return counts


def close_unneeded(area_code: str, on: dt.date) -> int:
    """Open reviews whose entitlement pays no more (stopped by a death, another review, a new decision) are closed
    with the reason: there is nothing left to review."""
    still = paying(area_code, on).values("pk")
    qs = (Review.objects.filter(area_code__startswith=area_code, status=Review.Status.OPEN, entitlement__isnull=False)
          .exclude(entitlement_id__in=still))  # fmt: skip
    return qs.update(status=Review.Status.CLOSED, reasons=_("发放资格已终止，无需复核"), completed_on=on)


def queue(user: Any, on: dt.date, *, soon_days: int = 30) -> QuerySet[Review]:
    """The user's open reviews due within ``soon_days`` or overdue, the most urgent first."""
    qs = Review.objects.restrict(user, "view_names").exclude(status__in=[Review.Status.DONE, Review.Status.CLOSED])
    return (
        qs.filter(due_on__lte=on + dt.timedelta(days=soon_days))
        .select_related("household")
        .order_by("due_on", "pk")
    )


# --- events -----------------------------------------------------------------------------------------------------


def record_death(person: Any, died_on: dt.date, *, actor: Any, source: str = "registry") -> list[Review]:
    """A member's death: recorded in the registry (when it did not know it yet), the person's own benefit stopped
    from the next month, the household's re-assessment review due within 3 months of the death."""
    from jiuzhu.registry.models import Person

    with transaction.atomic():
        p = Person.objects.select_for_update().get(pk=person.pk)
        if p.death_date is None:
            p.death_date = died_on
            p.save(update_fields=["death_date"])
            audit_record(action="person.death_recorded", actor=actor, obj=p,
                         detail={"died_on": died_on.isoformat(), "source": source})  # fmt: skip
        return _death_event(p, actor)


def _death_event(person: Any, actor: Any) -> list[Review]:
    from jiuzhu.payments import lifecycle
    from jiuzhu.registry.models import Person

    died_on = person.death_date
    month = next_month(died_on)
    reason = _("%(n)s于%(d)s死亡") % {"n": person.name, "d": died_on.isoformat()}
    living = (Person.objects.filter(household_id=person.household_id).exclude(pk=person.pk)
              .filter(Q(death_date__isnull=True) | Q(death_date__gte=month)).order_by("relation", "pk"))  # fmt: skip
    heir = living.first()
    out = []
    for e in paying("", died_on).filter(household_id=person.household_id).order_by("pk"):
        own = e.recipient_id == person.pk
        if own and (e.programme != "dibao" or heir is None):  # a person's own benefit, or nobody left
            lifecycle.stop_from(e, month, actor=actor, reason=reason)
            continue
        if own and heir is not None:
            lifecycle.change_recipient(e, heir, actor=actor, reason=reason)
        if e.programme not in REVIEWED:  # another member's allowance is not affected
            continue
        review, created = Review.objects.get_or_create(
            household_id=person.household_id, programme=e.programme, key=f"death:{person.pk}",
            defaults={"area_code": e.area_code, "entitlement": e, "person": person, "kind": Review.Kind.EVENT,
                      "trigger": Review.Trigger.DEATH, "due_on": same_day_months_later(died_on, DEATH_RECHECK_MONTHS)})  # fmt: skip
        if created:
            audit_record(action="review.opened", actor=actor, obj=review,
                         detail={"trigger": "death", "person": person.pk, "due_on": review.due_on.isoformat()})  # fmt: skip
        out.append(review)
    return out


def scan_deaths(area_code: str, on: dt.date, actor: Any = None) -> list[Review]:
    """Deaths the registry knows of (a member's ``death_date`` set by the township or an import) in households
    with a paying entitlement, not handled yet: handled now, as ``record_death``."""
    from jiuzhu.registry.models import Person

    households = paying(area_code, on).values("household_id")
    done = Review.objects.filter(trigger=Review.Trigger.DEATH).values("person_id")
    out: list[Review] = []
    for p in Person.objects.filter(household_id__in=households, death_date__isnull=False, death_date__lte=on) \
            .exclude(pk__in=done).order_by("pk"):  # fmt: skip
        with transaction.atomic():
            out += _death_event(p, actor)
    return out


def deaths_from_run(run: Any, *, actor: Any) -> list[Review]:
    """A 殡葬/公安 death found by a verification run: recorded as ``record_death`` with the department's date."""
    from jiuzhu.registry.models import Person

    out: list[Review] = []
    for mid, found in (run.assessment or {}).get("members", {}).items():
        died = (found or {}).get("death")
        if not died:
            continue
        p = Person.objects.filter(pk=int(mid), household_id=run.household_id).first()
        if p is not None:
            out += record_death(p, dt.date.fromisoformat(died), actor=actor, source=f"verification:{run.pk}")
    return out


def record_job_refusal(*, person: Any, offered_on: dt.date, job: str, actor: Any, good_reason: bool = False,
                       reason: str = "") -> tuple[JobOfferRefusal, Review | None]:  # fmt: skip
    """A refused job offer. The third consecutive refusal without good reason (one with good reason breaks the
    run) opens a review of the household's 低保 to take that person's own share out."""
    _authorise(actor, person.area_code)
    refusal = JobOfferRefusal.objects.create(person=person, household_id=person.household_id,
                                             area_code=person.area_code, offered_on=offered_on, job=job[:200],
                                             good_reason=good_reason, reason=reason[:200], recorded_by=actor)  # fmt: skip
    audit_record(action="review.job_refusal", actor=actor, obj=refusal, detail={"person": person.pk})
    run = 0
    for r in JobOfferRefusal.objects.filter(person=person).order_by("-offered_on", "-pk"):
        if r.good_reason:
            break
        run += 1
    if good_reason or run < JOB_REFUSALS or run % JOB_REFUSALS:
        return refusal, None
    e = paying("", offered_on).filter(household_id=person.household_id, programme="dibao").first()
    if e is None:
        return refusal, None
    review, _created = Review.objects.get_or_create(
        household_id=person.household_id, programme="dibao", key=f"job_refusal:{person.pk}:{refusal.pk}",
        defaults={"area_code": e.area_code, "entitlement": e, "person": person, "kind": Review.Kind.EVENT,
                  "trigger": Review.Trigger.JOB_REFUSAL, "due_on": same_day_months_later(offered_on, 1)})  # fmt: skip
    return refusal, review


# --- doing a review ---------------------------------------------------------------------------------------------


def verify(review: Review, *, actor: Any, on: dt.date) -> Any:
    """The household re-verified (all sources) on the authorisation on file: the latest family authorisation on
    any of its cases (``verification.bulk``'s rule), else as a recipient under management. A death the run finds
    is recorded (``deaths_from_run``)."""
    from jiuzhu.cases.models import Signature
    from jiuzhu.registry.models import Household
    from jiuzhu.verification import bulk, services
    from jiuzhu.verification.sources import SOURCES

    sig = bulk._authorisations(Household.objects.filter(pk=review.household_id)).get(review.household_id)
    auth = Signature.objects.get(pk=sig) if sig else None
    case = review.entitlement.case if review.entitlement is not None else None
    run = services._run(household=review.household, case=case, actor=actor, on=on, auth=auth,
                        programme=review.programme, sources=list(SOURCES), purpose="review")  # fmt: skip
    deaths_from_run(run, actor=actor)  # a 殡葬/公安 death the run found is an event of its own
    return run


def assessed_input(review: Review, run: Any, month: dt.date) -> dict[str, Any]:
    """The engine input for ``month`` (members current then) with the run's assessed incomes and assets."""
    from jiuzhu.registry.policy_input import household_input

    data = household_input(review.household, month)
    data.pop("facts", None)
    got = (run.assessment or {}).get("assessed_input") or {} if run is not None else {}
    counted = set(got.get("members_counted") or [m["id"] for m in data["members"]])
    incomes = got.get("incomes") or {}
    data["members"] = [dict(m, income=incomes.get(m["id"], m.get("income", {}))) for m in data["members"]
                       if m["id"] in counted]  # fmt: skip
    if got.get("assets"):
        data["assets"] = dict(data.get("assets") or {}, **got["assets"])
    if review.trigger == Review.Trigger.JOB_REFUSAL and review.person_id:
        data["members"] = [m for m in data["members"] if m["id"] != str(review.person_id)]
    return data


def _evaluate(data: dict[str, Any], month: dt.date, programmes: list[str]) -> dict[str, dict[str, Any]]:
    from jiuzhu.policy.engine import evaluate
    from jiuzhu.policy.errors import ParameterMissing, PolicyInputError
    from jiuzhu.policyadmin.store import allow_unconfirmed, current_store

    if not data["members"]:
        return {p: {"status": "not_evaluable", "reasons": [_("当月没有在册成员")]} for p in programmes}
    try:
        r = evaluate(
            data, current_store(), on=month, allow_unconfirmed=allow_unconfirmed(), programmes=programmes
        )
    except (ParameterMissing, PolicyInputError) as e:
        return {p: {"status": "not_evaluable", "reasons": [str(e)[:300]]} for p in programmes}
    return {p: {k: v for k, v in r["programmes"][p].items() if k in ("status", "eligible", "amount", "reasons")}
            for p in programmes}  # fmt: skip


def gradual_exit_months(area_code: str, month: dt.date) -> tuple[int, dict[str, Any]]:
    """The area's ``dibao.gradual_exit_months`` on ``month`` with its source and confidence mark."""
    from jiuzhu.policy.divisions import normalise
    from jiuzhu.policyadmin.store import current_store

    v = current_store().resolve("dibao.gradual_exit_months", normalise(area_code), month)
    if v is None:
        raise Refused(_("该地区未设置低保渐退期（dibao.gradual_exit_months）。"))
    d = v.as_dict()
    return int(d["value"]), {k: d.get(k) for k in ("scope", "scope_name", "effective_from", "value", "source",
                                                   "article", "confidence")}  # fmt: skip


def current_amount(review: Review) -> Decimal:
    """What the household is paid now: the engine's amount on the entitlement's latest regular payroll line (the
    payroll pays the engine's amount, which may differ from the decided one), else the decided amount."""
    from jiuzhu.payments.models import PayrollLine

    e = review.entitlement
    if e is None:
        return Decimal("0.00")
    paid = (PayrollLine.objects.filter(entitlement=e, seq=0).exclude(status=PayrollLine.Status.CANCELLED)
            .order_by("-month", "-pk").values_list("engine_amount", flat=True).first())  # fmt: skip
    return paid if paid is not None else e.amount


def propose(review: Review, run: Any, on: dt.date) -> dict[str, Any]:
    """What the engine says for next month on the re-verified picture: the outcome it leads to, the amount, the
    reasons, the 渐退 months, and the other programmes the household would meet (for a recipient who leaves)."""
    month = next_month(on)
    data = assessed_input(review, run, month)
    before = current_amount(review)
    programme = review.programme
    plain = dict(data, current={"dibao": False, "dibao_amount": "0.00", "gradual_exit_months_used": 0})
    res = _evaluate(plain, month, [programme])[programme]
    out: dict[str, Any] = {"month": month.isoformat(), "before": str(before), "engine": res}
    if res.get("status") != "ok":
        out["outcome"] = ""
        return out
    if res["eligible"]:
        after = Decimal(res["amount"])
        out |= {"outcome": Review.Outcome.NO_CHANGE if after == before else
                Review.Outcome.INCREASE if after > before else Review.Outcome.DECREASE, "after": str(after)}  # fmt: skip
        if after == 0:
            out["outcome"] = Review.Outcome.STOP
        return out
    if programme == "dibao" and review.trigger != Review.Trigger.JOB_REFUSAL:
        on_dibao = dict(
            data, current={"dibao": True, "dibao_amount": str(before), "gradual_exit_months_used": 0}
        )
        exit_res = _evaluate(on_dibao, month, ["dibao"])["dibao"]
        if exit_res.get("status") == "ok" and exit_res["eligible"]:
            months, param = gradual_exit_months(data["area"], month)
            out |= {"outcome": Review.Outcome.GRADUAL_EXIT, "after": str(before), "exit_months": months,
                    "parameter": param, "engine": exit_res}  # fmt: skip
            out["other_programmes"] = other_programmes(plain, month, programme)
            return out
    out |= {
        "outcome": Review.Outcome.STOP,
        "after": "0.00",
        "other_programmes": other_programmes(plain, month, programme),
    }
    return out


def other_programmes(data: dict[str, Any], month: dt.date, leaving: str) -> list[dict[str, Any]]:
    """政策找人 for a recipient who leaves: every other programme the engine says the household now meets."""
    from jiuzhu.policy.rules import PROGRAMMES

    keys = [k for k in PROGRAMMES if k in Programme.values and k != leaving]
    out = []
    for k, r in _evaluate(data, month, keys).items():
        if r.get("status") == "ok" and r.get("eligible"):
            out.append({"programme": k, "label": str(Programme(k).label), "amount": r.get("amount")})
    return out


@transaction.atomic
def complete_review(review: Review, *, actor: Any, on: dt.date, reasons: str = "", outcome: str = "",
                    run: Any = None) -> Review:  # fmt: skip
    """Re-verify (unless ``run`` is given: a run of this review already made on the page), re-evaluate and
    record the outcome. ``outcome`` may only confirm the engine's (empty = the engine's); the officer's
    ``reasons`` are written with the engine's. 特困 stops go to publicity first."""
    from jiuzhu.payments import lifecycle

    review = Review.objects.select_for_update().get(pk=review.pk)
    _authorise(actor, review.area_code)
    if review.status != Review.Status.OPEN:
        raise Refused(_("该复核已办结或正在公示。"))
    if review.entitlement is None:
        raise Refused(_("该复核没有对应的发放资格，无法办理。"))
    if run is None:
        run = verify(review, actor=actor, on=on)
    if not paying("", next_month(on)).filter(pk=review.entitlement_id).exists():  # e.g. a death the run found
        review.status, review.verification_run = Review.Status.CLOSED, run
        review.reasons = _("发放资格已终止，无需复核")
        review.completed_by, review.completed_on = actor, on
        review.save()
        audit_record(action="review.closed", actor=actor, obj=review, detail={"run": run.pk})
        return review
    p = propose(review, run, on)
    got = p.get("outcome") or ""
    if not got:
        raise Refused(_("政策引擎无法计算该户：%(r)s") % {"r": "；".join(p["engine"].get("reasons") or [])})
    if outcome and outcome != got:
        raise Refused(_("复核结果与政策引擎的计算不一致，请核实家庭信息后重新复核。"))
    month = next_month(on)
    e = review.entitlement
    engine_reasons = [str(r) for r in p["engine"].get("reasons") or []]
    review.verification_run = run
    review.engine = {k: v for k, v in p.items() if k != "other_programmes"}
    review.other_programmes = p.get("other_programmes", [])
    review.amount_before = Decimal(p["before"])
    review.amount_after = Decimal(p.get("after", p["before"]))
    review.effective_month = month
    review.outcome = got
    review.reasons = "\n".join(x for x in [reasons.strip(), *engine_reasons] if x)
    why = reasons.strip() or str(Review.Outcome(got).label)
    _confirm_incomes(review, run, on, actor)
    if got == Review.Outcome.DECREASE and review.trigger == Review.Trigger.JOB_REFUSAL:
        # the registry keeps the person (they still live there): their share is withheld, not re-evaluated away
        share = review.amount_before - review.amount_after
        lifecycle.set_deduction(e, e.deduction + share, month, actor=actor, reason=why)
    elif got in (Review.Outcome.INCREASE, Review.Outcome.DECREASE):
        lifecycle.change_amount(e, review.amount_after, month, actor=actor, reason=why)
    elif got == Review.Outcome.GRADUAL_EXIT:
        review.exit_months = p["exit_months"]
        lifecycle.start_gradual_exit(e, month, p["exit_months"], actor=actor, reason=why, amount=review.amount_after)
        review.last_paid_month = lifecycle.add_months(month, p["exit_months"] - 1)
    elif got == Review.Outcome.STOP and review.programme == "tekun":
        review.status = Review.Status.PUBLICITY
        review.publicity = _publicise_termination(review, on)
    elif got == Review.Outcome.STOP:
        lifecycle.stop_from(e, month, actor=actor, reason=why)
        review.last_paid_month = lifecycle.add_months(month, -1)
    if review.status == Review.Status.OPEN:
        review.status = Review.Status.DONE
        _issue_notice(review, on)
    review.completed_by, review.completed_on = actor, on
    review.version += 1
    review.save()
    audit_record(action="review.completed", actor=actor, obj=review,
                 detail={"outcome": got, "run": run.pk, "conclusion": run.conclusion, "before": p["before"],
                         "after": p.get("after"), "exit_months": p.get("exit_months"), "status": review.status})  # fmt: skip
    return review


def _confirm_incomes(review: Review, run: Any, on: dt.date, actor: Any) -> None:
    """The reviewed incomes become the registry's (source ``verified``): the payroll evaluates each month from
    the registry, so the months after the review are paid on the picture the review found. Only incomes the run
    assessed higher than declared change (the assessed picture is the higher of the two)."""
    from jiuzhu.registry.models import INCOME_FIELDS, EconomySource, PersonEconomy

    incomes = ((run.assessment or {}).get("assessed_input") or {}).get("incomes") or {}
    changed = {}
    for econ in PersonEconomy.objects.select_for_update().filter(person__household_id=review.household_id):
        got = incomes.get(str(econ.person_id)) or {}
        raise_to = {f: Decimal(str(v)) for f, v in got.items()
                    if f in INCOME_FIELDS and Decimal(str(v)) > (getattr(econ, f) or 0)}  # fmt: skip
        if not raise_to:
            continue
        for f, v in raise_to.items():
            setattr(econ, f, v)
        econ.source, econ.as_of = EconomySource.VERIFIED, on
        econ.version += 1
        econ.save()
        changed[str(econ.person_id)] = {f: str(v) for f, v in raise_to.items()}
    if changed:
        audit_record(action="review.incomes_confirmed", actor=actor, obj=review.household,
                     detail={"review": review.pk, "run": run.pk, "fields": {k: sorted(v) for k, v in changed.items()}})  # fmt: skip


def _publicise_termination(review: Review, on: dt.date) -> Publicity | None:
    """特困 termination: 7 days on the village board (the cases' ``Publicity``, on the entitlement's case)."""
    from jiuzhu.core.masking import mask_name

    e = review.entitlement
    if e is None or e.case_id is None or len(review.area_code) != 12:
        return (
            None  # no case to hang it on (a migrated recipient) or no village: the township posts it by hand
        )
    return Publicity.objects.create(case_id=e.case_id, kind=Publicity.Kind.PUBLICITY, area_code=review.area_code,
                                    programme=review.programme, masked_name=mask_name(e.recipient.name),
                                    household_size=1, amount=None, starts_on=on,
                                    ends_on=on + dt.timedelta(days=TERMINATION_PUBLICITY_DAYS - 1))  # fmt: skip


@transaction.atomic
def finish_termination(review: Review, *, actor: Any, on: dt.date, objection: str = "") -> Review:
    """After the 7-day publicity of a 特困 termination: no objection → the support stops from the next month;
    an objection keeps it (the township re-investigates; REFERENCE §4.5: decide within 15 working days)."""
    from jiuzhu.payments import lifecycle

    review = Review.objects.select_for_update().get(pk=review.pk)
    _authorise(actor, review.area_code)
    if review.status != Review.Status.PUBLICITY or review.entitlement is None:
        raise Refused(_("该复核不在终止公示中。"))
    if (
        review.publicity is not None
        and review.publicity.ends_on
        and on <= review.publicity.ends_on
        and not objection
    ):
        raise Refused(_("公示期尚未结束（至%(d)s）。") % {"d": review.publicity.ends_on.isoformat()})
    if objection.strip():
        review.status, review.outcome = Review.Status.OPEN, ""
        review.reasons += "\n" + _("公示期间收到异议：%(o)s") % {"o": objection.strip()}
    else:
        month = next_month(on)
        lifecycle.stop_from(review.entitlement, month, actor=actor, reason=_("特困人员终止供养"))
        review.effective_month, review.last_paid_month = month, lifecycle.add_months(month, -1)
        review.status = Review.Status.DONE
        _issue_notice(review, on)
    if review.publicity_id is not None:
        Publicity.objects.filter(pk=review.publicity_id, withdrawn_on=None).update(withdrawn_on=on)
    review.version += 1
    review.save()
    audit_record(action="review.termination", actor=actor, obj=review,
                 detail={"objection": bool(objection.strip()), "status": review.status})  # fmt: skip
    return review


def _issue_notice(review: Review, on: dt.date) -> None:
    from jiuzhu.core.pdf import make_verification_code

    if review.outcome and not review.notice_code:
        review.notice_code = make_verification_code("review", str(review.pk), review.outcome).replace("-", "")
        review.notice_issued_on = on


def notice_kind(review: Review) -> str:
    """变更 (increase, decrease, no change), 渐退, 停发 (终止 for 特困)."""
    return {Review.Outcome.GRADUAL_EXIT: "exit", Review.Outcome.STOP: "stop"}.get(review.outcome, "change")  # type: ignore[call-overload]


def now() -> dt.date:
    return timezone.localdate()
