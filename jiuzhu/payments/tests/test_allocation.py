"""Repayments allocated to a recovery's instalments (``allocation.allocate``), by hand to the 分: oldest
instalment first, several repayments spanning instalments, overdue by date (an instalment due today is not
overdue), what was repaid before the plan left out, nothing allocated beyond an instalment nor beyond the plan;
and, for any plan and repayments, the money adds up. Pure: no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace as NS

from hypothesis import given
from hypothesis import strategies as st

from jiuzhu.payments.allocation import NOT_DUE, OVERDUE, PAID, PARTIAL, allocate
from jiuzhu.payments.models import RecoveryInstalment, Repayment

D = Decimal
JAN, FEB, MAR = dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)


def plan(*amounts: str, first: dt.date = JAN) -> list[NS]:
    dues = [JAN, FEB, MAR, dt.date(2026, 4, 30), dt.date(2026, 5, 31)]
    start = dues.index(first)
    return [NS(seq=i + 1, due_on=dues[start + i], amount=D(a)) for i, a in enumerate(amounts)]


def paid(*amounts: str) -> list[NS]:
    return [NS(receipt_no=f"R{i + 1}", amount=D(a)) for i, a in enumerate(amounts)]


def table(a) -> list[tuple[int, Decimal, Decimal, str, tuple[str, ...]]]:
    return [(r.seq, r.covered, r.left, r.state, r.receipts) for r in a.rows]


def test_several_repayments_span_instalments_oldest_first():
    # 300.00 in three instalments of 100.00; R1 150.00 pays the first and half the second, R2 80.00 the rest of
    # the second and 30.00 of the third
    a = allocate(plan("100.00", "100.00", "100.00"), paid("150.00", "80.00"), total=D("300.00"), today=dt.date(2026, 3, 15))
    assert table(a) == [(1, D("100.00"), D("0.00"), PAID, ("R1",)),
                        (2, D("100.00"), D("0.00"), PAID, ("R1", "R2")),
                        (3, D("30.00"), D("70.00"), PARTIAL, ("R2",))]  # fmt: skip
    assert (a.covered, a.left, a.overdue, a.overdue_count, a.before_plan, a.unallocated) == (
        D("230.00"), D("70.00"), D("0"), 0, D("0"), D("0"))
    assert [r.label for r in a.rows] == ["已还清", "已还清", "部分归还"]


def test_overdue_by_date_and_not_on_the_due_day():
    inst, rep = plan("100.00", "100.00", "100.00"), paid("150.00", "80.00")
    # due on 2026-03-31: on that day not overdue yet, the day after overdue
    assert allocate(inst, rep, total=D("300.00"), today=MAR).rows[2].state == PARTIAL
    late = allocate(inst, rep, total=D("300.00"), today=MAR + dt.timedelta(days=1))
    assert (late.rows[2].state, late.overdue, late.overdue_count) == (OVERDUE, D("70.00"), 1)
    # nothing repaid: the past ones overdue, the others not due; the overdue total is what they lack
    a = allocate(inst, [], total=D("300.00"), today=dt.date(2026, 3, 1))
    assert [r.state for r in a.rows] == [OVERDUE, OVERDUE, NOT_DUE] and a.overdue == D("200.00")
    # a fully paid instalment stays paid, however late it was paid
    a = allocate(inst, paid("300.00"), total=D("300.00"), today=dt.date(2027, 1, 1))
    assert [r.state for r in a.rows] == [PAID] * 3 and a.overdue == 0


def test_cents_are_exact_decimals():
    # 100.00 in three: 33.33, 33.33, 33.34 (the plan's remainder on the last); 66.67 repaid covers two less 分
    a = allocate(plan("33.33", "33.33", "33.34"), paid("33.33", "33.33", "0.01"), total=D("100.00"), today=JAN)
    assert table(a) == [(1, D("33.33"), D("0.00"), PAID, ("R1",)), (2, D("33.33"), D("0.00"), PAID, ("R2",)),
                        (3, D("0.01"), D("33.33"), PARTIAL, ("R3",))]  # fmt: skip
    assert all(isinstance(x, Decimal) for r in a.rows for x in (r.amount, r.covered, r.left))


def test_never_beyond_an_instalment_nor_the_plan():
    # more repaid than the plan (the constraints and repay() prevent it; the function still never over-covers)
    a = allocate(plan("100.00", "100.00"), paid("120.00", "130.00"), total=D("200.00"), today=JAN)
    assert [(r.covered, r.left) for r in a.rows] == [(D("100.00"), D("0.00")), (D("100.00"), D("0.00"))]
    assert (a.covered, a.unallocated) == (D("200.00"), D("50.00"))
    # no plan: nothing allocated
    a = allocate([], paid("10.00"), total=D("200.00"), today=JAN)
    assert (a.rows, a.overdue, a.unallocated) == ((), D("0"), D("10.00"))


def test_what_was_repaid_before_the_plan_is_not_the_plans():
    # 1000.00 to recover; 400.00 repaid (R1), then a plan of the balance 600.00 in three; then R2 250.00
    inst = plan("200.00", "200.00", "200.00", first=FEB)
    a = allocate(inst, paid("400.00", "250.00"), total=D("1000.00"), today=FEB)
    assert a.before_plan == D("400.00")
    assert table(a) == [(1, D("200.00"), D("0.00"), PAID, ("R2",)), (2, D("50.00"), D("150.00"), PARTIAL, ("R2",)),
                        (3, D("0.00"), D("200.00"), NOT_DUE, ())]  # fmt: skip
    # a repayment that straddles the plan's start (300.00 + 300.00 with 400.00 before it): 100.00 of the second
    a = allocate(inst, paid("300.00", "300.00"), total=D("1000.00"), today=FEB)
    assert a.before_plan == D("400.00") and [r.covered for r in a.rows] == [D("200.00"), D("0.00"), D("0.00")]


def test_model_rows_unsaved_and_out_of_order():
    inst = [RecoveryInstalment(seq=2, due_on=FEB, amount=D("50.00")), RecoveryInstalment(seq=1, due_on=JAN, amount=D("50.00"))]
    rep = [Repayment(receipt_no="HB-1", amount=D("60.00"))]
    a = allocate(inst, rep, total=D("100.00"), today=FEB)
    assert table(a) == [(1, D("50.00"), D("0.00"), PAID, ("HB-1",)), (2, D("10.00"), D("40.00"), PARTIAL, ("HB-1",))]


cents = st.integers(min_value=1, max_value=500_00).map(lambda n: D(n) / 100)


@given(st.lists(cents, min_size=1, max_size=8), st.lists(cents, max_size=8), st.integers(0, 300_00),
       st.integers(-40, 200))  # fmt: skip
def test_money_adds_up(amounts, repaid, before, day):
    """Whatever the plan and repayments: every 分 repaid is before the plan, on an instalment or unallocated;
    no instalment is covered beyond its amount; an instalment has money only when every earlier one is paid."""
    before_plan = D(before) / 100
    inst = [NS(seq=i + 1, due_on=JAN + dt.timedelta(days=30 * i), amount=a) for i, a in enumerate(amounts)]
    total = sum(amounts, D("0.00")) + before_plan
    a = allocate(inst, [NS(receipt_no=f"R{i}", amount=x) for i, x in enumerate(repaid)], total=total,
                 today=JAN + dt.timedelta(days=day))  # fmt: skip
    assert a.before_plan + a.covered + a.unallocated == sum(repaid, D("0.00"))
    assert a.before_plan <= before_plan and (a.before_plan == before_plan or a.covered == 0)
    assert all(D(0) <= r.covered <= r.amount and r.covered + r.left == r.amount for r in a.rows)
    for earlier, later in zip(a.rows, a.rows[1:], strict=False):
        assert later.covered == 0 or earlier.state == PAID
    assert a.unallocated == 0 or a.left == 0
    assert a.overdue == sum((r.left for r in a.rows if r.due_on < JAN + dt.timedelta(days=day)), D("0.00"))
