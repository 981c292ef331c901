"""An entitlement's months after the decision (动态管理, REFERENCE §2.4–2.5, §4.5): the only code that changes an
``Entitlement``'s amount, ``end_month`` or status after it was granted. Callers (``cases.dynamic``) decide *why*;
these functions decide *from which month* and keep the payroll's reading of the entitlement consistent:

* ``payments.services.in_scope`` pays an entitlement in a month when it is started and not ended (``end_month``
  inclusive) and ``active`` — or ``stopped`` with an ``end_month`` not yet reached. So a stop "from next month"
  is ``status = stopped, end_month = the last month paid``, and a 渐退 of N months is the same with the last of
  the N months: the payroll pays exactly those months and nothing after, without anyone touching it again.
* the payroll pays the engine's amount for the month, not ``Entitlement.amount`` (the amount as decided);
  ``change_amount`` records the reviewed amount there for the notice and the lists. During a 渐退 the engine pays
  the household's current 低保 amount (``registry.HouseholdEconomy.current_dibao_amount``) while the household
  is marked as receiving 低保 and its months used are under the area's ``dibao.gradual_exit_months``:
  ``start_gradual_exit`` sets those registry facts, so each month of the exit is evaluated as one.

Months are first days of months. Every change bumps ``version``, is written under a row lock and audited.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F

from jiuzhu.core.audit import audit_record
from jiuzhu.core.months import add_months, first_of, next_month  # noqa: F401 - next_month: lifecycle's callers

from .models import Entitlement


class LifecycleError(Exception):
    pass


def _locked(e: Entitlement) -> Entitlement:
    return Entitlement.objects.select_for_update().get(pk=e.pk)


def _save(
    e: Entitlement, fields: list[str], *, actor: Any, action: str, detail: dict[str, Any]
) -> Entitlement:
    e.version += 1
    e.save(update_fields=[*fields, "version", "updated_at"])
    audit_record(action=f"entitlement.{action}", actor=actor, obj=e, object_area=e.area_code,
                 detail={"entitlement": e.pk, "programme": e.programme, **detail})  # fmt: skip
    return e


def _end(e: Entitlement, last_paid: dt.date | None) -> None:
    """Stopped after ``last_paid`` (inclusive); ``None`` or a month before the start: nothing is paid any more."""
    e.status = Entitlement.Status.STOPPED
    e.end_month = last_paid if last_paid is not None and last_paid >= e.start_month else None


def stop_from(entitlement: Entitlement, month: dt.date, *, actor: Any, reason: str) -> Entitlement:
    """停发 from ``month`` (its first day): the last month paid is the month before. A stop already earlier is kept
    (stopping never pays more months)."""
    month = first_of(month)
    with transaction.atomic():
        e = _locked(entitlement)
        last = add_months(month, -1)
        if e.status == Entitlement.Status.STOPPED and (e.end_month is None or e.end_month <= last):
            return e
        _end(e, last)
        return _save(e, ["status", "end_month"], actor=actor, action="stopped",
                     detail={"from": month.isoformat(), "reason": reason[:200]})  # fmt: skip


def suspend(entitlement: Entitlement, *, actor: Any, reason: str) -> Entitlement:
    """暂停发放: the payroll leaves a suspended entitlement out until it is resumed (``resume``)."""
    with transaction.atomic():
        e = _locked(entitlement)
        if e.status != Entitlement.Status.ACTIVE:
            raise LifecycleError("only an active entitlement can be suspended")
        e.status = Entitlement.Status.SUSPENDED
        return _save(e, ["status"], actor=actor, action="suspended", detail={"reason": reason[:200]})


def resume(entitlement: Entitlement, *, actor: Any, reason: str) -> Entitlement:
    with transaction.atomic():
        e = _locked(entitlement)
        if e.status != Entitlement.Status.SUSPENDED:
            raise LifecycleError("only a suspended entitlement can be resumed")
        e.status = Entitlement.Status.ACTIVE
        return _save(e, ["status"], actor=actor, action="resumed", detail={"reason": reason[:200]})


def change_amount(entitlement: Entitlement, amount: Decimal, month: dt.date, *, actor: Any,
                  reason: str) -> Entitlement:  # fmt: skip
    """增发 / 减发 from ``month``: the reviewed amount (the engine's) recorded on the entitlement. The payroll
    evaluates every month anyway; for 低保 the household's current amount in the registry follows, so a later
    渐退 keeps paying the reviewed amount."""
    amount = Decimal(amount).quantize(Decimal("0.01"))
    with transaction.atomic():
        e = _locked(entitlement)
        before = e.amount
        e.amount = amount
        _mark_dibao(e, amount=amount)
        return _save(e, ["amount"], actor=actor, action="amount_changed",
                     detail={"from": first_of(month).isoformat(), "before": str(before), "after": str(amount),
                             "reason": reason[:200]})  # fmt: skip


def withheld(e: Any, month: dt.date) -> Decimal:
    """The entitlement's 减发 withheld in ``month`` (an ``Entitlement`` or a row with its ``deduction`` and
    ``deduction_from``)."""
    return e.deduction if e.deduction and e.deduction_from is not None and e.deduction_from <= month else Decimal("0.00")


def set_deduction(entitlement: Entitlement, deduction: Decimal, month: dt.date, *, actor: Any,
                  reason: str) -> Entitlement:  # fmt: skip
    """减发 from ``month``: ``deduction`` withheld every month from what the engine gives (0 lifts it). The
    entitlement's ``amount`` becomes the decided amount less the deduction, for the notice and the lists."""
    deduction = Decimal(deduction).quantize(Decimal("0.01"))
    if deduction < 0:
        raise LifecycleError("a deduction cannot be negative")
    with transaction.atomic():
        e = _locked(entitlement)
        before, before_amount = e.deduction, e.amount
        e.amount = max(e.amount + before - deduction, Decimal("0.00"))
        e.deduction = deduction
        # a deduction already running keeps its first month: moving it later would make the months between
        # look underpaid to a back-pay or a 调标 review, which would pay the old deduction back
        running = before > 0 and e.deduction_from is not None and e.deduction_from < first_of(month)
        e.deduction_from = (e.deduction_from if running else first_of(month)) if deduction else None
        return _save(e, ["deduction", "deduction_from", "amount"], actor=actor, action="deduction_set",
                     detail={"from": first_of(month).isoformat(), "before": str(before), "after": str(deduction),
                             "amount_before": str(before_amount), "amount_after": str(e.amount),
                             "reason": reason[:200]})  # fmt: skip


