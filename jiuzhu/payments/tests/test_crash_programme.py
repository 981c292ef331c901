"""The crash programme (SECURITY PAY-CRASH, PAY-ONCE; issue 6, acceptance 2), on PostgreSQL:

* 100 trials: a child process runs generate → approve → export of a month and is killed with SIGKILL — after a
  random delay drawn from U(0, T) (T: the pipeline's own duration, measured first), or at a random failpoint
  inside generate (before reading a chunk, after the engine, after a chunk's lines or skips were inserted but
  before the commit, after a commit, inside the completion's transaction, after the run's audit record), inside
  approve or inside export. Right after the kill the month's run is absent, generating with nothing marked, or
  complete; the rerun (generate, approve, export) in this process must give 0 duplicates, 0 missing lines,
  totals exact to the 分, the export's sums equal to a re-export, and no run left ``generating``;
* 10 trials on a private PostgreSQL cluster (initdb in a temporary directory, a free port) stopped with
  ``pg_ctl stop -m immediate`` in the middle of generation — between chunks, inside a chunk's transaction,
  inside the completion's, or after a random delay — started again (crash recovery), then the rerun is exact;
* 50 generations of the same month at once, 25 threads here and 25 processes, each with its own connection,
  half of them with the same idempotency key: one run, each entitlement once.

Each trial is a new month of the same households (a fresh month needs no clean-up and keeps earlier trials'
lines as they were). The children are forked from one process that imported Django and the engine once
(``crashkit.Zygote``). Skipped on SQLite like the other PostgreSQL tests (the children cannot reach an
in-memory database); missing PostgreSQL server binaries fail the cluster test, they never skip it."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from typing import Any

import pytest
from django.db import connection

from jiuzhu.payments import exports, services
from jiuzhu.payments.models import PayrollLine, PayrollRun
from jiuzhu.registry.models import Household
from jiuzhu.testing.fixtures import TOWN_A, make_user, villages

from . import crashkit
from .kit import MONTH, granted, sync

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor == "sqlite", reason="the children cannot reach an in-memory database"),
]
TRIALS = 100
PG_STOPS = 10
CONCURRENT = 50
HOUSEHOLDS = 10
CHUNK = 3


def month_of(i: int) -> dt.date:
    return services.add_months(MONTH, i)


def world(personas: Any, n: int = HOUSEHOLDS) -> tuple[set[int], set[int]]:
    """n households granted 低保 from MONTH, the last one without a bank account (a skip ``no_account`` in every
    run): (households paid, households skipped)."""
    vs = villages(TOWN_A)
    hs = [granted(personas.caseworker_a, vs[i % len(vs)]) for i in range(n)]
    Household.objects.filter(pk=hs[-1].pk).update(bank_account_enc="", bank_account_bi="", bank_account_masked="")
    sync()
    return {h.pk for h in hs[:-1]}, {hs[-1].pk}


def spec(personas: Any, month: dt.date, **extra: Any) -> dict[str, Any]:
    return {"area": TOWN_A, "month": month.isoformat(), "maker": personas.caseworker_a.username,
            "checker": personas.reviewer.username, "chunk": CHUNK, "ops": ["approve", "export"]} | extra  # fmt: skip


def rerun(personas: Any, month: dt.date) -> PayrollRun:
    """What an officer does after a crash: generate again (resumes), approve if it waits for that, export (again:
    an exported run must give the same files)."""
    run = services.generate(area_code=TOWN_A, month=month, programme="dibao", actor=personas.caseworker_a)
    if run.status == PayrollRun.Status.GENERATED:
        run = services.approve(run, personas.reviewer)
    return exports.export(run, personas.caseworker_a).run  # Refused if a re-export differed from the first


def test_hundred_kills_at_random_points_then_rerun(personas):
    paid, skipped = world(personas)
    z = crashkit.Zygote(crashkit.database_url(connection.settings_dict))
    try:
        t = time.perf_counter()  # T: one undisturbed pipeline, in a month no trial uses
        z.start(spec(personas, month_of(TRIALS)))
        codes, events = z.wait()
        assert codes == [0] and any("exported" in e for e in events), (codes, events)
        T = time.perf_counter() - t
        t = time.perf_counter()
        killed: dict[str, int] = {}
        failures = []
        for plan in crashkit.trial_plan(TRIALS, seed=20261127):
            month = month_of(plan["trial"])
            extra = {"failpoint": plan["failpoint"], "hit": plan["hit"]} if plan["kill"] == "failpoint" else {}
            extra["copy"] = plan["trial"] % 2 == 1  # half the trials write their chunks by COPY
            pids = z.start(spec(personas, month, **extra))
            if plan["kill"] == "delay":
                time.sleep(plan["u"] * T)
                z.kill(pids[0])
            codes, events = z.wait()
            errors = [e for e in events if "error" in e]
            assert codes[0] in (0, -9) and not errors, (plan, codes, events, "".join(z.err[-30:]))
            where = next((e["failpoint"] for e in events if "failpoint" in e), None) or (
                f"delay {'generate' if not any('generated' in e for e in events) else 'later'}")
            if codes[0] == -9:
                killed[where] = killed.get(where, 0) + 1
            with connection.cursor() as cur:
                problems = crashkit.run_state_problems(cur, TOWN_A, month.isoformat())
            run = rerun(personas, month)
            assert run.status == PayrollRun.Status.EXPORTED
            with connection.cursor() as cur:
                problems += crashkit.line_problems(cur, TOWN_A, month.isoformat(), paid, skipped)
            if problems:
                failures.append((plan, where, problems))
        assert not failures, failures
        print(f"{TRIALS} trials in {time.perf_counter() - t:.0f} s (T = {T:.2f} s); killed where:", killed)
        assert sum(killed.values()) >= 0.8 * TRIALS, killed  # nearly every trial was really killed (a late delay may miss)
        assert len([k for k in killed if not k.startswith("delay")]) >= 8, killed  # most failpoints were reached
    finally:
        z.close()
    assert PayrollRun.objects.filter(status="generating").count() == 0
    assert PayrollRun.objects.filter(status="exported").count() == TRIALS + 1
    assert PayrollLine.objects.count() == (TRIALS + 1) * len(paid)


def test_postgres_stopped_hard_mid_generation_then_rerun(personas):
    paid, skipped = world(personas)
    cluster = crashkit.Cluster()  # fails (never skips) without the PostgreSQL server binaries
    z = None
    try:
        cluster.start()
        cluster.clone_from(crashkit.database_url(connection.settings_dict))
        z = crashkit.Zygote(cluster.url)
        import psycopg

        rnd = random.Random(15)
        t = time.perf_counter()
        z.start(spec(personas, month_of(PG_STOPS), ops=[], pause=0.02))
        codes, events = z.wait()
        assert codes == [0], (events, "".join(z.err[-30:]))
        T = time.perf_counter() - t
        modes = ["between", "inside", "finish", "delay"]
        failures: list[Any] = []
        recovered: list[tuple[str, str, int]] = []  # (mode, the run's status after recovery, its lines)
        for trial in range(PG_STOPS):
            month = month_of(trial)
            mode = modes[trial % len(modes)] if trial < len(modes) else rnd.choice(modes)
            extra: dict[str, Any] = {"ops": [], "pause": 0.02, "copy": trial % 2 == 1}
            if mode == "inside":
                extra |= {"failpoint": "generate.lines_inserted", "hit": rnd.randint(1, 4), "hold": 30}
            elif mode == "finish":
                extra |= {"failpoint": "generate.totals", "hit": 1, "hold": 30}
            pids = z.start(spec(personas, month, **extra))
            if mode == "delay":
                time.sleep(rnd.uniform(0, T))
            else:
                want = rnd.randint(1, 3)
                while True:
                    ev = z.next()
                    if "exit" in ev:
                        raise AssertionError((trial, mode, "the child ended before the stop", ev, "".join(z.err[-30:])))
                    if ("failpoint" in ev) or (mode == "between" and ev.get("chunk") == want):
                        break
            cluster.stop_hard()
            z.kill(pids[0])  # a client whose server vanished: it may be waiting on a socket
            z.wait()
            cluster.start()
            with psycopg.connect(cluster.url, autocommit=True) as conn, conn.cursor() as cur:
                problems = crashkit.run_state_problems(cur, TOWN_A, month.isoformat())
                cur.execute("SELECT r.status, count(l.id) FROM payments_payrollrun r LEFT JOIN payments_payrollline l "
                            "ON l.run_id = r.id WHERE r.month = %s GROUP BY r.id", [month])  # fmt: skip
                recovered.append((mode, *(cur.fetchone() or ("absent", 0))))
            z.start(spec(personas, month))  # the rerun: generate, approve, export against the recovered server
            codes, events = z.wait()
            if codes != [0] or not any("exported" in e for e in events):
                problems.append(f"rerun {codes} {events} {''.join(z.err[-20:])}")
            with psycopg.connect(cluster.url, autocommit=True) as conn, conn.cursor() as cur:
                problems += crashkit.line_problems(cur, TOWN_A, month.isoformat(), paid, skipped)
            if problems:
                failures.append((trial, mode, problems))
        assert not failures, failures
        print("PostgreSQL stopped hard; after recovery (mode, run, lines):", recovered)
        # the stops landed mid-run: a run left generating with some chunks committed, and none with all of them
        assert any(st == "generating" and 0 < n < len(paid) for _, st, n in recovered), recovered
    finally:
        if z is not None:
            z.close()
        cluster.destroy()


def test_fifty_concurrent_generations_of_one_month_make_one_run(personas):
    paid, skipped = world(personas)
    officers = [make_user(f"pay_{i}", "caseworker", TOWN_A) for i in range(CONCURRENT // 2)]
    z = crashkit.Zygote(crashkit.database_url(connection.settings_dict))
    try:
        start_at = time.time() + 3  # the children are forked and connected by then
        results: list[Any] = [None] * len(officers)

        def call(i: int) -> None:
            try:
                time.sleep(max(0.0, start_at - time.time()))
                results[i] = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=officers[i],
                                               idempotency_key="PAY-ONCE-1" if i % 2 else None, chunk_size=CHUNK)  # fmt: skip
            except Exception as e:  # noqa: BLE001 - the result under test
                results[i] = e
            finally:
                connection.close()

        threads = [threading.Thread(target=call, args=(i,)) for i in range(len(officers))]
        for th in threads:
            th.start()
        pids = z.start(spec(personas, MONTH, ops=[], procs=CONCURRENT - len(officers), start_at=start_at))
        codes, events = z.wait()
        for th in threads:
            th.join(timeout=120)
        assert not any(th.is_alive() for th in threads)
    finally:
        z.close()
    assert len(pids) == CONCURRENT - len(officers)
    errors = [r for r in results if isinstance(r, Exception)] + [e for e in events if "error" in e]
    assert not errors and codes == [0] * len(pids), (errors, codes)
    runs = {r.pk for r in results} | {e["generated"] for e in events if "generated" in e}
    assert len(runs) == 1 and PayrollRun.objects.count() == 1
    run = PayrollRun.objects.get()
    assert run.status == "generated"
    with connection.cursor() as cur:
        assert crashkit.line_problems(cur, TOWN_A, MONTH.isoformat(), paid, skipped) == []
