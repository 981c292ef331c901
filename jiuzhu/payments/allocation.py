"""A recovery's repayments allocated to its repayment plan (追缴还款计划逐期核销): computed, never stored.

The plan (``RecoveryInstalment``) splits the balance the recovery had when the plan was made, so what was repaid
before it — ``total`` less the plan's sum — is not the plan's: the repayments recorded first (in the order they
were recorded) make up that amount and are left out. The others pay the instalments in due order, oldest first:
an instalment takes all it still lacks before the next one gets anything. For each instalment, what is covered,
what is left, the receipts that paid it and its state:

* 已还清 (``paid``) — fully covered;
* 逾期 (``overdue``) — its due date is before ``today`` and it is not fully covered (an instalment due today is
  not overdue yet);
* 部分归还 (``partial``) — partly covered, not yet due;
* 未到期 (``not_due``) — nothing covered, not yet due.

Money is ``Decimal`` yuan to the 分, never a float. No instalment gets more than its amount; what would go beyond
the last one is reported as ``unallocated`` (repaid ≤ total is a database constraint and ``repay`` refuses more
than the balance, so with a plan of the whole balance this stays 0). Pure: no database, no clock — the caller
passes the rows and ``today`` (``timezone.localdate()``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.utils.translation import gettext_lazy as _

ZERO = Decimal("0.00")
PAID, PARTIAL, OVERDUE, NOT_DUE = "paid", "partial", "overdue", "not_due"
LABELS = {PAID: _("已还清"), PARTIAL: _("部分归还"), OVERDUE: _("逾期"), NOT_DUE: _("未到期")}


class InstalmentLike(Protocol):
    @property
    def seq(self) -> int: ...

    @property
    def due_on(self) -> dt.date: ...

    @property
    def amount(self) -> Decimal: ...


class RepaymentLike(Protocol):
    @property
    def amount(self) -> Decimal: ...

    @property
    def receipt_no(self) -> str: ...


@dataclass(frozen=True)
class Row:
    seq: int
    due_on: dt.date
    amount: Decimal
    covered: Decimal
    left: Decimal
    state: str
    receipts: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return str(LABELS[self.state])


@dataclass(frozen=True)
class Allocation:
    rows: tuple[Row, ...]
    before_plan: Decimal  # repaid before the plan was made: not allocated to it
    unallocated: Decimal  # repaid beyond the plan's last instalment (0 while the constraints hold)

    @property
    def covered(self) -> Decimal:
        return sum((r.covered for r in self.rows), ZERO)

    @property
    def left(self) -> Decimal:
        return sum((r.left for r in self.rows), ZERO)

    @property
    def overdue(self) -> Decimal:
        """What the overdue instalments still lack."""
        return sum((r.left for r in self.rows if r.state == OVERDUE), ZERO)

    @property
    def overdue_count(self) -> int:
        return sum(1 for r in self.rows if r.state == OVERDUE)


def allocate(instalments: Iterable[InstalmentLike], repayments: Iterable[RepaymentLike], *, total: Decimal,
             today: dt.date) -> Allocation:  # fmt: skip
    """The repayments (in the order they were recorded) over the instalments (in due order) of a recovery whose
    amount to recover is ``total``; states as of ``today``."""
    plan = sorted(instalments, key=lambda i: (i.due_on, i.seq))
    planned = sum((Decimal(i.amount) for i in plan), ZERO)
    earlier = max(Decimal(total) - planned, ZERO) if plan else ZERO
    before_plan = ZERO
    queue: list[tuple[str, Decimal]] = []  # (receipt, what is left of it for the plan)
    for p in repayments:
        amount = Decimal(p.amount)
        take = min(amount, earlier - before_plan)
        before_plan += take
        if amount - take > 0:
            queue.append((p.receipt_no, amount - take))
    rows: list[Row] = []
    k = 0
    for i in plan:
        need, covered, receipts = Decimal(i.amount), ZERO, []
        while need > 0 and k < len(queue):
            receipt, left = queue[k]
            take = min(need, left)
            need, covered = need - take, covered + take
            receipts.append(receipt)
            if take == left:
                k += 1
            else:
                queue[k] = (receipt, left - take)
        if need == 0:
            state = PAID
        elif i.due_on < today:
            state = OVERDUE
        else:
            state = PARTIAL if covered > 0 else NOT_DUE
        rows.append(Row(i.seq, i.due_on, Decimal(i.amount), covered, need, state, tuple(receipts)))
    unallocated = sum((left for _r, left in queue[k:]), ZERO)
    return Allocation(tuple(rows), before_plan, unallocated)
