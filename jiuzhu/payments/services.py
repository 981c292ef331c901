"""The payroll as services: entitlements from decisions, generate, approve, export, bank returns, re-issue,
cancel. Every write checks the actor's permission (``pay``) and area here, so pages, API and commands cannot
diverge; the exactly-once guarantees are database constraints (``models``), which the code only relies on.

Generation (SECURITY PAY-ONCE, PAY-CRASH):

* the run is found or created on its natural key (area, month, programme) — one live run by a partial unique
  constraint, so the same request, a retry or a concurrent call gets the same run; an ``idempotency_key`` given
  with a different request is refused;
* the entitlements in scope are processed in chunks of ``chunk_size``: each chunk is evaluated by the engine
  outside any transaction, then written in one transaction that holds the run's row and first drops what is
  already done — lines (COPY into a temporary table and ``INSERT … ON CONFLICT DO NOTHING`` on PostgreSQL,
  ``bulk_create(ignore_conflicts=True)`` for a few rows or on SQLite), and a ``PayrollSkip`` for every entitlement
  not paid; an entitlement whose month is already live in another run is skipped as ``already_paid``;
* the run becomes ``generated`` only when every entitlement in scope has a line or a skip, with its totals
  recomputed from the lines in the same transaction. A crash at any point leaves whole chunks; calling
  ``generate`` again resumes where the committed chunks end;
* the parameters are frozen in the run's snapshot when it is created; resuming under changed parameters is
  refused (cancel the run and generate again).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from jiuzhu.accounts.roles import PAY
from jiuzhu.batch.models import JobRun
from jiuzhu.core.audit import audit_record
from jiuzhu.core.months import add_months, first_of
from jiuzhu.core.scoping import area_visible

from . import lifecycle
from .evaluation import digest, evaluate_registry, parameter_snapshot
from .models import ALL, MONTHLY_PROGRAMMES, Entitlement, PayrollLine, PayrollRun, PayrollSkip

ZERO = Decimal("0.00")
CHUNK = 500
GENERATE_CHUNK = 5000  # entitlements per chunk of generate: one engine call and one transaction each
PREFETCH_MIN = 4 * GENERATE_CHUNK  # from this many entitlements a run reads ahead on other connections
READ_AHEAD = 2  # chunks read at once ahead of the one written (each on its own connection)


class PaymentError(Exception):
    def __init__(self, *messages: str):
        super().__init__("；".join(messages))
        self.messages = list(messages)


class Forbidden(PaymentError):
    """The actor may not do this (permission, area, own run)."""


class Refused(PaymentError):
    """The state or the data does not allow it; the messages say why."""


class Conflict(PaymentError):
    """An idempotency key reused for another request."""


class Stale(Refused):
    """The record changed since the actor read it (its ``version``): nothing was done."""


# --- months ---------------------------------------------------------------------------------------------------


def _authorise(actor: Any, area_code: str) -> None:
    if not area_visible(actor, area_code, PAY):
        raise Forbidden(_("无权办理该区域的资金发放。"))


# --- entitlements -----------------------------------------------------------------------------------------------


def entitlements_from_decisions(decisions: QuerySet[Any] | None = None) -> dict[str, int]:
    """One ``Entitlement`` per approved decision of a monthly programme (idempotent: a decision that has one is
    left alone). A later decision for the same household and programme supersedes the active entitlement: that
    one is stopped after the month before the new start. The recipient is the applicant when the registry
    knows them in the household, else the head. Returns counts."""
    from jiuzhu.cases.models import Decision
    from jiuzhu.registry.models import Person

    qs = decisions if decisions is not None else Decision.objects.all()
    qs = (qs.filter(approved=True, case__programme__in=MONTHLY_PROGRAMMES, start_month__isnull=False,
                    amount__isnull=False, case__household__isnull=False)
          .exclude(pk__in=Entitlement.objects.exclude(decision=None).values("decision_id"))  # NOT IN: no NULL
          .select_related("case", "case__household").order_by("decided_on", "pk"))  # fmt: skip
    counts: Counter[str] = Counter()
    for d in qs:
        case, household = d.case, d.case.household
        members = Person.objects.filter(household=household)
        recipient = (
            (members.filter(id_number_bi=case.applicant_id_bi).first() if case.applicant_id_bi else None)
            or members.filter(relation="02").order_by("pk").first()
            or members.order_by("pk").first()
        )
        if recipient is None or household is None or d.start_month is None or d.amount is None:
            counts["no_member"] += 1
            continue
        start = first_of(d.start_month)
        try:
            with transaction.atomic():
                old = (Entitlement.objects.select_for_update()
                       .filter(household=household, programme=case.programme, status=Entitlement.Status.ACTIVE).first())  # fmt: skip
                if old is not None:
                    last = add_months(start, -1)
                    old.status = Entitlement.Status.STOPPED
                    old.end_month = last if last >= old.start_month else old.start_month
                    if last < old.start_month:  # never reached its first month: nothing of it is paid
                        old.end_month = None
                    old.version += 1
                    old.save(update_fields=["status", "end_month", "version", "updated_at"])
                    counts["superseded"] += 1
                Entitlement.objects.create(household=household, recipient=recipient, programme=case.programme,
                                           area_code=household.area_code, amount=d.amount, start_month=start,
                                           case=case, decision=d)  # fmt: skip
                counts["created"] += 1
        except IntegrityError:  # a concurrent sync made it first
            counts["raced"] += 1
    return dict(counts)


def in_scope(area_code: str, month: dt.date, programme: str) -> QuerySet[Entitlement]:
    """The entitlements a run of (area, month, programme) pays: active (or stopped after this month), started."""
    qs = Entitlement.objects.filter(area_code__startswith=area_code, start_month__lte=month)
    qs = qs.filter(Q(end_month__isnull=True) | Q(end_month__gte=month))
    qs = qs.filter(
        Q(status=Entitlement.Status.ACTIVE) | Q(status=Entitlement.Status.STOPPED, end_month__isnull=False)
    )
    if programme != ALL:
        qs = qs.filter(programme=programme)
    return qs.order_by("pk")


# --- generate ---------------------------------------------------------------------------------------------------


def _live_run(area_code: str, month: dt.date, programme: str) -> PayrollRun | None:
    return (PayrollRun.objects.filter(kind=PayrollRun.Kind.REGULAR, area_code=area_code, month=month, programme=programme)
            .exclude(status=PayrollRun.Status.CANCELLED).first())  # fmt: skip


def generate(
    *,
    area_code: str,
    month: dt.date,
    programme: str,
    actor: Any,
    idempotency_key: str | None = None,
    chunk_size: int = GENERATE_CHUNK,
    after_chunk: Callable[[PayrollRun, int], None] | None = None,
) -> PayrollRun:
    """The payroll of ``month`` for the area's entitlements of ``programme`` (or ``"all"``). Same request, same
    run; a run still ``generating`` (crashed, or generated by another call right now) is resumed.
    ``after_chunk(run, chunks_written)`` is called after each committed chunk (progress, tests' failpoints)."""
    month = first_of(month)
    if programme != ALL and programme not in MONTHLY_PROGRAMMES:
        raise Refused(_("该救助项目不按月发放。"))
    _authorise(actor, area_code)
    request_hash = digest(
        {"kind": "regular", "area": area_code, "month": month.isoformat(), "programme": programme}
    )
    run = None
    if idempotency_key:
        run = PayrollRun.objects.filter(idempotency_key=idempotency_key).first()
        if run is not None and run.request_hash != request_hash:
            raise Conflict(_("该幂等键已用于另一发放请求。"))
    run = run or _live_run(area_code, month, programme)
    if run is None:
        run = _create_run(area_code, month, programme, actor, idempotency_key, request_hash)
    for _attempt in range(3):  # again when an entitlement appeared in scope while the chunks were written
        if run.status != PayrollRun.Status.GENERATING:
            break
        _fill(run, chunk_size, after_chunk)
        run.refresh_from_db()
    if programme == ALL and run.status != PayrollRun.Status.GENERATING:
        _price_subsidy_alongside(run, actor)
    return run


def _price_subsidy_alongside(run: PayrollRun, actor: Any) -> PayrollRun | None:
    """价格临时补贴 comes with the month's payroll: once a policy admin has entered a CPI figure that reaches the
    trigger for the month, the payroll of all programmes brings the subsidy's own run for the same area and month
    (``subsidy.generate_price_subsidy``: same maker, approved by another officer like any run). Generating again —
    a retry, a replay, or the payroll generated before the CPI figure was entered — makes it if it is missing and
    otherwise changes nothing."""
    from . import subsidy

    if run.status == PayrollRun.Status.CANCELLED or subsidy.live_run(run.area_code, run.month) is not None:
        return None
    if not subsidy.cpi(run.area_code, run.month)["triggered"]:
        return None
    return subsidy.generate_price_subsidy(run.area_code, run.month, actor)


def _create_run(area_code: str, month: dt.date, programme: str, actor: Any, key: str | None,
                request_hash: str) -> PayrollRun:  # fmt: skip
    programmes = list(MONTHLY_PROGRAMMES) if programme == ALL else [programme]
    scope = in_scope(area_code, month, programme)
    areas = list(scope.values_list("household__area_code", flat=True).distinct())
    snapshot = parameter_snapshot(areas, month, programmes)
    snapshot |= {"area": area_code, "month": month.strftime("%Y-%m"), "programme": programme}
    try:
        with transaction.atomic():
            job = JobRun.objects.create(kind="payroll", status=JobRun.Status.RUNNING, area_code=area_code, created_by=actor,
                                        params={"month": month.isoformat(), "programme": programme},
                                        total=scope.count())  # fmt: skip
            run = PayrollRun.objects.create(area_code=area_code, month=month, programme=programme, made_by=actor,
                                            idempotency_key=key or None, request_hash=request_hash, snapshot=snapshot,
                                            snapshot_sha256=digest(snapshot), job=job)  # fmt: skip
            audit_record(action="payroll.create", actor=actor, obj=run,
                         detail={"month": snapshot["month"], "programme": programme, "entitlements": job.total})  # fmt: skip
            return run
    except IntegrityError:  # the same run created concurrently, or the key by a concurrent identical request
        existing = (PayrollRun.objects.filter(idempotency_key=key).first() if key else None) or _live_run(
            area_code, month, programme
        )
        if existing is None:
            raise
        if existing.request_hash != request_hash:
            raise Conflict(_("该幂等键已用于另一发放请求。")) from None
        return existing


def _check_parameters(run: PayrollRun) -> None:
    """Resume only under the parameters frozen at creation."""
    from jiuzhu.policyadmin.models import ParameterChange

    latest = ParameterChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
    if latest == run.snapshot.get("parameter_change_id"):
        return
    areas = [a for g in run.snapshot.get("parameters", []) for a in g["areas"]]
    now = parameter_snapshot(areas, run.month, run.snapshot.get("programmes", []))
    if digest(now["parameters"]) != digest(run.snapshot.get("parameters", [])):
        raise Refused(_("生成开始后政策参数已变更，请作废本批次后重新生成。"))


class _Ent(NamedTuple):
    """An entitlement in scope with what deciding its line needs, read as one row (no model instances: a run may
    pay a million). The line's payee and account are read by the database when the line is inserted."""

    pk: int
    household_id: int
    recipient_id: int
    programme: str
    case_id: int | None
    household_status: str
    area_code: str
    has_account: bool
    deduction: Decimal
    deduction_from: dt.date | None


_ENT_COLS = ("pk", "household_id", "recipient_id", "programme", "case_id", "household__status", "household__area_code",
             "has_account", "deduction", "deduction_from")  # fmt: skip
# A line as a row: these columns; the insert adds the run, the month, the references, the payee and the account
# (``_insert_lines``).
LINE_COLS = ("entitlement_id", "household_id", "person_id", "area_code", "programme", "amount", "engine_amount",
             "advance_deducted", "deducted")  # fmt: skip
SKIP_COLS = ("entitlement_id", "area_code", "reason", "detail")
Line = tuple[Any, ...]  # in LINE_COLS order
Skip = tuple[int, str, str, str]  # in SKIP_COLS order
# From this many rows a chunk's skips go to PostgreSQL by COPY; fewer go by ``bulk_create`` (as fast for a few
# rows). Lines always go through a temporary table (COPY on PostgreSQL from this many).
COPY_MIN = 200


def _done(run: PayrollRun, ids: Iterable[int]) -> set[int]:
    """The entitlements among ``ids`` that already have a line or a skip in the run (two range scans of the
    (run, entitlement) unique indexes between the smallest and the largest id)."""
    ids = set(ids)
    if not ids:
        return set()
    lo, hi = min(ids), max(ids)
    got = set(
        run.lines.filter(entitlement_id__gte=lo, entitlement_id__lte=hi).values_list(
            "entitlement_id", flat=True
        )
    )
    got |= set(
        run.skips.filter(entitlement_id__gte=lo, entitlement_id__lte=hi).values_list(
            "entitlement_id", flat=True
        )
    )
    return got & ids


def _prefetching(scope: QuerySet[Entitlement]) -> bool:
    """Read the next chunks on other connections while this one is evaluated and written: on PostgreSQL, only
    outside a transaction (another connection would not see its uncommitted rows), and only for a large run
    (``PREFETCH_MIN`` entitlements: more connections for a small run would lower how many runs the database can
    serve at once for a gain of seconds)."""
    from django.db import connection

    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    return scope.values("pk")[PREFETCH_MIN : PREFETCH_MIN + 1].exists()


def _ranges(scope: QuerySet[Entitlement], chunk_size: int) -> list[tuple[int, int | None]]:
    """The chunks as ranges of entitlement pks (after, up to and including), ``chunk_size`` entitlements in scope
    each, the last one open (an entitlement added meanwhile with a higher pk falls in it). Known in advance, the
    chunks can be read in any order and several at once. One query: every ``chunk_size``-th pk in scope."""
    from django.db import connection

    sql, params = scope.order_by().values_list("id").query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(f"SELECT pk FROM (SELECT s.id AS pk, ROW_NUMBER() OVER (ORDER BY s.id) AS n FROM ({sql}) s) t "  # noqa: S608 - Django's SQL
                    "WHERE n %% %s = 0 ORDER BY pk", [*params, chunk_size])  # fmt: skip
        ends = [r[0] for r in cur.fetchall()]
    return list(zip([0, *ends], [*ends, None], strict=True))


def _read_aside(run: PayrollRun, scope: QuerySet[Entitlement], after: int, upto: int | None) -> Any:
    """``_read`` on a reading thread (its own connection: reads only, of committed rows)."""
    return _read(run, scope, after, upto)


def _close_aside(everyone: threading.Barrier) -> None:
    """Close a reading thread's connection: every thread of the pool takes one of these (each waits for all)."""
    from django.db import connection

    everyone.wait(timeout=60)
    connection.close()


def _chunks(run: PayrollRun, scope: QuerySet[Entitlement], chunk_size: int,
            pool: ThreadPoolExecutor | None) -> Iterator[tuple[list[_Ent], Any, dict[int, tuple[Decimal, list[int]]]]]:  # fmt: skip
    """The chunks read, in order: in turn, or with a pool up to ``READ_AHEAD`` of them at once ahead of the one
    being written."""
    ranges = _ranges(scope, chunk_size)
    if pool is None:
        for after, upto in ranges:
            yield _read(run, scope, after, upto)
        return
    pending = deque(pool.submit(_read_aside, run, scope, *r) for r in ranges[:READ_AHEAD])
    for nxt in range(READ_AHEAD, len(ranges) + READ_AHEAD):
        chunk = pending.popleft().result()
        if nxt < len(ranges):
            pending.append(pool.submit(_read_aside, run, scope, *ranges[nxt]))
        yield chunk


def _fill(run: PayrollRun, chunk_size: int, after_chunk: Callable[[PayrollRun, int], None] | None) -> None:
    """The chunks, each read, evaluated and written in turn; on PostgreSQL a large run reads the next chunks on
    other connections while this one is evaluated and written (the database does both at once: well under half
    the time). Reading ahead changes nothing written: a chunk is still written whole in its own transaction, and
    what is done already is checked again inside it."""
    _check_parameters(run)
    scope = in_scope(run.area_code, run.month, run.programme)
    written = 0
    pool = ThreadPoolExecutor(READ_AHEAD, thread_name_prefix="payroll-read") if _prefetching(scope) else None
    try:
        for todo, registry, advances in _chunks(run, scope, chunk_size, pool):
            if todo:
                lines, skips = _evaluate(run, todo, registry, advances)
                if not _write(run, lines, skips):
                    return  # finished or cancelled meanwhile
                written += 1
                if after_chunk is not None:
                    after_chunk(run, written)
    finally:
        if pool is not None:
            everyone = threading.Barrier(READ_AHEAD)
            for f in [pool.submit(_close_aside, everyone) for _ in range(READ_AHEAD)]:
                f.result()
            pool.shutdown()
    _finish(run)


def _read(run: PayrollRun, scope: QuerySet[Entitlement], after: int,
          upto: int | None) -> tuple[list[_Ent], Any, dict[int, tuple[Decimal, list[int]]]]:  # fmt: skip
    """The chunk's entitlements (pks after ``after`` up to ``upto``) not yet done in this run, their households as
    the engine's columns on the month's first day (``registry.columns``) and the reserve advances of their cases.
    Five queries."""
    from jiuzhu.registry.columns import registry_columns

    has_account = ExpressionWrapper(~Q(household__bank_account_enc=""), output_field=BooleanField())
    rows = scope.filter(pk__gt=after)
    if upto is not None:
        rows = rows.filter(pk__lte=upto)
    chunk = [_Ent(*row) for row in rows.annotate(has_account=has_account).order_by("pk").values_list(*_ENT_COLS)]
    done = _done(run, (e.pk for e in chunk))
    todo = [e for e in chunk if e.pk not in done]
    if not todo:
        return [], None, {}
    registry = registry_columns(sorted({e.household_id for e in todo}), run.month)
    return todo, registry, _advances({e.case_id for e in todo if e.case_id}, run.month, run)


def _write(run: PayrollRun, lines: list[Line], skips: list[Skip]) -> bool:
    """One chunk in one transaction holding the run's row: what is done already is dropped, then the lines and the
    skips are inserted. False when the run is no longer generating (finished or cancelled meanwhile)."""
    with transaction.atomic():
        if (
            not PayrollRun.objects.select_for_update()
            .filter(pk=run.pk, status=PayrollRun.Status.GENERATING)
            .exists()
        ):
            return False
        done = _done(run, [x[0] for x in (*lines, *skips)])
        lines = [ln for ln in lines if ln[0] not in done]
        skips = [s for s in skips if s[0] not in done]
        lines, taken = _drop_already_paid(run, lines)
        skips += taken
        got = _insert_lines(run, lines)
        skips += _taken_elsewhere(run, [ln for ln in lines if ln[0] not in got])
        _insert_skips(run, skips)
        if run.job_id:
            JobRun.objects.filter(pk=run.job_id).update(done=F("done") + len(got) + len(skips))
    return True


def _defaults(model: Any, cols: Iterable[str], given: dict[str, Any]) -> dict[str, Any]:
    """``given`` and every other field's default as constants, for an ``INSERT … SELECT``."""
    from django.db import connection

    consts = dict(given)
    for f in model._meta.concrete_fields:
        if not f.primary_key and f.column not in cols and f.column not in consts and f.has_default():
            consts[f.column] = f.get_db_prep_save(f.get_default(), connection)
    return consts


_LINE_TMP = "jz_tmp_payline"
_LINE_TMP_DDL = (f"CREATE TEMP TABLE IF NOT EXISTS {_LINE_TMP} (entitlement_id bigint, household_id bigint, "
                 "person_id bigint, area_code varchar(12), programme varchar(32), amount numeric(12, 2), "
                 "engine_amount numeric(12, 2), advance_deducted numeric(12, 2), deducted numeric(12, 2))")  # fmt: skip


def _insert_lines(run: PayrollRun, lines: list[Line]) -> set[int]:
    """The lines inserted, ignoring a conflict with a unique constraint (the month live in another run, inserted
    concurrently); returns the entitlements whose line is now in the run. The rows go to a temporary table (COPY
    on PostgreSQL), and one ``INSERT … SELECT`` adds what the database has at hand: the references, the payee's
    name and the household's account as it is now (a household whose account was removed meanwhile gets none)."""
    from django.db import connection

    if not lines:
        return set()
    names = ", ".join(LINE_COLS)
    computed = {
        "explanation_ref": "t.programme || %s || h.household_no || %s",
        "reference": "%s || CAST(t.entitlement_id AS VARCHAR(20))",
        "payee_name": "substr(p.name, 1, 64)", "bank_name": "substr(h.bank_name, 1, 64)",
        "bank_account_enc": "h.bank_account_enc", "bank_account_bi": "h.bank_account_bi",
        "bank_account_masked": "h.bank_account_masked",
    }  # fmt: skip
    consts = _defaults(PayrollLine, (*LINE_COLS, *computed), {"run_id": run.pk, "month": run.month})
    params = [f"@{run.month:%Y-%m}/", f"/{run.snapshot_sha256[:12]}", f"JZ{run.pk}E", *consts.values()]
    sql = (f"INSERT INTO {PayrollLine._meta.db_table} ({names}, {', '.join(computed)}, {', '.join(consts)}) "  # noqa: S608
           f"SELECT {', '.join(f't.{c}' for c in LINE_COLS)}, {', '.join(computed.values())}, "
           f"{', '.join(['%s'] * len(consts))} FROM {_LINE_TMP} t "
           "JOIN registry_household h ON h.id = t.household_id JOIN registry_person p ON p.id = t.person_id "
           "WHERE h.bank_account_enc <> '' ON CONFLICT DO NOTHING RETURNING entitlement_id")  # fmt: skip
    with connection.cursor() as cur:
        cur.execute(_LINE_TMP_DDL + (" ON COMMIT DELETE ROWS" if connection.vendor == "postgresql" else ""))
        cur.execute(f"DELETE FROM {_LINE_TMP}")  # noqa: S608 - a rolled-back chunk's rows on SQLite
        if connection.vendor == "postgresql" and len(lines) >= COPY_MIN:
            with cur.cursor.copy(f"COPY {_LINE_TMP} ({names}) FROM STDIN") as copy:
                for row in lines:
                    copy.write_row(row)
        else:
            cur.executemany(f"INSERT INTO {_LINE_TMP} ({names}) VALUES ({', '.join(['%s'] * len(LINE_COLS))})",  # noqa: S608
                            lines)  # fmt: skip
        cur.execute(sql, params)
        got = {r[0] for r in cur.fetchall()}
        cur.execute(f"DELETE FROM {_LINE_TMP}")  # noqa: S608
    return got


def _insert_skips(run: PayrollRun, skips: list[Skip]) -> None:
    """The chunk's skips, straight into the table (COPY on PostgreSQL from ``COPY_MIN`` rows): no conflict can
    arise, since only a writer holding the run's row adds its skips and ``_write`` has dropped what is done.
    Should one arise all the same, the chunk is refused and rolled back whole."""
    from django.db import connection

    skips = [(e, area, reason, detail[:300]) for e, area, reason, detail in skips]
    if connection.vendor == "postgresql" and len(skips) >= COPY_MIN:
        with connection.cursor() as cur, cur.cursor.copy(
            f"COPY {PayrollSkip._meta.db_table} (run_id, {', '.join(SKIP_COLS)}) FROM STDIN"
        ) as copy:
            for s in skips:
                copy.write_row((run.pk, *s))
        return
    PayrollSkip.objects.bulk_create([PayrollSkip(run=run, **dict(zip(SKIP_COLS, s, strict=True))) for s in skips])


def _holders(lines: QuerySet[PayrollLine]) -> Callable[[Line], str]:
    """For a line to write: the reference of the line among ``lines`` that holds its (household or person,
    programme), or ""."""
    taken: dict[tuple[str, int, str], str] = {}
    for hh, person, prog, ref in lines.values_list("household_id", "person_id", "programme", "reference"):
        taken[("h", hh, prog)] = taken[("p", person, prog)] = ref
    return lambda ln: taken.get(("h", ln[1], ln[4])) or taken.get(("p", ln[2], ln[4]), "")


def _drop_already_paid(run: PayrollRun, lines: list[Line]) -> tuple[list[Line], list[Skip]]:
    """Lines whose (household or person, programme, month) failed in another run become skips: a failed payment is
    paid again by ``reissue`` after the account is corrected, not by a new run. (A month live in another run is
    refused by the live-line constraints when the line is inserted: ``_taken_elsewhere``.) The month's failed
    lines are few and have their own partial index."""
    if not lines:
        return lines, []
    holder = _holders(PayrollLine.objects.filter(month=run.month, status=PayrollLine.Status.FAILED).exclude(run=run))
    keep: list[Line] = []
    skips: list[Skip] = []
    for ln in lines:
        ref = holder(ln)
        if ref:
            skips.append((ln[0], ln[3], PayrollSkip.Reason.ALREADY_PAID, _("已在发放明细 %(r)s 中") % {"r": ref}))
        else:
            keep.append(ln)
    return keep, skips


def _taken_elsewhere(run: PayrollRun, lines: list[Line]) -> list[Skip]:
    """Skips for the lines the live-line constraints refused (the month live in another run, or inserted by a
    concurrent run just now), each naming the line that holds the month when it can be found."""
    if not lines:
        return []
    live = PayrollLine.objects.filter(month=run.month, status__in=PayrollLine.LIVE).exclude(run=run)
    holder = _holders(live.filter(Q(household_id__in={ln[1] for ln in lines}) | Q(person_id__in={ln[2] for ln in lines})))
    out: list[Skip] = []
    for ln in lines:
        ref = holder(ln)
        why = _("已在发放明细 %(r)s 中") % {"r": ref} if ref else _("并发写入冲突")
        out.append((ln[0], ln[3], PayrollSkip.Reason.ALREADY_PAID, why))
    return out


def _advances(cases: set[int], month: dt.date, run: PayrollRun | None = None) -> dict[int, tuple[Decimal, list[int]]]:
    """先行救助 paid from the township reserve fund for these cases in this month: the amount (positive) and the
    ledger entries' numbers, per case (a migrated entitlement has no case). With ``run``, the month's ledger is
    read once for the whole run (a chunk's thousands of cases as an IN list cost more than the month's few
    advances). Back-pay, 调标 and recovery (``adjustments.outcomes``) read it the same way."""
    from jiuzhu.cases.models import ReserveEntry

    if not cases:
        return {}
    month_rows = getattr(run, "_jz_advances", None) if run is not None else None
    if month_rows is None:
        qs = ReserveEntry.objects.filter(kind=ReserveEntry.Kind.PAYMENT, on__gte=month, on__lt=add_months(month, 1))
        qs = qs.filter(case__isnull=False) if run is not None else qs.filter(case_id__in=cases)
        month_rows = list(qs.order_by("on", "pk").values_list("case_id", "amount", "seq"))
        if run is not None:
            run._jz_advances = month_rows  # type: ignore[attr-defined]
    out: dict[int, tuple[Decimal, list[int]]] = {}
    for case_id, amount, seq in month_rows:
        if case_id in cases:
            total, seqs = out.get(case_id, (ZERO, []))
            out[case_id] = (total - amount, [*seqs, seq])  # payments are negative in the ledger
    return out


def _evaluate(run: PayrollRun, todo: list[_Ent], registry: Any,
              advances: dict[int, tuple[Decimal, list[int]]]) -> tuple[list[Line], list[Skip]]:  # fmt: skip
    """The engine for the month on the chunk's columns, one vectorised call per programme, then a line or a skip
    per entitlement."""
    from jiuzhu.registry.models import HouseholdStatus

    by_prog: dict[str, set[int]] = defaultdict(set)
    for e in todo:
        if e.household_status == HouseholdStatus.ACTIVE:
            by_prog[e.programme].add(e.household_id)
    outcomes = evaluate_registry(by_prog, run.month, read=registry)
    lines: list[Line] = []
    skips: list[Skip] = []
    R = PayrollSkip.Reason
    no_advance: tuple[Decimal, list[int]] = (ZERO, [])
    for e in todo:
        area = e.area_code
        if e.household_status != HouseholdStatus.ACTIVE:
            skips.append((e.pk, area, R.HOUSEHOLD_CLOSED, ""))
            continue
        o = outcomes[e.programme][e.household_id]
        if o.status != "ok":
            skips.append(
                (e.pk, area, R.NOT_ELIGIBLE if o.status == "not_eligible" else R.NOT_EVALUABLE, o.detail)
            )
            continue
        advance, seqs = advances.get(e.case_id, no_advance) if e.case_id else no_advance  # migrated: no case
        withheld = lifecycle.withheld(e, run.month)
        amount = o.amount - advance - withheld
        if amount <= 0:
            if advance > 0:
                skips.append((e.pk, area, R.ADVANCE_PAID, _("备用金账目第 %(s)s 号") % {"s": "、".join(map(str, seqs))}))
            else:
                skips.append((e.pk, area, R.REDUCED if withheld else R.NOT_ELIGIBLE, ""))
            continue
        if not e.has_account:
            skips.append((e.pk, area, R.NO_ACCOUNT, ""))
            continue
        lines.append((e.pk, e.household_id, e.recipient_id, area, e.programme, amount, o.amount, advance, withheld))
    return lines, skips


def _finish(run: PayrollRun) -> None:
    with transaction.atomic():
        locked = (
            PayrollRun.objects.select_for_update()
            .filter(pk=run.pk, status=PayrollRun.Status.GENERATING)
            .first()
        )
        if locked is None:
            return
        scope = in_scope(run.area_code, run.month, run.programme).order_by()
        missing = scope.filter(~Exists(PayrollLine.objects.filter(run=locked, entitlement=OuterRef("pk"))),
                               ~Exists(PayrollSkip.objects.filter(run=locked, entitlement=OuterRef("pk"))))  # fmt: skip
        if missing.exists():  # an entitlement appeared during generation: the next call picks it up
            return
        considered = scope.count()
        _set_totals(locked)
        skipped = dict(
            locked.skips.order_by().values_list("reason").annotate(n=Count("pk")).values_list("reason", "n")
        )
        changed = locked.lines.exclude(amount=F("entitlement__amount")).count()
        locked.counts = {"entitlements": considered, "lines": locked.line_count, "skipped": skipped,
                         "amount_differs_from_decision": changed}  # fmt: skip
        locked.status = PayrollRun.Status.GENERATED
        locked.generated_at = timezone.now()
        locked.version += 1
        locked.save()
        if locked.job_id:
            JobRun.objects.filter(pk=locked.job_id).update(status=JobRun.Status.SUCCEEDED, done=considered,
                                                           total=considered, counts=locked.counts,
                                                           finished_at=timezone.now())  # fmt: skip
        audit_record(action="payroll.generate", actor=locked.made_by, obj=locked,
                     detail={"lines": locked.line_count, "total": str(locked.total_amount), "skipped": skipped})  # fmt: skip


def _set_totals(run: PayrollRun) -> None:
    agg = run.lines.exclude(status=PayrollLine.Status.CANCELLED).aggregate(n=Count("pk"), s=Sum("amount"))
    run.line_count, run.total_amount = agg["n"] or 0, agg["s"] or ZERO


# --- approve, cancel -------------------------------------------------------------------------------------------


def _locked(run: PayrollRun | int) -> PayrollRun:
    return PayrollRun.objects.select_for_update().get(pk=run if isinstance(run, int) else run.pk)


def approve(run: PayrollRun | int, actor: Any) -> PayrollRun:
    """双人复核: another officer with the payment permission for the run's area approves a generated run."""
    with transaction.atomic():
        r = _locked(run)
        _authorise(actor, r.area_code)
        if getattr(actor, "pk", None) == r.made_by_id:
            raise Forbidden(_("不能审核本人生成的发放批次。"))
        if r.status != PayrollRun.Status.GENERATED:
            raise Refused(
                _("只有待审核的发放批次可以审核（当前状态：%(s)s）。") % {"s": r.get_status_display()}
            )
        r.status, r.approved_by, r.approved_at = PayrollRun.Status.APPROVED, actor, timezone.now()
        r.version += 1
        r.save()
        audit_record(
            action="payroll.approve",
            actor=actor,
            obj=r,
            detail={"lines": r.line_count, "total": str(r.total_amount)},
        )
        return r


def cancel(run: PayrollRun | int, actor: Any, reason: str) -> PayrollRun:
    """作废 a run not yet handed to the bank: its lines stop being live (a new run may be generated); the lines a
    re-issue run replaced become failed again."""
    if not reason.strip():
        raise Refused(_("请填写作废原因。"))
    with transaction.atomic():
        r = _locked(run)
        _authorise(actor, r.area_code)
        if r.status in (PayrollRun.Status.EXPORTED, PayrollRun.Status.CANCELLED):
            raise Refused(_("已导出或已作废的发放批次不能作废。"))
        originals = list(r.lines.exclude(reissue_of=None).values_list("reissue_of_id", flat=True))
        r.lines.update(status=PayrollLine.Status.CANCELLED)
        PayrollLine.objects.filter(pk__in=originals, status=PayrollLine.Status.REISSUED).update(
            status=PayrollLine.Status.FAILED
        )
        r.status, r.cancelled_at, r.cancel_reason = (
            PayrollRun.Status.CANCELLED,
            timezone.now(),
            reason.strip()[:200],
        )
        r.version += 1
        r.save()
        if r.job_id:
            JobRun.objects.filter(pk=r.job_id, status=JobRun.Status.RUNNING).update(status=JobRun.Status.FAILED,
                                                                                   message="cancelled")  # fmt: skip
        audit_record(action="payroll.cancel", actor=actor, obj=r, detail={"reason": r.cancel_reason})
        return r


# --- re-issue ----------------------------------------------------------------------------------------------------


def reissue(run: PayrollRun | int, actor: Any, line_ids: Iterable[int] | None = None) -> PayrollRun:
    """Failed lines of an exported run paid again, after the household's account was corrected: a new run
    (kind ``reissue``) with one new line per failed line, to be approved by another officer and exported like any
    run. The old lines become ``reissued``; a line is never live twice (constraints)."""
    from jiuzhu.registry.models import Household

    src = run if isinstance(run, PayrollRun) else PayrollRun.objects.get(pk=run)
    _authorise(actor, src.area_code)
    with transaction.atomic():
        failed = src.lines.select_for_update().filter(status=PayrollLine.Status.FAILED)
        if line_ids is not None:
            failed = failed.filter(pk__in=list(line_ids))
        old = list(failed.order_by("pk"))
        if not old:
            raise Refused(_("没有可重发的失败明细。"))
        accounts = {h.pk: h for h in Household.objects.filter(pk__in={ln.household_id for ln in old})}
        problems = []
        for ln in old:
            h = accounts[ln.household_id]
            if not h.bank_account_enc or h.bank_account_bi == ln.bank_account_bi:
                problems.append(_("%(r)s：银行账号尚未更正") % {"r": ln.reference})
        if problems:
            raise Refused(*problems)
        total = sum((ln.amount for ln in old), ZERO)
        new = PayrollRun.objects.create(
            kind=PayrollRun.Kind.REISSUE, area_code=src.area_code, month=src.month, programme=src.programme,
            status=PayrollRun.Status.GENERATED, made_by=actor, generated_at=timezone.now(),
            request_hash=digest({"kind": "reissue", "of": src.pk, "lines": [ln.pk for ln in old]}),
            snapshot={"reissue_of_run": src.pk, "lines": [ln.reference for ln in old]},
            line_count=len(old), total_amount=total, counts={"lines": len(old)},
        )  # fmt: skip
        n = PayrollLine.objects.filter(pk__in=[ln.pk for ln in old], status=PayrollLine.Status.FAILED).update(
            status=PayrollLine.Status.REISSUED
        )
        if n != len(old):
            raise Refused(_("明细已被他人处理，请刷新后重试。"))
        try:
            with transaction.atomic():
                _reissue_lines(new, old, accounts)
        except IntegrityError as e:  # the month is live elsewhere (an overlapping run made meanwhile)
            raise Refused(_("该月已有另一笔有效发放，不能重发。")) from e
        audit_record(action="payroll.reissue", actor=actor, obj=new,
                     detail={"of_run": src.pk, "lines": len(old), "total": str(total)})  # fmt: skip
        return new


def _reissue_lines(new: PayrollRun, old: list[PayrollLine], accounts: dict[int, Any]) -> None:
    many = len({ln.month for ln in old}) > 1
    PayrollLine.objects.bulk_create([PayrollLine(
        run=new, entitlement_id=ln.entitlement_id, household_id=ln.household_id, person_id=ln.person_id,
        area_code=ln.area_code, programme=ln.programme, month=ln.month, amount=ln.amount,
        engine_amount=ln.engine_amount, advance_deducted=ln.advance_deducted, deducted=ln.deducted,
        explanation_ref=ln.explanation_ref,
        # one failed back-pay run may hold several months (and supplements) of one entitlement
        reference=f"JZ{new.pk}E{ln.entitlement_id}" + (f"M{ln.month:%Y%m}" if many else "") + (f"S{ln.seq}" if ln.seq else ""),
        seq=ln.seq, payee_name=ln.payee_name,
        bank_name=accounts[ln.household_id].bank_name[:64], bank_account_enc=accounts[ln.household_id].bank_account_enc,
        bank_account_bi=accounts[ln.household_id].bank_account_bi,
        bank_account_masked=accounts[ln.household_id].bank_account_masked, reissue_of=ln,
    ) for ln in old])  # fmt: skip


# --- reports ------------------------------------------------------------------------------------------------------


def reconciliation(run: PayrollRun) -> dict[str, Any]:
    """The run's money by line status: paid + failed + reissued + pending = total (cancelled runs: all cancelled)."""
    by = dict(run.lines.values_list("status").annotate(s=Sum("amount")).values_list("status", "s"))
    return {k: by.get(k, ZERO) for k in PayrollLine.Status.values} | {"total": run.total_amount}


# --- recipients from before the platform ------------------------------------------------------------------------

REGISTRY_PROGRAMMES = ("dibao", "tekun")  # the programmes the registry marks as received today


def entitlements_from_registry(area_code: str, actor: Any, *, start: dt.date | None = None,
                               dry_run: bool = False) -> dict[str, int]:  # fmt: skip
    """Entitlements (origin ``migration``, no case or decision) for the recipients the registry marks as
    receiving a monthly programme before the platform existed (移交存量对象), so that the payroll pays them:

    * 低保 — a household whose economy says ``current_dibao``: the amount is ``current_dibao_amount``, the
      recipient the head (else the first member);
    * 特困 — a person with ``tekun_recipient`` (first such member of the household): amount 0, as the registry
      records none (the payroll pays the engine's amount for the month anyway).

    The registry keeps no date the benefit began, only the day its facts were recorded (``as_of``), up to which
    the old system paid; the first month paid here is the month after that day, or ``start`` (a month) when
    given. Idempotent: a household that has any entitlement of the programme (from a decision, from an earlier
    migration, active or stopped) is left alone, so a stopped benefit is never revived by the registry; archived
    households are not migrated. ``actor`` None is the command line (the machine's operator); a user needs the
    payment permission for the area. Returns counts per programme and ``skipped_no_member``."""
    from jiuzhu.registry.models import Household, HouseholdStatus, Person, PersonEconomy

    if actor is not None:
        _authorise(actor, area_code)
    fixed = first_of(start) if start else None
    counts: Counter[str] = Counter()
    households = Household.objects.filter(area_code__startswith=area_code, status=HouseholdStatus.ACTIVE)
    candidates: dict[str, list[tuple[int, int | None, Decimal, dt.date]]] = {
        p: [] for p in REGISTRY_PROGRAMMES
    }
    has = {p: Entitlement.objects.filter(programme=p).values("household_id") for p in REGISTRY_PROGRAMMES}
    dibao = (households.filter(economy__current_dibao=True).exclude(pk__in=has["dibao"])
             .order_by("pk").values_list("pk", "economy__current_dibao_amount", "economy__as_of"))  # fmt: skip
    candidates["dibao"] = [(pk, None, amount or ZERO, as_of) for pk, amount, as_of in dibao]
    tekun = (PersonEconomy.objects.filter(tekun_recipient=True, person__household__in=households.exclude(pk__in=has["tekun"]))
             .order_by("person__household_id", "person_id").values_list("person__household_id", "person_id", "as_of"))  # fmt: skip
    seen: set[int] = set()
    for hh, person, as_of in tekun:
        if hh not in seen:
            seen.add(hh)
            candidates["tekun"].append((hh, person, ZERO, as_of))
    for programme, rows in candidates.items():
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i : i + CHUNK]
            members: dict[int, list[tuple[int, str]]] = defaultdict(list)
            for hh, pk, relation in (Person.objects.filter(household_id__in=[r[0] for r in chunk])
                                     .order_by("pk").values_list("household_id", "pk", "relation")):  # fmt: skip
                members[hh].append((pk, relation))
            area_of = dict(
                Household.objects.filter(pk__in=[r[0] for r in chunk]).values_list("pk", "area_code")
            )
            new = []
            for hh, who, money, as_of in chunk:
                ms = members.get(hh, [])
                recipient = (
                    who or next((pk for pk, rel in ms if rel == "02"), None) or (ms[0][0] if ms else None)
                )
                if recipient is None:
                    counts["skipped_no_member"] += 1
                    continue
                new.append(Entitlement(household_id=hh, recipient_id=recipient, programme=programme,
                                       area_code=area_of[hh], amount=money,
                                       start_month=fixed or add_months(first_of(as_of), 1),
                                       origin=Entitlement.Origin.MIGRATION))  # fmt: skip
            if not dry_run and new:
                mine = Entitlement.objects.filter(
                    programme=programme, household_id__in=[e.household_id for e in new]
                )
                before = mine.count()
                # a concurrent migration's rows are ignored (one active entitlement per household and programme)
                Entitlement.objects.bulk_create(new, ignore_conflicts=True)
                counts[programme] += mine.count() - before
            else:
                counts[programme] += len(new)
    if not dry_run:
        audit_record(action="payroll.entitlements_migrated", actor=actor, object_type="payments.entitlement",
                     object_area=area_code, detail={"area": area_code, "start": fixed.isoformat() if fixed else None,
                                                    **counts})  # fmt: skip
    return dict(counts)
