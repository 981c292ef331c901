"""Benchmark (not a test): household pages under 50 concurrent users on a million-household registry.

    .venv/bin/python bench/registry.py --size 1000000

1. A dedicated PostgreSQL database (``--database-url``, default ``jiuzhu_bench_registry`` on 127.0.0.1) is
   created, migrated and filled with ``--size`` synthetic households in 汉滨区 (610902) by the synth generator,
   unless it already holds exactly that many (keys and database belong together: they live in
   ``var/bench-registry/``; a database whose ciphertexts the keys cannot open is rebuilt). The database is
   dropped and recreated when rebuilt, so the benchmark never uses ``DATABASE_URL``: only ``--database-url``
   or ``BENCH_DATABASE_URL``.
2. The real server (``jiuzhu serve``, waitress) starts in a subprocess in production mode.
3. ``--clients`` sessions for a county reviewer (汉滨区) are created directly with ``SessionStore`` — the keys the
   login view sets, including ``jz_login_at``/``jz_seen_at`` checked by ``accounts.middleware`` — and each
   client thread sends its own session cookie over a keep-alive ``http.client`` connection.
4. Phases, each with all clients at once and ``--requests`` requests, every user pausing ``--think-ms`` (mean,
   exponential; default 1 s) between requests as a person reading the page does: ``/healthz`` (the baseline, measured in
   the same run because the machine is noisy), the list ``/households/?page=N`` (pages 1–40), the detail
   ``/households/<pk>/`` (random households), a name search ``?q=<full name>`` and an ID search
   ``?q=<18-digit ID>`` (must find the household); plus a smaller deep-paging phase over all pages the list
   offers. Then the list and ``/healthz`` again with no pause (closed loop): the server's saturation throughput.
Every response must be 200 (and the ID search must show the household); the last output line is JSON with
``households``, ``list_p95_ms``, ``detail_p95_ms``, ``search_p95_ms``, the p50s and ``healthz_p95_ms``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
COUNTY = "610902"
REVIEWER = "bench_reviewer"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/jiuzhu_bench_registry"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- database ----------------------------------------------------------------------------------------------


def _admin_conn(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True)


def _create_database(url: str, *, drop: bool) -> None:
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with _admin_conn(url) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and drop:
            log(f"dropping database {name}")
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            log(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _environment(url: str, var_dir: Path, conn_max_age: int) -> dict[str, str]:
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "DJANGO_SETTINGS_MODULE": "jiuzhu.settings",
        "DATABASE_URL": url,
        "JIUZHU_VAR_DIR": str(var_dir),
        "JIUZHU_KEY_FILE": str(var_dir / "keys.json"),
        "JIUZHU_MODE": "production",
        "CONN_MAX_AGE": str(conn_max_age),
        "LOG_LEVEL": "ERROR",
    }
    from jiuzhu.core.crypto import ensure_key_file

    ensure_key_file(env["JIUZHU_KEY_FILE"])
    return env


def _state(size: int) -> str:
    """'ok', or why the database must be (re)built."""
    from django.db import connection
    from django.db.utils import DatabaseError

    from jiuzhu.core import crypto

    try:
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            return "schema not current"
        from jiuzhu.registry.models import Household, Person

        n = Household.objects.filter(is_synthetic=True, area_code__startswith=COUNTY).count()
        if n != size or Household.objects.count() != size:
            return f"holds {n:,} synthetic households, not {size:,}"
        token = Person.objects.values_list("id_number_enc", flat=True).first()
        crypto.decrypt(token, context="person.id_number")
    except crypto.CryptoError:
        return "its ciphertexts do not open with the keys in the var directory"
    except DatabaseError as exc:
        return f"not usable ({type(exc).__name__})"
    return "ok"


def prepare(size: int, url: str, seed: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    state = _state(size)
    if state == "ok":
        log(f"database already holds {size:,} synthetic households: reused")
        return
    log(f"database {state}: rebuilding")
    connection.close()
    _create_database(url, drop=True)
    call_command("migrate", verbosity=0)
    from jiuzhu.core.divisions import known_county_codes, load_national
    from jiuzhu.synth.load import generate

    load_national(provinces=["61"])
    known_county_codes.cache_clear()
    step = max(50_000, size // 10)
    marks = {"next": step}

    def progress(done: int, persons: int, elapsed: float) -> None:
        if done >= marks["next"] or done == size:
            marks["next"] += step
            log(f"  synth: {done:,} households, {persons:,} persons, {elapsed:.0f} s")

    res = generate(county=COUNTY, households=size, seed=seed, progress=progress)
    log(f"synth: {res.households:,} households, {res.persons:,} persons in {res.seconds:.0f} s "
        f"({res.households_per_second:,.0f}/s, workers {res.workers}); phases {res.timings}")  # fmt: skip
    t = time.perf_counter()
    with connection.cursor() as cur:
        for table in ("registry_household", "registry_person", "registry_membership"):
            cur.execute(f"VACUUM ANALYZE {table}")
    log(f"vacuum analyze: {time.perf_counter() - t:.0f} s")


# --- sessions and targets ----------------------------------------------------------------------------------


def make_sessions(n: int) -> list[str]:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from jiuzhu.accounts.middleware import LOGIN_AT, SEEN_AT
    from jiuzhu.accounts.models import User
    from jiuzhu.accounts.roles import Role

    user = User.objects.filter(username=REVIEWER).first() or User(username=REVIEWER)
    user.role, user.area_id, user.is_active, user.full_name = Role.REVIEWER, COUNTY, True, "基准测试审核员"
    user.must_change_password, user.password_changed_at = False, timezone.now()
    user.set_unusable_password()
    user.save()
    keys = []
    now = time.time()
    for _ in range(n):
        s = SessionStore()
        s[SESSION_KEY] = str(user.pk)
        s[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        s[HASH_SESSION_KEY] = user.get_session_auth_hash()
        s[LOGIN_AT] = now
        s[SEEN_AT] = now
        s.create()
        keys.append(s.session_key)
    return keys


def make_targets(requests: int, seed: int) -> dict[str, list[tuple[str, str]]]:
    """Per phase: [(path, text the body must contain)]."""
    from django.db.models import Max, Min

    from jiuzhu.core import crypto
    from jiuzhu.registry.models import Household, Person
    from jiuzhu.registry.selectors import MAX_PAGE

    rng = random.Random(seed)
    bounds = Household.objects.filter(area_code__startswith=COUNTY).aggregate(lo=Min("id"), hi=Max("id"))
    total = Household.objects.filter(area_code__startswith=COUNTY).count()
    pages = max(1, math.ceil(total / 25))
    pids = Person.objects.aggregate(lo=Min("id"), hi=Max("id"))

    def people(k: int) -> list[Person]:
        picks = sorted({rng.randint(pids["lo"], pids["hi"]) for _ in range(k * 2)})[: k * 2]
        found = list(Person.objects.filter(id__in=picks).select_related("household"))
        rng.shuffle(found)
        return found[:k]

    by_name = people(min(requests, 1000))
    by_id = people(min(requests, 1000))
    ids = [(crypto.decrypt(p.id_number_enc, context="person.id_number"), p.household.household_no) for p in by_id]
    return {
        "healthz": [("/healthz", '"ok"')] * requests,
        "list": [(f"/households/?page={rng.randint(1, min(40, pages))}", "H" + COUNTY) for _ in range(requests)],
        "list_deep": [(f"/households/?page={rng.randint(1, min(pages, MAX_PAGE))}", "H" + COUNTY)
                      for _ in range(max(100, requests // 20))],
        "detail": [(f"/households/{rng.randint(bounds['lo'], bounds['hi'])}/", "H" + COUNTY) for _ in range(requests)],
        "search_name": [(f"/households/?q={quote(p.name)}", "H" + COUNTY) for p in (rng.choice(by_name) for _ in range(requests))],
        "search_id": [(f"/households/?q={number}", no) for number, no in (rng.choice(ids) for _ in range(requests))],
    }  # fmt: skip


# --- server and clients ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int, threads: int, workers: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "jiuzhu.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads),
         "--workers", str(workers)],
        env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not answer /healthz within 60 s")


class Client:
    def __init__(self, port: int, session: str, cookie_name: str):
        self.port, self.headers = port, {"Cookie": f"{cookie_name}={session}", "Accept-Language": "zh-hans"}
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str) -> tuple[int, bytes, float]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            t = time.perf_counter()
            try:
                self.conn.request("GET", path, headers=self.headers)
                r = self.conn.getresponse()
                body = r.read()
                elapsed = time.perf_counter() - t
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, body, elapsed
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def run_phase(
    clients: list[Client], targets: list[tuple[str, str]], think_ms: float = 0.0, seed: int = 1
) -> tuple[dict[str, float], list[float]]:
    """Each client sends its share of requests one after another; with ``think_ms`` it pauses between them for
    an exponentially distributed time of that mean (a person reading the page), starting at a random offset."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    share = [targets[i :: len(clients)] for i in range(len(clients))]

    def work(client: Client, mine: list[tuple[str, str]], rng: random.Random) -> None:
        local, bad = [], []
        if think_ms:
            time.sleep(rng.uniform(0, think_ms / 1000))
        for path, must in mine:
            try:
                status, body, elapsed = client.get(path)
            except Exception as exc:  # noqa: BLE001 - counted as an error, reported below
                bad.append(f"{path}: {exc}")
                continue
            local.append(elapsed)
            if status != 200 or must.encode() not in body:
                bad.append(f"{path}: {status} {'(expected text missing)' if status == 200 else ''}")
            if think_ms:
                time.sleep(rng.expovariate(1000 / think_ms))
        with lock:
            latencies.extend(local)
            errors.extend(bad)

    t = time.perf_counter()
    threads = [threading.Thread(target=work, args=(c, s, random.Random(seed * 1000 + i)))
               for i, (c, s) in enumerate(zip(clients, share, strict=True))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    if errors:
        log(f"  {len(errors)} errors, e.g. {errors[:3]}")
    ms = sorted(x * 1000 for x in latencies)
    return {**_stats(ms, wall), "errors": len(errors)}, ms


def _stats(ms: list[float], wall: float) -> dict[str, float]:
    """Nearest-rank percentiles of sorted milliseconds."""

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, max(0, math.ceil(p / 100 * len(ms)) - 1))] if ms else float("nan")

    return {"n": len(ms), "p50": pct(50), "p95": pct(95), "p99": pct(99),
            "mean": statistics.fmean(ms) if ms else float("nan"), "rps": len(ms) / wall if wall else 0.0}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="households (default 1000000)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
                        help="a dedicated database: it is dropped and rebuilt unless it holds --size households")
    parser.add_argument("--var-dir", default=str(ROOT / "var" / "bench-registry"), help="keys for that database")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--think-ms", type=float, default=1000.0,
                        help="mean pause of each user between requests (default 1000 ms); 0 = closed loop")
    parser.add_argument("--requests", type=int, default=2000, help="requests per phase (default 2000)")
    parser.add_argument("--threads", type=int, default=16, help="waitress threads per worker")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="server processes (jiuzhu serve --workers; default: one per CPU)")
    parser.add_argument("--conn-max-age", type=int, default=60, help="server CONN_MAX_AGE (persistent connections)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("the registry benchmark runs on PostgreSQL (--database-url postgres://…)")

    env = _environment(args.database_url, Path(args.var_dir), args.conn_max_age)
    os.environ.update(env)
    _create_database(args.database_url, drop=False)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    t0 = time.perf_counter()
    prepare(args.size, args.database_url, args.seed)
    prepare_s = time.perf_counter() - t0
    sessions = make_sessions(args.clients)
    targets = make_targets(args.requests, args.seed)
    connection.close()

    port = free_port()
    server = start_server(env, port, args.threads, args.workers)
    results: dict[str, dict[str, float]] = {}
    samples: dict[str, list[float]] = {}
    try:
        clients = [Client(port, s, settings.SESSION_COOKIE_NAME) for s in sessions]
        warm = [t for kind in ("list", "detail", "search_name", "search_id") for t in targets[kind][:50]]
        run_phase(clients, warm)
        phases = [(k, k, args.think_ms) for k in ("healthz", "list", "detail", "search_name", "search_id", "list_deep")]
        # saturation: the same list requests with no pause at all, to show the server's capacity
        phases += [("list_saturated", "list", 0.0), ("healthz_saturated", "healthz", 0.0)]
        for name, kind, think in phases:
            r, samples[name] = run_phase(clients, targets[kind], think, args.seed)
            results[name] = r
            log(f"{name:18s} n={r['n']:5d} errors={r['errors']} p50={r['p50']:7.1f} ms  p95={r['p95']:7.1f} ms  "
                f"p99={r['p99']:7.1f} ms  {r['rps']:6.0f} req/s")  # fmt: skip
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
    combined = _stats(sorted(samples["search_name"] + samples["search_id"]), 1.0)  # both searches together
    errors = sum(int(r["errors"]) for r in results.values())
    log(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs, database prepared in {prepare_s:.0f} s")
    out = {
        "households": args.size,
        "list_p50_ms": round(results["list"]["p50"], 1), "list_p95_ms": round(results["list"]["p95"], 1),
        "detail_p50_ms": round(results["detail"]["p50"], 1), "detail_p95_ms": round(results["detail"]["p95"], 1),
        "search_p50_ms": round(combined["p50"], 1), "search_p95_ms": round(combined["p95"], 1),
        "search_name_p95_ms": round(results["search_name"]["p95"], 1),
        "search_id_p95_ms": round(results["search_id"]["p95"], 1),
        "list_deep_p95_ms": round(results["list_deep"]["p95"], 1),
        "healthz_p50_ms": round(results["healthz"]["p50"], 1), "healthz_p95_ms": round(results["healthz"]["p95"], 1),
        **{f"{k}_rps": round(results[k]["rps"], 1) for k in ("healthz", "list", "detail", "search_name", "search_id")},
        "list_saturated_p95_ms": round(results["list_saturated"]["p95"], 1),
        "list_saturated_rps": round(results["list_saturated"]["rps"], 1),
        "healthz_saturated_rps": round(results["healthz_saturated"]["rps"], 1),
        "think_ms": args.think_ms, "clients": args.clients, "workers": args.workers, "requests_per_kind": args.requests, "errors": errors,
        "load_average": round(os.getloadavg()[0], 1),
    }  # fmt: skip
    print(json.dumps(out))
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
