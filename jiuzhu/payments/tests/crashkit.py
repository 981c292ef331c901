"""Helpers of the crash programme (SECURITY PAY-CRASH, PAY-ONCE; ``test_crash_programme.py``).

* ``Zygote`` — one Python process that imports Django, the payroll and the policy engine once, then forks a
  fresh child per trial (a few milliseconds instead of a second or two of start-up each): the child opens its
  own database connection, runs generate → approve → export (or only some of them) and is killed with SIGKILL —
  by the test after a random delay, or by itself at a *failpoint*. The zygote reaps it and reports how it ended.
  Failpoints exist only in that child: it wraps the payroll's helpers (``services._read``, ``_evaluate``,
  ``_write``'s inserts, ``_finish``'s totals, the audit records of approve and export, the export's workbook)
  so that the n-th call kills the process, before or after the wrapped call. The services read no environment
  variable and carry no test hook.
* ``Cluster`` — a private PostgreSQL cluster (``initdb`` + ``pg_ctl`` from ``/usr/lib/postgresql/*/bin``) in a
  temporary directory on a free port, owned by the ``postgres`` OS user when the tests run as root (PostgreSQL
  refuses to run as root). It can be stopped hard (``pg_ctl stop -m immediate``: no checkpoint, crash recovery
  at the next start) and started again. ``Cluster.clone_from`` copies the test database into it with
  ``pg_dump | psql``.
* ``check_run`` — the invariants a rerun must give.

Run ``python -m jiuzhu.payments.tests.crashkit`` only through ``Zygote``: it reads JSON commands on stdin."""

from __future__ import annotations

import glob
import json
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

# --- the zygote (the test's side) ---------------------------------------------------------------------------


def database_url(settings_dict: dict[str, Any]) -> str:
    s = settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