def start_gradual_exit(entitlement: Entitlement, month: dt.date, months: int, *, actor: Any, reason: str,
                       amount: Decimal | None = None) -> Entitlement:  # fmt: skip
    """渐退 for ``months`` months from ``month``: paid through ``month + months - 1``, then stopped. The household
    is marked as receiving 低保 at the entitlement's amount with no exit month used, so the engine evaluates each
    of those months as a 渐退 month (its ``dibao_gradual_exit``). ``amount``: what the exit keeps paying (the
    amount paid now; default the entitlement's), recorded on the entitlement too."""
    if months < 1:
        raise LifecycleError("a gradual exit lasts at least one month")
    month = first_of(month)
    with transaction.atomic():
        e = _locked(entitlement)
        _end(e, add_months(month, months - 1))
        if amount is not None:
            e.amount = Decimal(amount).quantize(Decimal("0.01"))
        _mark_dibao(e, amount=e.amount, exit_used=0)
        return _save(e, ["status", "end_month", "amount"], actor=actor, action="gradual_exit",
                     detail={"from": month.isoformat(), "months": months, "last": e.end_month.isoformat()
                             if e.end_month else None, "amount": str(e.amount), "reason": reason[:200]})  # fmt: skip


def change_recipient(entitlement: Entitlement, person: Any, *, actor: Any, reason: str) -> Entitlement:
    """The household's payments go to another member (the recipient died or left)."""
    with transaction.atomic():
        e = _locked(entitlement)
        if person.household_id != e.household_id:
            raise LifecycleError("the new recipient must be a member of the household")
        old = e.recipient_id
        e.recipient = person
        return _save(e, ["recipient"], actor=actor, action="recipient_changed",
                     detail={"before": old, "after": person.pk, "reason": reason[:200]})  # fmt: skip


def _mark_dibao(e: Entitlement, *, amount: Decimal, exit_used: int | None = None) -> None:
    """For 低保, what the engine reads as the household's current 低保 (the amount a 渐退 keeps paying)."""
    from jiuzhu.registry.models import HouseholdEconomy

    if e.programme != "dibao":
        return
    values: dict[str, Any] = {
        "current_dibao": True,
        "current_dibao_amount": amount,
        "version": F("version") + 1,
    }
    if exit_used is not None:
        values["gradual_exit_months_used"] = exit_used
    HouseholdEconomy.objects.filter(household_id=e.household_id).update(**values)
