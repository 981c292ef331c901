"""Verification runs. ``run_for_case`` is the interactive path (one application, a few seconds): it refuses to
query anything without the family's recorded authorisation, asks every source through its adapter (logging
each query with the case and the authorisation), compares the departments' records with the declared
picture, and asks the policy engine whether the assessed picture meets the programme. A source that times
out leaves the run "incomplete" with the other sources' results kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from jiuzhu.core.audit import audit_record

from . import assess
from .adapters import Adapter, SourceUnavailable, adapter_for
from .models import Finding, SourceQuery, VerificationRun
from .sources import SOURCES

if TYPE_CHECKING:
    from .http import Checked

log = logging.getLogger(__name__)


class NotAuthorised(Exception):
    pass


def authorisation_for(case: Any) -> Any:
    """The family's signed 核对授权书 on the case; for 特困 also a legal supporter's when one is registered as a
    member with a support duty (REFERENCE §4.2). None when missing."""
    from jiuzhu.cases.models import Signature
    from jiuzhu.registry.models import PersonEconomy

    sigs = list(case.signatures.filter(kind=Signature.Kind.AUTHORISATION).order_by("-pk"))
    family = next((s for s in sigs if s.signer_role in ("applicant", "member")), None)
    if family is None:
        return None
    if case.programme == "tekun" and case.household_id and PersonEconomy.objects.filter(
            person__household_id=case.household_id, obligor_for__isnull=False).exists():  # fmt: skip
        if not any(s.signer_role == "supporter" for s in sigs):
            return None
    return family


def _members(household: Any, on: dt.date) -> tuple[dict[str, str], dict[str, Any]]:
    from jiuzhu.registry.models import Person

    people = list(Person.objects.filter(household=household).order_by("pk"))
    return {str(p.pk): p.id_number_bi for p in people}, {str(p.pk): p for p in people}


def run_for_case(*, case: Any, actor: Any, on: dt.date | None = None, sources: list[str] | None = None) -> VerificationRun:
    """Verify the case's household now. Raises ``NotAuthorised`` (after recording the refusal)."""
    on = on or timezone.localdate()
    auth = authorisation_for(case)
    if auth is None or case.household_id is None:
        audit_record(action="verification.refused", actor=actor, obj=case,
                     detail={"reason": "no_household" if case.household_id is None else "no_authorisation"})  # fmt: skip
        raise NotAuthorised(_("没有关联在册家庭，无法核对。") if case.household_id is None
                            else _("没有家庭（及特困法定赡养人）签署的核对授权书，不得查询部门数据。"))  # fmt: skip
    return _run(household=case.household, case=case, actor=actor, on=on, auth=auth, programme=case.programme,
                sources=sources or list(SOURCES), purpose="application")  # fmt: skip


MAX_PARALLEL_SOURCES = 6  # HTTP sources one run asks at the same time


def _ask_sources(sources: list[str], persons: list[str], on: dt.date, context: dict[str, Any]
                 ) -> list[tuple[str, list[assess.Record] | Exception, int]]:  # fmt: skip
    """Ask every source: ``(source, its records or the exception it raised, ms)`` in the order of ``sources``,
    whatever order the answers came in. HTTP sources are asked at the same time from worker threads
    (``HttpSource.ask``: the query and the check of the answer only — a worker never touches the ORM, whose
    connections are per thread and, in the tests, cannot see the caller's transaction); their answers are stored
    here in the calling thread, which meanwhile reads the stored-feed sources. ``ms`` is the source's own time
    (its query and storing its answer), not the time it waited for a worker."""
    from .http import HttpSource, store

    picked: list[Adapter | Exception] = []
    for source in sources:
        try:
            picked.append(adapter_for(source))
        except Exception as e:  # noqa: BLE001 - a misconfigured source is that source's failure, as before
            picked.append(e)
    remote = {i: a for i, a in enumerate(picked) if isinstance(a, HttpSource)}
    language = translation.get_language()

    def ask(adapter: HttpSource) -> tuple[list[Checked] | Exception, float]:
        t0 = time.perf_counter()
        try:
            # the active language is per thread: the worker's messages in the caller's
            with translation.override(language):
                return adapter.ask(persons, on, context=context), time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - handed back to the calling thread
            return e, time.perf_counter() - t0

    out: list[tuple[str, list[assess.Record] | Exception, int]] = []
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_SOURCES, len(remote))),
                            thread_name_prefix="verification-source") as pool:  # fmt: skip
        futures = {i: pool.submit(ask, a) for i, a in remote.items()}
        for i, (source, adapter) in enumerate(zip(sources, picked, strict=True)):
            took = 0.0
            if i in futures:
                answer, took = futures[i].result()  # waits for this source only; the others go on meanwhile
            t0 = time.perf_counter()
            got: list[assess.Record] | Exception
            try:
                if isinstance(adapter, Exception):
                    got = adapter
                elif i in futures:
                    if isinstance(answer, Exception):
                        got = answer
                    else:
                        store(source, answer)
                        got = [c.record for c in answer]
                else:
                    got = adapter.fetch(persons, on, context=context)
            except Exception as e:  # noqa: BLE001 - one broken source must not lose the others' results
                got = e
            out.append((source, got, int((took + time.perf_counter() - t0) * 1000)))
    return out