class Zygote:
    """The forking server. ``start(spec)`` forks children running ``spec``; ``events()`` yields what they and the
    zygote print (JSON objects), ``kill(pid)`` sends SIGKILL, ``wait()`` returns the children's exit codes."""

    def __init__(self, url: str, *, env: dict[str, str] | None = None):
        self.env = os.environ | {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "jiuzhu.settings"} | (env or {})
        self.proc = subprocess.Popen([sys.executable, "-m", "jiuzhu.payments.tests.crashkit"], env=self.env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1)  # fmt: skip
        self.q: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        ready = self.next(timeout=120)
        assert ready.get("ready"), ready

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if line.startswith("{"):
                try:
                    self.q.put(json.loads(line))
                except json.JSONDecodeError:  # a line cut by the kill
                    continue
        self.q.put(None)

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)
            del self.err[:-200]

    def next(self, timeout: float = 60) -> dict[str, Any]:
        try:
            ev = self.q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no word from the zygote in {timeout} s; stderr:\n{''.join(self.err[-40:])}") from None
        if ev is None:
            raise AssertionError(f"the zygote ended; stderr:\n{''.join(self.err[-40:])}")
        return ev

    def start(self, spec: dict[str, Any]) -> list[int]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(spec) + "\n")
        self.proc.stdin.flush()
        while True:
            ev = self.next()
            if "pids" in ev:
                return list(ev["pids"])

    def wait(self, timeout: float = 120) -> tuple[list[int], list[dict[str, Any]]]:
        """The children's exit codes (-9: killed) and the events seen meanwhile."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            ev = self.next(timeout=max(0.1, deadline - time.monotonic()))
            if "exit" in ev:
                return list(ev["exit"]), seen
            seen.append(ev)

    @staticmethod
    def kill(pid: int) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


# --- the zygote (its own side) ----------------------------------------------------------------------------------


def _emit(**ev: Any) -> None:
    os.write(1, (json.dumps(ev) + "\n").encode())  # one write: lines of several processes never interleave


def _serve() -> None:
    import django

    django.setup()
    from django.db import connections

    from jiuzhu.payments import exports, services  # noqa: F401 - imported before the fork, once
    from jiuzhu.policy.rules import PROGRAMMES  # noqa: F401 - the engine's programmes, built once

    connections.close_all()
    _emit(ready=True)
    for line in sys.stdin:
        spec = json.loads(line)
        if spec.get("op") == "quit":
            break
        pids = []
        for k in range(int(spec.get("procs", 1))):
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    _child(spec, k)
                except BaseException as e:  # noqa: BLE001 - reported to the test, which decides
                    _emit(error=f"{type(e).__name__}: {e}"[:500], k=k)
                    traceback.print_exc()
                    code = 3
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            pids.append(pid)
        _emit(pids=pids)
        codes = []
        for pid in pids:
            _, status = os.waitpid(pid, 0)
            codes.append(os.waitstatus_to_exitcode(status))
        _emit(exit=codes)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(10)  # never reached


# name → (the function wrapped, as a path from services/exports; fire before or after the call)
FAILPOINTS: dict[str, tuple[str, str]] = {
    "generate.read": ("services._read", "before"),
    "generate.evaluate": ("services._evaluate", "after"),
    "generate.lines_inserted": ("services._insert_lines", "after"),  # inside the chunk's transaction
    "generate.skips_inserted": ("services._insert_skips", "after"),  # inside, just before the commit
    "generate.chunk_committed": ("services._write", "after"),  # between chunks
    "generate.totals": ("services._set_totals", "after"),  # inside the completion's transaction
    "generate.audit": ("services.audit_record", "after"),  # 1: run created, 2: run marked generated; not committed
    "approve.inside": ("services.audit_record", "before"),  # approve: run saved approved, not committed
    "export.files": ("exports.workbook", "after"),  # files built, nothing saved
    "export.inside": ("exports.audit_record", "after"),  # run saved exported with its sums, not committed
}


def _install(name: str, hit: int, gate: Callable[[], bool] = lambda: True, hold: float = 0) -> None:
    """The ``hit``-th call of the failpoint's function (while ``gate()``) kills the process — or, with ``hold``,
    sleeps that long (the test stops the server meanwhile) and goes on."""
    from jiuzhu.payments import exports, services

    path, when = FAILPOINTS[name]
    roots = {"services": services, "exports": exports}
    *head, attr = path.split(".")
    owner: Any = roots[head[0]]
    for part in head[1:]:
        owner = getattr(owner, part)
    original = getattr(owner, attr)
    calls = {"n": 0}

    def wrapper(*a: Any, **kw: Any) -> Any:
        if not gate():
            return original(*a, **kw)
        calls["n"] += 1
        if when == "before" and calls["n"] == hit:
            _fire(name, hit, hold)
        out = original(*a, **kw)
        if when == "after" and calls["n"] == hit:
            _fire(name, hit, hold)
        return out

    setattr(owner, attr, wrapper)


def _fire(name: str, hit: int, hold: float) -> None:
    _emit(failpoint=name, hit=hit, hold=hold)
    if hold:
        time.sleep(hold)
    else:
        _die()


def _child(spec: dict[str, Any], k: int) -> None:
    import datetime as dt

    from jiuzhu.accounts.models import User
    from jiuzhu.payments import exports, services

    stage = {"now": "start"}
    if spec.get("copy"):  # the PostgreSQL COPY path of the chunk's inserts even for a few rows
        services.COPY_MIN = 0
    if spec.get("failpoint"):
        name = spec["failpoint"]
        want = name.split(".")[0]
        _install(name, int(spec.get("hit", 1)), gate=lambda: stage["now"] == want, hold=float(spec.get("hold", 0)))
    month = dt.date.fromisoformat(spec["month"])
    maker = User.objects.get(username=spec["maker"])
    pause = float(spec.get("pause", 0))

    def tick(run: Any, written: int) -> None:
        _emit(chunk=written, k=k)
        if pause:
            time.sleep(pause)

    if spec.get("start_at"):
        time.sleep(max(0.0, float(spec["start_at"]) - time.time()))
    stage["now"] = "generate"
    run = services.generate(area_code=spec["area"], month=month, programme=spec.get("programme", "dibao"), actor=maker,
                            chunk_size=int(spec.get("chunk", 3)), after_chunk=tick)  # fmt: skip
    _emit(generated=run.pk, status=run.status, k=k)
    if "approve" not in spec.get("ops", ()):
        return
    stage["now"] = "approve"
    run = services.approve(run, User.objects.get(username=spec["checker"]))
    _emit(approved=run.pk, k=k)
    if "export" not in spec.get("ops", ()):
        return
    stage["now"] = "export"
    exports.export(run, maker)
    _emit(exported=run.pk, k=k)


# --- a private PostgreSQL cluster -------------------------------------------------------------------------------


def pg_bin() -> Path:
    """The newest PostgreSQL server binaries under /usr/lib/postgresql; AssertionError (a failure, never a skip)
    when there are none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise AssertionError(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb, pg_ctl, postgres, pg_dump): the "
            "PAY-CRASH test with PostgreSQL stopped hard needs them — install Debian's postgresql package "
            "(e.g. apt-get install postgresql-15) on the machine running the tests")  # fmt: skip
    b = Path(found[-1]).parent
    for tool in ("pg_ctl", "postgres", "pg_dump"):
        assert (b / tool).exists(), f"{b / tool} is missing: install the full postgresql server package"
    return b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A throw-away PostgreSQL cluster on 127.0.0.1:<free port>, trust authentication, user ``postgres``."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="jiuzhu-pgcrash-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.log = self.dir / "server.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:  # PostgreSQL refuses to run as root: the cluster belongs to the postgres OS user
            import pwd

            pw = pwd.getpwnam("postgres")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            os.chown(self.dir, self.uid, self.gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-N", "-E", "UTF8",
                  "--locale=C.UTF-8")  # fmt: skip
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
                    "max_connections = 40\nshared_buffers = 32MB\nfsync = off\nfull_page_writes = off\n"
                    "log_min_messages = warning\n")  # fmt: skip

    def _run(self, tool: str, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kw: dict[str, Any] = {"user": self.uid, "group": self.gid, "extra_groups": []} if self.as_root else {}
        return subprocess.run([str(self.bin / tool), *args], capture_output=True, text=True, check=check,
                              timeout=timeout, cwd=self.dir, **kw)  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/jiuzhu"

    def start(self) -> None:
        self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60")

    def stop_hard(self) -> None:
        """``pg_ctl stop -m immediate``: every backend quits at once, no checkpoint; the next start recovers."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60")

    def running(self) -> bool:
        return self._run("pg_ctl", "status", "-D", str(self.data), check=False).returncode == 0

    def clone_from(self, source_url: str) -> None:
        """The source database (schema and data) copied into database ``jiuzhu`` here."""
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-qc",
                  "CREATE DATABASE jiuzhu")  # fmt: skip
        dump = subprocess.run([str(self.bin / "pg_dump"), "--no-owner", "--no-privileges", "-d", source_url],
                              capture_output=True, check=True, timeout=300)  # fmt: skip
        load = subprocess.run([str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url],
                              input=dump.stdout, capture_output=True, timeout=300)  # fmt: skip
        assert load.returncode == 0, load.stderr.decode()[-2000:]

    def destroy(self) -> None:
        if self.data.exists() and self.running():
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- invariants -------------------------------------------------------------------------------------------------


def run_state_problems(cur: Any, area: str, month: str, programme: str = "dibao") -> list[str]:
    """Right after a crash, in SQL (any connection): the month's live run is absent, generating with nothing
    marked, or complete — its totals equal to its lines and, once exported, the files' sums kept."""
    cur.execute("SELECT id, status, line_count, total_amount, exports::text FROM payments_payrollrun "
                "WHERE kind = 'regular' AND area_code = %s AND month = %s AND programme = %s AND status <> 'cancelled'",
                [area, month, programme])  # fmt: skip
    runs = cur.fetchall()
    problems = [f"{len(runs)} live runs"] if len(runs) > 1 else []
    for pk, status, n, total, sums in runs:
        cur.execute("SELECT count(*), coalesce(sum(amount), 0) FROM payments_payrollline "
                    "WHERE run_id = %s AND status <> 'cancelled'", [pk])  # fmt: skip
        lines, amount = cur.fetchone()
        if status == "generating":
            if n != 0 or total != 0:
                problems.append(f"run {pk} generating but marked with totals {n}/{total}")
        elif (n, total) != (lines, amount):
            problems.append(f"run {pk} {status}: totals {n}/{total}, lines {lines}/{amount}")
        if status == "exported" and sums in ("{}", "null", None):
            problems.append(f"run {pk} exported without the files' sums")
    return problems


def line_problems(cur: Any, area: str, month: str, expect_lines: set[int], expect_skips: set[int],
                  programme: str = "dibao") -> list[str]:  # fmt: skip
    """After the rerun: exactly one live run; every entitlement in scope once, as a line (``expect_lines``,
    household ids) or a skip (``expect_skips``, household ids); no duplicate; totals exact; nothing generating."""
    cur.execute("SELECT id, status, line_count, total_amount FROM payments_payrollrun WHERE kind = 'regular' "
                "AND area_code = %s AND month = %s AND programme = %s AND status <> 'cancelled'", [area, month, programme])  # fmt: skip
    runs = cur.fetchall()
    if len(runs) != 1:
        return [f"{len(runs)} live runs"]
    pk, status, n, total = runs[0]
    problems = []
    cur.execute("SELECT household_id, count(*) FROM payments_payrollline WHERE month = %s AND programme = %s "
                "AND status IN ('pending', 'paid') GROUP BY household_id", [month, programme])  # fmt: skip
    per_household = dict(cur.fetchall())
    dup = {h: c for h, c in per_household.items() if c > 1}
    if dup:
        problems.append(f"duplicate lines {dup}")
    cur.execute("SELECT household_id FROM payments_payrollline WHERE run_id = %s", [pk])
    got = [r[0] for r in cur.fetchall()]
    if set(got) != expect_lines or len(got) != len(expect_lines):
        problems.append(f"lines: missing {sorted(expect_lines - set(got))}, extra {sorted(set(got) - expect_lines)}, "
                        f"{len(got)} for {len(expect_lines)}")  # fmt: skip
    cur.execute("SELECT e.household_id FROM payments_payrollskip s JOIN payments_entitlement e "
                "ON e.id = s.entitlement_id WHERE s.run_id = %s", [pk])  # fmt: skip
    skipped = [r[0] for r in cur.fetchall()]
    if sorted(skipped) != sorted(expect_skips):
        problems.append(f"skips {sorted(skipped)}, expected {sorted(expect_skips)}")
    cur.execute("SELECT count(*) FROM payments_payrollline l JOIN payments_payrollskip s "
                "ON s.run_id = l.run_id AND s.entitlement_id = l.entitlement_id WHERE l.run_id = %s", [pk])  # fmt: skip
    if cur.fetchone()[0]:
        problems.append("an entitlement both paid and skipped")
    cur.execute("SELECT count(*), coalesce(sum(amount), 0) FROM payments_payrollline WHERE run_id = %s", [pk])
    lines, amount = cur.fetchone()
    if (n, total) != (lines, amount):
        problems.append(f"totals {n}/{total} but lines {lines}/{amount}")
    cur.execute("SELECT count(*) FROM payments_payrollrun WHERE status = 'generating'")
    if cur.fetchone()[0]:
        problems.append("a run left generating")
    return problems


def trial_plan(n: int, seed: int) -> list[dict[str, Any]]:
    """n trials: a third killed after a random delay, the rest at a random failpoint and hit."""
    rnd = random.Random(seed)
    names = list(FAILPOINTS)
    plan = []
    for i in range(n):
        if i % 3 == 0:
            plan.append({"trial": i, "kill": "delay", "u": rnd.random()})
        else:
            name = names[(i + rnd.randrange(len(names))) % len(names)]
            hit = {"generate.totals": 1, "generate.audit": rnd.randint(1, 2)}.get(name, rnd.randint(1, 4))
            hit = hit if name.startswith("generate.") else 1
            plan.append({"trial": i, "kill": "failpoint", "failpoint": name, "hit": hit})
    return plan


if __name__ == "__main__":
    _serve()
