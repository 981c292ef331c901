"""``/payments``: the monthly payroll (按月发放) for integration clients — generate a run, read it and its lines,
approve it (双人复核), and 暂停 / 恢复 / 停发 an entitlement. Everything goes through ``payments.services`` and
``payments.adjustments``, which check the payment permission and the area again and write the audit rows.

Who may call: roles with the payment permission (``pay``: caseworker, reviewer). A run or an entitlement outside
your area is 404 like a missing one; one in your area without the payment permission is 403.

* ``POST /payments/runs`` — ``{area_code, month: "YYYY-MM", programme}`` with a required ``Idempotency-Key``
  header (SECURITY PAY-ONCE): generates synchronously and answers the run. The first successful answer is kept
  (``api.models.IdempotentAnswer``, per user and key): the same key with the same body gets it again byte for
  byte — even after the run was approved since — and writes nothing; the same key with another body is 409. 201
  when the run is the one this key created, 200 when it is a live run of the same area, month and programme made
  by another request (same request, same run).
* ``GET /payments/runs/{id}``, ``GET /payments/runs/{id}/lines?offset&limit`` — lines carry the masked account
  only (never the full number or its ciphertext).
* ``POST /payments/runs/{id}/approve`` ``{version}`` — 409 when the run changed since you read ``version``
  (SECURITY PAY-LOCK), 403 for the officer who generated it.
* ``PATCH /payments/entitlements/{id}`` ``{version, action, reason, from_month?}`` — the version is compared under
  the entitlement's row lock, so of two PATCHes with the same version exactly one succeeds.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Literal, get_args

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Header, Query, Router, Schema, Status

from jiuzhu.accounts import roles
from jiuzhu.core.models import Division
from jiuzhu.core.scoping import area_visible, can, get_scoped_or_404
from jiuzhu.payments import adjustments, services
from jiuzhu.payments.evaluation import digest
from jiuzhu.payments.models import ALL, MONTHLY_PROGRAMMES, Entitlement, PayrollLine, PayrollRun

from ..errors import STALE
from ..models import IdempotentAnswer
from ..present import Viewer
from ..schemas import MAX_VERSION, ErrorOut, Strict, ValidationErrorOut
from .common import DEFAULT_LIMIT, MAX_LIMIT, READ_ERRORS, WRITE_ERRORS, ObjectId, user_of

router = Router(tags=["payments"])

PayrollProgramme = Literal["all", "dibao", "tekun", "two_subsidies", "elderly", "child"]
assert set(get_args(PayrollProgramme)) == {ALL, *MONTHLY_PROGRAMMES}
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
KEY_PATTERN = r"^[\x21-\x7e]{1,64}$"  # visible ASCII: a UUID, a ULID, a job id
CENT = Decimal("0.01")
MUTATION_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ValidationErrorOut}


# --- shapes -----------------------------------------------------------------------------------------------
class RunIn(Strict):
    area_code: str = Field(pattern=r"^(\d{6}|\d{9}|\d{12})$", description="County, township or village in your area")
    month: str = Field(pattern=MONTH_PATTERN, description="The month paid, YYYY-MM")
    programme: PayrollProgramme = Field(description="A monthly programme, or all of them")


class RunOut(Schema):
    id: int
    area_code: str
    month: str = Field(description="YYYY-MM")
    programme: str
    kind: str = Field(description="regular | reissue | backpay")
    status: str = Field(description="generating | generated | approved | exported | cancelled")
    version: int = Field(description="For approve (optimistic lock)")
    line_count: int
    total_amount: str = Field(description="Yuan, two decimals")
    counts: dict[str, Any] = Field(description="Entitlements considered, lines, skipped by reason")


class ApproveIn(Strict):
    version: int = Field(ge=1, le=MAX_VERSION, description="The run version you read (optimistic lock)")


class LineOut(Schema):
    id: int
    reference: str = Field(description="The bank's transaction reference")
    entitlement_id: int
    household_id: int
    area_code: str
    programme: str
    month: str
    seq: int
    amount: str
    engine_amount: str
    advance_deducted: str
    deducted: str
    payee_name: str = Field(description="Full name for roles with view_names, otherwise masked")
    bank_name: str
    bank_account_masked: str
    status: str
    failure_reason: str
    settled_on: dt.date | None


class LinePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[LineOut]


class EntitlementPatchIn(Strict):
    version: int = Field(ge=1, le=MAX_VERSION, description="The entitlement version you read (optimistic lock)")
    action: Literal["suspend", "resume", "stop"] = Field(description="暂停发放 / 恢复发放 / 停发")
    reason: str = Field(min_length=1, max_length=300)
    from_month: str | None = Field(None, pattern=MONTH_PATTERN, description="First month affected (default next)")


class EntitlementOut(Schema):
    id: int
    household_id: int
    programme: str
    area_code: str
    amount: str
    start_month: str
    end_month: str | None = Field(description="Last month paid (YYYY-MM), inclusive")
    status: str = Field(description="active | suspended | stopped")
    deduction: str
    deduction_from: str | None
    version: int
    adjustment_id: int = Field(description="The adjustment record this request made")


# --- helpers ----------------------------------------------------------------------------------------------
def money(v: Any) -> str:
    return str(Decimal(v or 0).quantize(CENT))


def ym(d: dt.date | None) -> str | None:
    return d.strftime("%Y-%m") if d else None


def run_out(run: PayrollRun) -> dict[str, Any]:
    return {
        "id": run.pk, "area_code": run.area_code, "month": ym(run.month), "programme": run.programme,
        "kind": run.kind, "status": run.status, "version": run.version, "line_count": run.line_count,
        "total_amount": money(run.total_amount), "counts": run.counts or {},
    }  # fmt: skip


def line_out(ln: PayrollLine, v: Viewer) -> dict[str, Any]:
    return {
        "id": ln.pk, "reference": ln.reference, "entitlement_id": ln.entitlement_id, "household_id": ln.household_id,
        "area_code": ln.area_code, "programme": ln.programme, "month": ym(ln.month), "seq": ln.seq,
        "amount": money(ln.amount), "engine_amount": money(ln.engine_amount),
        "advance_deducted": money(ln.advance_deducted), "deducted": money(ln.deducted),
        "payee_name": v.name(ln.payee_name), "bank_name": ln.bank_name, "bank_account_masked": ln.bank_account_masked,
        "status": ln.status, "failure_reason": ln.failure_reason, "settled_on": ln.settled_on,
    }  # fmt: skip


def entitlement_out(e: Entitlement, adjustment_id: int) -> dict[str, Any]:
    return {
        "id": e.pk, "household_id": e.household_id, "programme": e.programme, "area_code": e.area_code,
        "amount": money(e.amount), "start_month": ym(e.start_month), "end_month": ym(e.end_month),
        "status": e.status, "deduction": money(e.deduction), "deduction_from": ym(e.deduction_from),
        "version": e.version, "adjustment_id": adjustment_id,
    }  # fmt: skip


def _need_pay(user: Any) -> None:
    if not can(user, roles.PAY):
        raise PermissionDenied


def _scoped_run(request: HttpRequest, pk: int) -> PayrollRun:
    """The run in the caller's area (else 404 like a missing one); without the payment permission 403."""
    user = user_of(request)
    run = get_scoped_or_404(PayrollRun.objects.all(), user, roles.VIEW, pk=pk)
    _need_pay(user)
    return run


