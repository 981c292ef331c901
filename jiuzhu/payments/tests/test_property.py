"""A seeded random walk over the payroll's operations — generate (sometimes crashing mid-way), approve (sometimes
by the maker), export, bank returns (paid, failed, unknown references, the same file twice, contradicting rows),
account corrections and re-issues, cancellations — checking after every step (SECURITY PAY-RECON):

* per (household, programme, month) at most one paid line and at most one live line;
* money is conserved: every finished run's lines add up to its total, and paid + failed + re-issued + pending
  (+ cancelled for a cancelled run) = the total;
* nothing is ever paid but the engine's amount for that household and month (less any advance), and a
  re-issue pays exactly what the failed line would have."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db.models import Count

from jiuzhu.payments import services
from jiuzhu.payments.exports import export
from jiuzhu.payments.models import PayrollLine, PayrollRun
from jiuzhu.payments.returns import import_return
from jiuzhu.testing.fixtures import TOWN_A, make_user, villages

from .kit import change_account, granted, return_csv, sync

pytestmark = pytest.mark.django_db
MONTHS = [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
STEPS = 60


class Crash(Exception):
    pass


def check_invariants() -> None:
    live = (PayrollLine.objects.filter(status__in=PayrollLine.LIVE).values("household_id", "programme", "month")
            .annotate(n=Count("pk")).filter(n__gt=1))  # fmt: skip
    assert not live.exists(), list(live)
    for run in PayrollRun.objects.exclude(status="generating"):
        by = defaultdict(lambda: Decimal("0.00"))
        for status, amount in run.lines.values_list("status", "amount"):
            by[status] += amount
        if run.status == "cancelled":
            assert set(by) <= {"cancelled"}
            continue
        assert "cancelled" not in by
        assert by["paid"] + by["failed"] + by["reissued"] + by["pending"] == run.total_amount, (run.pk, dict(by))
        assert run.line_count == run.lines.count()
    for ln in PayrollLine.objects.exclude(reissue_of=None).select_related("reissue_of"):
        assert ln.amount == ln.reissue_of.amount and ln.household_id == ln.reissue_of.household_id
    # a household's month is paid the engine's amount at most once
    firsts: dict[tuple[int, dt.date], Decimal] = {}
    for ln in PayrollLine.objects.filter(reissue_of=None).exclude(status="cancelled"):
        key = (ln.household_id, ln.month)
        assert firsts.setdefault(key, ln.engine_amount) == ln.engine_amount
    paid: dict[tuple[int, dt.date], Decimal] = defaultdict(Decimal)
    for h, m, a in PayrollLine.objects.filter(status="paid").values_list("household_id", "month", "amount"):
        paid[(h, m)] += a
    for key, amount in paid.items():
        assert amount <= firsts[key]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_walk_keeps_exactly_once_and_money(personas, seed):
    rnd = random.Random(seed)
    makers = [personas.caseworker_a, make_user(f"cw_a_{seed}", "caseworker", TOWN_A), personas.reviewer]
    vs = villages(TOWN_A)
    households = [granted(personas.caseworker_a, vs[i % len(vs)], start=MONTHS[i % 2]) for i in range(6)]
    sync()
    files: list[bytes] = []
    for _step in range(STEPS):
        runs = list(PayrollRun.objects.order_by("pk"))
        statuses = {r.status for r in runs}
        can = {"generate": 2, "approve": 3 * ("generated" in statuses), "export": 3 * ("approved" in statuses),
               "return": 4 * PayrollLine.objects.filter(run__status="exported", status="pending").exists(),
               "replay": 1 * bool(files), "reissue": 3 * PayrollLine.objects.filter(status="failed").exists(),
               "cancel": 1 * bool(statuses & {"generating", "generated", "approved"})}  # fmt: skip
        op = rnd.choices(list(can), weights=list(can.values()))[0]
        try:
            if op == "generate":
                area = rnd.choice([TOWN_A, TOWN_A[:6], vs[0]])
                actor = rnd.choice(makers)
                crash_at = rnd.choice([None, None, 1, 2])

                def failpoint(run, written, crash_at=crash_at):
                    if written == crash_at:
                        raise Crash

                services.generate(area_code=area, month=rnd.choice(MONTHS), programme=rnd.choice(["dibao", "all"]),
                                  actor=actor, chunk_size=2, after_chunk=failpoint)  # fmt: skip
            elif op == "approve":
                pending = [r for r in runs if r.status == "generated"]
                if pending:
                    run = rnd.choice(pending)
                    others = [m for m in makers if m.pk != run.made_by_id]
                    services.approve(run, rnd.choice(others) if rnd.random() < 0.85 else run.made_by)
            elif op == "export":
                approved = [r for r in runs if r.status in ("approved", "exported")]
                if approved:
                    export(rnd.choice(approved), rnd.choice(makers))
            elif op == "return":
                lines = list(PayrollLine.objects.filter(run__status="exported").exclude(status="cancelled"))
                picked = rnd.sample(lines, min(len(lines), rnd.randint(1, 4))) if lines else []
                rows = [(ln.reference, str(ln.amount), rnd.choice(["成功", "失败"]), "账户异常") for ln in picked]
                if rnd.random() < 0.3:
                    rows.append((f"JZ{rnd.randint(10**6, 10**7)}E1", "12.00", "成功", ""))
                if rows:
                    data = return_csv(rows)
                    files.append(data)
                    import_return(data, filename="r.csv", actor=personas.reviewer)
            elif op == "replay" and files:
                before = list(PayrollLine.objects.order_by("pk").values_list("pk", "status"))
                res = import_return(rnd.choice(files), filename="again.csv", actor=personas.reviewer)
                assert res.duplicate and list(PayrollLine.objects.order_by("pk").values_list("pk", "status")) == before
            elif op == "reissue":
                failed = list(PayrollLine.objects.filter(status="failed").select_related("run", "household"))
                if failed:
                    ln = rnd.choice(failed)
                    if rnd.random() < 0.8:
                        change_account(personas.caseworker_a, ln.household, f"62170000{rnd.randint(10**10, 10**11 - 1)}")
                    services.reissue(ln.run, rnd.choice(makers), line_ids=[ln.pk])
            elif op == "cancel":
                open_runs = [r for r in runs if r.status in ("generating", "generated", "approved")]
                if open_runs:
                    services.cancel(rnd.choice(open_runs), rnd.choice(makers), "随机作废")
        except (Crash, services.PaymentError):
            pass
        check_invariants()
    # every run left generating can be finished, and the invariants still hold
    for run in PayrollRun.objects.filter(status="generating"):
        services.generate(area_code=run.area_code, month=run.month, programme=run.programme, actor=run.made_by)
    check_invariants()
    assert PayrollLine.objects.filter(status="paid").exists()  # the walk reaches the bank and back
    assert PayrollLine.objects.exists() and households