def _run(*, household: Any, case: Any, actor: Any, on: dt.date, auth: Any, programme: str, sources: list[str],
         purpose: str, job: Any = None) -> VerificationRun:  # fmt: skip
    from jiuzhu.registry.policy_input import household_input

    bis, people = _members(household, on)
    run = VerificationRun.objects.create(case=case, household=household, area_code=household.area_code, purpose=purpose,
                                         job=job, authorisation=auth, programme=programme, on=on, requested_by=actor)  # fmt: skip
    records: list[assess.Record] = []
    incomplete = False
    ref = f"signature:{auth.pk}" if auth is not None else ""
    context = {"run": run.pk, "case": getattr(case, "case_no", ""), "authorisation": ref}
    for source, got, ms in _ask_sources(sources, list(bis.values()), on, context):
        if isinstance(got, SourceUnavailable):
            incomplete = True
            SourceQuery.objects.create(run=run, source=source, status=got.status, persons=len(bis), ms=ms,
                                       authorisation_ref=ref, message=got.message[:200])  # fmt: skip
            continue
        if isinstance(got, Exception):  # one broken source must not lose the others' results
            incomplete = True
            log.error("verification source %s failed in run %s", source, run.pk, exc_info=got)
            SourceQuery.objects.create(run=run, source=source, status=SourceQuery.Status.ERROR, persons=len(bis), ms=ms,
                                       authorisation_ref=ref, message=type(got).__name__[:200])  # fmt: skip
            continue
        records += got
        SourceQuery.objects.create(run=run, source=source, status=SourceQuery.Status.OK, persons=len(bis),
                                   records=len(got), ms=ms, authorisation_ref=ref)  # fmt: skip
    records = _set_aside(records, household)
    found = assess.aggregate(records, on)
    data = household_input(household, on)
    data.pop("facts", None)
    names = {mid: p.name for mid, p in people.items()}
    diffs = assess.compare(data, bis, found, names, on)
    by_bi = {p.id_number_bi: p for p in people.values()}
    Finding.objects.bulk_create([
        Finding(run=run, person=by_bi.get(d.person), source=d.source.split(",")[0], kind=d.kind, severity=d.severity,
                declared=d.declared, found=d.found, text=d.text) for d in diffs
    ])  # fmt: skip
    assessed = assess.assessed_input(data, bis, found, on)
    result = _engine(assessed, on, programme)
    if incomplete or result is None or assess.needs_look(diffs):
        conclusion = VerificationRun.Conclusion.INVESTIGATE
    else:
        conclusion = VerificationRun.Conclusion.MEETS if result["eligible"] else VerificationRun.Conclusion.FAILS
    run.status = VerificationRun.Status.INCOMPLETE if incomplete else VerificationRun.Status.COMPLETE
    run.conclusion = conclusion
    run.assessment = {
        "members": {mid: _found_json(found.get(bi)) for mid, bi in bis.items()},
        "assessed_input": {"assets": assessed.get("assets", {}),
                           "incomes": {m["id"]: m.get("income", {}) for m in assessed["members"]},
                           "members_counted": [m["id"] for m in assessed["members"]]},
        "engine": result,
        "differences": len(diffs),
    }  # fmt: skip
    run.finished_at = timezone.now()
    run.save()
    audit_record(action="verification.run", actor=actor, obj=case if case is not None else household,
                 detail={"run": run.pk, "authorisation": ref, "status": run.status, "conclusion": conclusion,
                         "sources": sources, "purpose": purpose})  # fmt: skip
    return run