def _month(value: str) -> dt.date:
    return dt.date.fromisoformat(f"{value}-01")


def _refused(e: services.PaymentError) -> Status:
    return Status(422, {"detail": [{"loc": ["body"], "msg": m, "type": "refused"} for m in e.messages or [str(e)]]})


def _forbidden(e: services.PaymentError) -> Status:
    return Status(403, {"detail": "；".join(e.messages) or str(e), "code": "forbidden"})


# --- routes -----------------------------------------------------------------------------------------------
@router.post(
    "/runs",
    response={200: RunOut, 201: RunOut, **MUTATION_ERRORS},
    summary="Generate a month's payroll run (idempotent)",
    description=(
        "Needs the `Idempotency-Key` header (1–64 visible ASCII characters; a UUID). The same key with the same "
        "body answers the same run, byte for byte, and writes nothing; the same key with another body is **409** "
        "(`code: idempotency_conflict`). 201: the run this key created; 200: the live run of the same area, month "
        "and programme made by another request. `area_code` outside your area is 404; a role without the payment "
        "permission 403; 422 for invalid input or when the payroll refuses (the messages say why)."
    ),
    openapi_extra={"x-audit": ["payroll.create", "payroll.generate"]},
)
def run_create(
    request: HttpRequest,
    payload: RunIn,
    idempotency_key: str = Header(..., alias="Idempotency-Key", pattern=KEY_PATTERN,
                                  description="Repeats of one request carry the same key"),  # fmt: skip
):
    user = user_of(request)
    if not can(user, roles.VIEW):
        raise PermissionDenied
    if not area_visible(user, payload.area_code, roles.VIEW):
        raise Http404
    _need_pay(user)
    if not Division.objects.filter(code=payload.area_code).exists():
        return Status(422, {"detail": [{"loc": ["body", "area_code"], "msg": _("区划代码不存在。"), "type": "value_error"}]})
    request_hash = digest(payload.model_dump())
    answered = _answered(user, "payments.runs", idempotency_key, request_hash)
    if answered is not None:
        return answered
    try:
        run = services.generate(area_code=payload.area_code, month=_month(payload.month), programme=payload.programme,
                                actor=user, idempotency_key=idempotency_key)  # fmt: skip
    except services.Conflict as e:
        return _key_conflict(e.messages)
    except services.Forbidden as e:
        return _forbidden(e)
    except services.Refused as e:
        return _refused(e)
    return _remember(user, "payments.runs", idempotency_key, request_hash,
                     201 if run.idempotency_key == idempotency_key else 200, run_out(run))  # fmt: skip


