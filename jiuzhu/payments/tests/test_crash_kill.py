"""A real crash (SECURITY PAY-CRASH): a separate process generates the payroll and is killed with SIGKILL at a random
moment — after a random number of committed chunks plus a random delay, so the kill lands between chunks or in
the middle of one. The rerun in this process must complete the run with no duplicate and no missing line and its
total equal to the lines' sum to the 分.

PostgreSQL only: the child process needs the test database the parent committed to (SQLite's is in memory)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

from jiuzhu.payments import services
from jiuzhu.payments.models import PayrollLine, PayrollRun
from jiuzhu.testing.fixtures import TOWN_A, villages

from .kit import MONTH, granted, sync

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor == "sqlite", reason="the child process cannot reach an in-memory database"),
]
TRIALS = 6

CHILD = """
import sys, time, django
django.setup()
from jiuzhu.accounts.models import User
from jiuzhu.payments import services
import datetime as dt
actor = User.objects.get(username=sys.argv[1])
def tick(run, written):
    print(written, flush=True)
    time.sleep(0.02)
services.generate(area_code=sys.argv[2], month=dt.date(2026, 1, 1), programme="dibao", actor=actor, chunk_size=2,
                  after_chunk=tick)
print("done", flush=True)
"""


def child_env() -> dict[str, str]:
    s = connection.settings_dict
    url = f"postgres://{s['USER']}{':' + s['PASSWORD'] if s['PASSWORD'] else ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return os.environ | {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "jiuzhu.settings"}


def test_sigkill_at_a_random_moment_then_rerun(personas):
    rnd = random.Random(7)
    vs = villages(TOWN_A)
    hs = [granted(personas.caseworker_a, vs[i % len(vs)]) for i in range(11)]
    sync()
    killed = 0
    for trial in range(TRIALS):
        PayrollRun.objects.filter(status__in=["generating", "generated"]).update(status="cancelled")
        PayrollLine.objects.exclude(status="cancelled").update(status="cancelled")
        proc = subprocess.Popen([sys.executable, "-c", CHILD, personas.caseworker_a.username, TOWN_A], env=child_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        after = rnd.randint(0, 5)  # 0: killed while starting, before the run exists
        assert proc.stdout is not None
        for _ in range(after):
            if proc.stdout.readline().strip() in ("", "done"):
                break
        time.sleep(rnd.uniform(0, 0.05))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
        assert proc.returncode in (0, -signal.SIGKILL), proc.stderr.read() if proc.stderr else ""
        run = PayrollRun.objects.exclude(status="cancelled").first()
        if run is not None:  # the run is either complete or still generating, never half-marked
            assert run.status in ("generating", "generated"), trial
            if run.status == "generating":
                assert run.line_count == 0
        run = services.generate(area_code=TOWN_A, month=MONTH, programme="dibao", actor=personas.caseworker_a)
        assert run.status == "generated"
        households = list(run.lines.values_list("household_id", flat=True))
        assert sorted(households) == sorted(h.pk for h in hs), trial  # none missing, none twice
        assert run.total_amount == sum(run.lines.values_list("amount", flat=True)) and run.line_count == len(hs)
    assert killed >= 1