def _set_aside(records: list[assess.Record], household: Any) -> list[assess.Record]:
    """Records behind a finding whose objection the township upheld are not used again (that kind, for that
    person — or the whole household for household-level findings — up to the objection's date)."""
    from .models import VerificationObjection
    from .sources import FINDING_KINDS

    rules = []
    for o in VerificationObjection.objects.filter(run__household=household, status="upheld", finding__isnull=False
                                                  ).select_related("finding", "finding__person"):  # fmt: skip
        f = o.finding
        if f is None:
            continue
        kinds = FINDING_KINDS.get(f.kind, ("", (f.kind,)))[1]
        who = f.person.id_number_bi if f.person is not None else None
        rules.append((set(kinds), who, o.submitted_on))
    if not rules:
        return records
    return [r for r in records
            if not any(r.kind in kinds and (who is None or r.person == who) and r.period <= until
                       for kinds, who, until in rules)]  # fmt: skip


def _found_json(f: assess.Found | None) -> dict[str, Any]:
    if f is None:
        return {}
    return {"wage": str(f.wage) if f.wage is not None else None, "wage_sources": sorted(f.wage_sources),
            "wage_gross": str(f.wage_gross) if f.wage_gross is not None else None,
            "wage_stopped_since": f.wage_stopped_since.isoformat() if f.wage_stopped_since else None,
            "wage_stopped_sources": f.wage_stopped_sources,
            "pension_basic": str(f.pension_basic), "pension_other": str(f.pension_other),
            "unemployment": str(f.unemployment), "houses": f.houses, "house_area": str(f.house_area),
            "vehicles": f.vehicles, "vehicle_kinds": f.vehicle_kinds, "financial": str(f.financial),
            "business": f.business, "death": f.death.isoformat() if f.death else None,
            "registration": f.registration,
            "sources": sorted(f.sources)}  # fmt: skip


def _engine(data: dict[str, Any], on: dt.date, programme: str) -> dict[str, Any] | None:
    from jiuzhu.policy.engine import evaluate
    from jiuzhu.policy.errors import ParameterMissing, PolicyInputError
    from jiuzhu.policyadmin.store import allow_unconfirmed, current_store

    if not data["members"] or programme == "help":
        return None
    try:
        r = evaluate(data, current_store(), on=on, allow_unconfirmed=allow_unconfirmed(), programmes=[programme])
    except (ParameterMissing, PolicyInputError):
        return None
    p = r["programmes"][programme]
    if p["status"] != "ok":
        return None
    return {"eligible": bool(p["eligible"]), "amount": p["amount"], "reasons": p["reasons"]}


def summary(run: VerificationRun) -> str:
    """One paragraph for the township (conclusion level: no departmental detail, PRIV-PURP)."""
    findings = run.findings.count()
    parts = [_("核对结论：%(c)s") % {"c": run.get_conclusion_display()}]
    if run.status == VerificationRun.Status.INCOMPLETE:
        missing = [SOURCES[q.source].label for q in run.queries.exclude(status=SourceQuery.Status.OK) if q.source in SOURCES]
        parts.append(_("以下来源未返回：%(s)s") % {"s": "、".join(missing)})
    parts.append(_("发现 %(n)d 处与申报不一致") % {"n": findings} if findings else _("未发现与申报不一致"))
    return "；".join(parts) + "。"


def amount_or_zero(v: Any) -> Decimal:
    return Decimal(str(v)) if v is not None else Decimal("0.00")