def _key_conflict(messages: list[str] | None = None) -> Status:
    return Status(409, {"detail": "；".join(messages or [_("该幂等键已用于另一发放请求。")]), "code": "idempotency_conflict"})


def _answered(user: Any, endpoint: str, key: str, request_hash: str) -> Status | None:
    """The answer kept for this key (the same body), a 409 (another body), or None (a new key)."""
    kept = IdempotentAnswer.objects.filter(user=user, endpoint=endpoint, key=key).first()
    if kept is None:
        return None
    if kept.request_hash != request_hash:
        return _key_conflict()
    return Status(kept.status, json.loads(kept.body))


def _remember(user: Any, endpoint: str, key: str, request_hash: str, status: int, body: dict[str, Any]) -> Status:
    """Keep the first successful answer for the key; a concurrent request with the same key that kept its answer
    first wins (its answer is given, or a 409 when its body differed)."""
    try:
        with transaction.atomic():
            IdempotentAnswer.objects.create(user=user, endpoint=endpoint, key=key, request_hash=request_hash,
                                            status=status, body=json.dumps(body, ensure_ascii=False))  # fmt: skip
    except IntegrityError:
        kept = _answered(user, endpoint, key, request_hash)
        if kept is not None:
            return kept
    return Status(status, body)


@router.get("/runs/{run_id}", response={200: RunOut, 403: ErrorOut, **READ_ERRORS}, summary="A payroll run")
def run_get(request: HttpRequest, run_id: int = ObjectId):
    return run_out(_scoped_run(request, run_id))


@router.post(
    "/runs/{run_id}/approve",
    response={200: RunOut, **MUTATION_ERRORS},
    summary="Approve a generated run (双人复核)",
    description=(
        "Another officer with the payment permission for the run's area approves it. 409: the run changed since "
        "you read `version`; 403: you generated it (or may not pay); 422: the run is not waiting for approval."
    ),
    openapi_extra={"x-audit": ["payroll.approve"]},
)
def run_approve(request: HttpRequest, payload: ApproveIn, run_id: int = ObjectId):
    user = user_of(request)
    run = _scoped_run(request, run_id)
    try:
        with transaction.atomic():
            locked = PayrollRun.objects.select_for_update().get(pk=run.pk)
            if locked.version != payload.version:
                return Status(409, STALE)
            run = services.approve(locked, user)
    except services.Forbidden as e:
        return _forbidden(e)
    except services.Refused as e:
        return _refused(e)
    return run_out(run)


@router.get(
    "/runs/{run_id}/lines",
    response={200: LinePage, 403: ErrorOut, **READ_ERRORS},
    summary="A run's lines (masked accounts)",
)
def run_lines(
    request: HttpRequest,
    run_id: int = ObjectId,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=10_000_000),
):
    run = _scoped_run(request, run_id)
    qs = run.lines.order_by("pk").only(
        "pk", "reference", "entitlement_id", "household_id", "area_code", "programme", "month", "seq", "amount",
        "engine_amount", "advance_deducted", "deducted", "payee_name", "bank_name", "bank_account_masked", "status",
        "failure_reason", "settled_on",
    )  # never the ciphertext or the blind index
    v = Viewer(user_of(request))
    return {"count": qs.count(), "limit": limit, "offset": offset,
            "items": [line_out(ln, v) for ln in qs[offset : offset + limit]]}  # fmt: skip


@router.patch(
    "/entitlements/{entitlement_id}",
    response={200: EntitlementOut, **WRITE_ERRORS},
    summary="Suspend, resume or stop an entitlement",
    description=(
        "`suspend` (暂停发放), `resume` (恢复发放) or `stop` (停发) from `from_month` (YYYY-MM, default next month), "
        "with a reason, through `payments.adjustments` (which records the adjustment and audits it). 409: the "
        "entitlement changed since you read `version` (compared under its row lock: of two PATCHes with the same "
        "version one succeeds); 422: the adjustment is refused (the messages say why)."
    ),
    openapi_extra={"x-audit": ["entitlement.suspended", "entitlement.resumed", "entitlement.stopped"]},
)
def entitlement_patch(request: HttpRequest, payload: EntitlementPatchIn, entitlement_id: int = ObjectId):
    user = user_of(request)
    ent = get_scoped_or_404(Entitlement.objects.all(), user, roles.VIEW, pk=entitlement_id)
    _need_pay(user)
    from_month = _month(payload.from_month) if payload.from_month else None
    change = {"suspend": adjustments.suspend, "resume": adjustments.resume, "stop": adjustments.stop}[payload.action]
    try:
        with transaction.atomic():
            locked = Entitlement.objects.select_for_update().get(pk=ent.pk)
            if locked.version != payload.version:
                return Status(409, STALE)
            adjustment = change(locked, user, payload.reason, from_month=from_month)
    except services.Forbidden as e:
        return _forbidden(e)
    except services.Refused as e:
        return _refused(e)
    return entitlement_out(Entitlement.objects.get(pk=ent.pk), adjustment.pk)
