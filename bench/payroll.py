"""Benchmark (not a test): a month's payroll for N recipients on PostgreSQL — generate (read, evaluate, write,
finish), approve and export — side by side with the floor: the same month written by one plain SQL
``INSERT … SELECT`` of the decided amounts and exported by one ``COPY … TO STDOUT``, in the same run.

    .venv/bin/python bench/payroll.py --size 1000000

1. A dedicated database (``--database-url``, default ``jiuzhu_bench_payroll`` on 127.0.0.1:5432; never
   ``DATABASE_URL``) is dropped, created and migrated; the divisions of 陕西 are loaded and ``--size`` synthetic
   households of 汉滨区 (610902) written by the synth generator (COPY; encrypted identities and bank accounts,
   economic facts). Then, in bulk SQL (``INSERT … SELECT`` over the households, not the ORM per row), one
   approved 低保 case, decision and ``Entitlement`` per household — N entitlements, N recipients (the first
   member of each household). Keys live in a throw-away directory; the database is dropped at the end unless
   ``--keep``.
2. ``payments.services.generate`` for the whole county and the month, timed per stage by wrapping its helpers:
     read_s      the chunk's entitlements, what is done, the households as the engine's columns
                 (``registry.columns``) and the reserve advances — two chunks ahead, on two more connections,
                 while the previous chunk is evaluated and written: the sum over both threads, overlapping the
                 next two
     evaluate_s  the policy engine, one vectorised call per chunk and programme (``evaluate_registry``)
     write_s     each chunk's transaction: what is done already, failed elsewhere, lines and skips
     finish_s    the completion check, totals, the run marked generated
   The stages add up to more than ``generate_s`` by the overlap. ``generate_s`` is the call end to end (with the
   snapshot when the run is created); ``approve_s`` the second
   officer's approval; ``export_s`` ``payments.exports.export`` (decrypting every account, CSV, pain.001 XML and
   the xlsx workbook, written as one streaming pass). ``total_s`` = generate + approve + export.
3. The floor, on the same database and month: ``floor_write_s`` one ``INSERT INTO <copy of the lines table, with
   the same indexes> SELECT …`` of every in-scope entitlement's decided amount (no engine, no checks), and
   ``floor_export_s`` one ``COPY (SELECT … lines joined to households) TO STDOUT (FORMAT csv)`` (ciphertexts, not
   accounts: no decryption). ``floor_total_s`` is their sum.
The last line of output is one JSON object: ``recipients``, ``total_s``, one ``<stage>_s`` per stage, the floor's
figures, lines, skips by reason, the total amount and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
COUNTY = "610902"
MONTH = dt.date(2026, 1, 1)
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/jiuzhu_bench_payroll"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- database ----------------------------------------------------------------------------------------------


def _admin_conn(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(urlsplit(url)._replace(path="/postgres").geturl(), autocommit=True)


def _database(url: str, *, create: bool) -> None:
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    with _admin_conn(url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _zero(data_type: str) -> str:
    """A filler for a NOT NULL column without a database default (Django's defaults are Python-side)."""
    if data_type in ("boolean",):
        return "false"
    if data_type in ("integer", "bigint", "smallint", "numeric", "double precision", "real"):
        return "0"
    if data_type in ("jsonb", "json"):
        return "'{}'"
    if data_type == "date":
        return "CURRENT_DATE"
    if data_type.startswith("timestamp"):
        return "now()"
    return "''"


def insert_select(cur: Any, table: str, given: dict[str, str], source: str) -> int:
    """``INSERT INTO table (given…, other NOT NULL columns) SELECT given expressions…, fillers FROM source``."""
    cur.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
                "AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'", [table])  # fmt: skip
    required = cur.fetchall()
    cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table])
    have = {r[0] for r in cur.fetchall()}
    cols = {k: v for k, v in given.items() if k in have}
    for name, data_type in required:
        cols.setdefault(name, _zero(data_type))
    sql = f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols.values())} FROM {source}"  # noqa: S608
    cur.execute(sql)
    return int(cur.rowcount)


def prepare(size: int, seed: int, reuse: bool) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from jiuzhu.core.divisions import known_county_codes, load_national
    from jiuzhu.synth.load import generate as synth

    if reuse:  # development: the households and entitlements of an earlier --keep run, the payroll emptied
        call_command("migrate", verbosity=0)
        with connection.cursor() as cur:
            cur.execute("TRUNCATE payments_payrollskip, payments_payrollline, payments_payrollrun, batch_jobrun CASCADE")
            cur.execute("SELECT count(*), (SELECT count(*) FROM registry_person), "
                        "(SELECT count(*) FROM payments_entitlement) FROM registry_household")  # fmt: skip
            households, persons, entitlements = cur.fetchone()
        assert households == size, f"the kept database holds {households:,} households, not {size:,}"
        if entitlements == size:
            return {"households": households, "persons": persons, "entitlements": entitlements}
        with connection.cursor() as cur:
            cur.execute("TRUNCATE payments_entitlement, cases_decision, cases_case CASCADE")
    else:
        t = time.perf_counter()
        call_command("migrate", verbosity=0)
        load_national(provinces=["61"])
        known_county_codes.cache_clear()
        log(f"migrated and loaded divisions in {time.perf_counter() - t:.0f} s")
        step = max(50_000, size // 10)
        marks = {"next": step}

        def progress(done: int, persons: int, elapsed: float) -> None:
            if done >= marks["next"] or done == size:
                marks["next"] += step
                log(f"  synth: {done:,} households, {persons:,} persons, {elapsed:.0f} s")

        res = synth(county=COUNTY, households=size, seed=seed, progress=progress)
        households, persons = res.households, res.persons
        log(f"synth: {res.households:,} households, {res.persons:,} persons in {res.seconds:.0f} s")
    t = time.perf_counter()
    received, decided = MONTH - dt.timedelta(days=40), MONTH - dt.timedelta(days=5)
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM registry_household")
        n = insert_select(cur, "cases_case", {
            "case_no": "'B' || h.id", "programme": "'dibao'", "state": "'approved'", "channel": "'window'",
            "area_code": "h.area_code", "township_code": "left(h.area_code, 9)", "household_id": "h.id",
            "applicant_name": "h.head_name", "received_on": f"DATE '{received}'", "decided_on": f"DATE '{decided}'",
            "amount": "500.00", "start_month": f"DATE '{MONTH}'", "created_at": "now()", "updated_at": "now()",
        }, "registry_household h")  # fmt: skip
        insert_select(cur, "cases_decision", {
            "case_id": "c.id", "approved": "true", "decided_on": f"DATE '{decided}'", "amount": "c.amount",
            "start_month": f"DATE '{MONTH}'", "level": "'county'", "created_at": "now()",
        }, "cases_case c WHERE c.case_no LIKE 'B%%'")  # fmt: skip
        insert_select(cur, "payments_entitlement", {
            "household_id": "c.household_id", "recipient_id": "p.id", "programme": "'dibao'",
            "area_code": "c.area_code", "amount": "d.amount", "start_month": f"DATE '{MONTH}'", "status": "'active'",
            "case_id": "c.id", "decision_id": "d.id", "origin": "'decision'", "version": "1", "created_at": "now()",
            "updated_at": "now()",
        }, "cases_decision d JOIN cases_case c ON c.id = d.case_id JOIN (SELECT DISTINCT ON (household_id) "
           "household_id, id FROM registry_person ORDER BY household_id, id) p ON p.household_id = c.household_id")  # fmt: skip
        cur.execute("SELECT count(*) FROM payments_entitlement")
        entitlements = cur.fetchone()[0]
        for table in ("registry_household", "registry_person", "registry_personeconomy", "registry_householdeconomy",
                      "cases_case", "cases_decision", "payments_entitlement"):  # fmt: skip
            cur.execute(f"VACUUM ANALYZE {table}")
    log(f"{n:,} cases, decisions and {entitlements:,} entitlements in bulk SQL in {time.perf_counter() - t:.0f} s")
    return {"households": households, "persons": persons, "entitlements": entitlements}


def officers() -> tuple[Any, Any]:
    from django.utils import timezone

    from jiuzhu.accounts.models import User
    from jiuzhu.accounts.roles import Role

    out = []
    for name, role in (("bench_maker", Role.CASEWORKER), ("bench_checker", Role.REVIEWER)):
        u = User.objects.filter(username=name).first() or User(username=name)
        u.role, u.area_id, u.is_active, u.full_name = role, COUNTY, True, name
        u.must_change_password, u.password_changed_at = False, timezone.now()
        u.set_unusable_password()
        u.save()
        out.append(u)
    return out[0], out[1]


# --- jiuzhu ------------------------------------------------------------------------------------------------


def instrument(stages: dict[str, float]) -> None:
    """Time generate's helpers by wrapping them (services calls them through the module)."""
    from jiuzhu.payments import services

    def timed(name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*a: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                stages[name] += time.perf_counter() - t

        return wrapper

    for name, helper in (("read", "_read"), ("evaluate", "_evaluate"), ("write", "_write"), ("finish", "_finish")):
        setattr(services, helper, timed(name, getattr(services, helper)))


def run_jiuzhu(maker: Any, checker: Any) -> dict[str, Any]:
    from jiuzhu.payments import exports, services

    stages: dict[str, float] = defaultdict(float)
    instrument(stages)
    t = time.perf_counter()
    run = services.generate(area_code=COUNTY, month=MONTH, programme="dibao", actor=maker)
    generate_s = time.perf_counter() - t
    assert run.status == "generated", run.status
    t = time.perf_counter()
    run = services.approve(run, checker)
    approve_s = time.perf_counter() - t
    t = time.perf_counter()
    bundle = exports.export(run, maker)
    export_s = time.perf_counter() - t
    sizes = {name.rsplit(".", 1)[1]: len(data) for name, data in bundle.files.items()}
    run.refresh_from_db()
    out = {f"{k}_s": round(v, 2) for k, v in stages.items()}
    out |= {"generate_s": round(generate_s, 2), "approve_s": round(approve_s, 3), "export_s": round(export_s, 2),
            "total_s": round(generate_s + approve_s + export_s, 2), "lines": run.line_count,
            "total_amount": str(run.total_amount), "skipped": run.counts.get("skipped", {}),
            "amount_differs_from_decision": run.counts.get("amount_differs_from_decision"),
            "file_bytes": sizes, "run": run.pk}  # fmt: skip
    return out


def run_floor(run_pk: int) -> dict[str, Any]:
    """The same month as plain SQL: the decided amounts inserted in one statement into a copy of the lines table
    (same columns, indexes and unique constraints), then one COPY out."""
    import io

    from django.db import connection, transaction

    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_floor_line")
        cur.execute("CREATE TABLE bench_floor_line (LIKE payments_payrollline INCLUDING ALL)")
    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        rows = insert_select(cur, "bench_floor_line", {
            "run_id": str(run_pk), "entitlement_id": "e.id", "household_id": "e.household_id",
            "person_id": "e.recipient_id", "area_code": "h.area_code", "programme": "e.programme",
            "month": f"DATE '{MONTH}'", "amount": "e.amount", "engine_amount": "e.amount", "advance_deducted": "0",
            "explanation_ref": f"e.programme || '@{MONTH:%Y-%m}/' || h.household_no",
            "reference": f"'F{run_pk}E' || e.id", "payee_name": "left(p.name, 64)", "bank_name": "left(h.bank_name, 64)",
            "bank_account_enc": "h.bank_account_enc", "bank_account_bi": "h.bank_account_bi",
            "bank_account_masked": "h.bank_account_masked", "status": "'pending'",
        }, f"""payments_entitlement e JOIN registry_household h ON h.id = e.household_id
                JOIN registry_person p ON p.id = e.recipient_id
            WHERE e.area_code LIKE '{COUNTY}%%' AND e.start_month <= DATE '{MONTH}'
              AND (e.end_month IS NULL OR e.end_month >= DATE '{MONTH}') AND e.status = 'active'
              AND e.programme = 'dibao' AND h.status = 'active' AND h.bank_account_enc <> ''""")  # fmt: skip
    write_s = time.perf_counter() - t
    t = time.perf_counter()
    buf = io.BytesIO()
    with connection.cursor() as cur:
        raw = cur.cursor  # psycopg 3
        with raw.copy("COPY (SELECT l.id, l.reference, l.payee_name, l.bank_account_enc, l.bank_name, l.amount, "
                      "l.programme, l.month, l.area_code, h.household_no, l.explanation_ref FROM bench_floor_line l "
                      "JOIN registry_household h ON h.id = l.household_id ORDER BY l.id) TO STDOUT (FORMAT csv)") as cp:  # fmt: skip
            for block in cp:
                buf.write(block)
    export_s = time.perf_counter() - t
    with connection.cursor() as cur:
        cur.execute("DROP TABLE bench_floor_line")
    return {"floor_write_s": round(write_s, 2), "floor_export_s": round(export_s, 2),
            "floor_total_s": round(write_s + export_s, 2), "floor_lines": rows, "floor_csv_bytes": buf.tell()}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1_000_000, help="recipients (households, one entitlement each)")
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
                    help="a dedicated database: dropped, created and filled by the benchmark")  # fmt: skip
    ap.add_argument("--keep", action="store_true", help="keep the database (and its keys) afterwards")
    ap.add_argument("--reuse", metavar="VAR_DIR", help="development: reuse a database kept with --keep (its keys in "
                    "VAR_DIR, printed by that run) instead of building it again")  # fmt: skip
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prepare-only", action="store_true", help="development: build and keep the database, run nothing "
                    "(then --reuse it)")  # fmt: skip
    args = ap.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("the payroll benchmark runs on PostgreSQL (--database-url postgres://…)")
    tmp = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix="jiuzhu-bench-payroll-"))
    args.keep = args.keep or args.prepare_only
    if args.keep:
        log(f"keys in {tmp} (for --reuse)")
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "jiuzhu.settings", "DATABASE_URL": args.database_url,
        "JIUZHU_VAR_DIR": str(tmp / "var"), "JIUZHU_KEY_FILE": str(tmp / "keys.json"), "JIUZHU_MODE": "demo",
        "LOG_LEVEL": "ERROR",
    })  # fmt: skip
    from jiuzhu.core.crypto import ensure_key_file

    ensure_key_file(os.environ["JIUZHU_KEY_FILE"])
    if not args.reuse:
        _database(args.database_url, create=True)
    import django

    django.setup()
    from django.db import connection

    try:
        t = time.perf_counter()
        sizes = prepare(args.size, args.seed, bool(args.reuse))
        prepare_s = time.perf_counter() - t
        if args.prepare_only:
            log(f"prepared in {prepare_s:.0f} s: {sizes}")
            return
        maker, checker = officers()
        jz = run_jiuzhu(maker, checker)
        log(f"jiuzhu: generate {jz['generate_s']} s (read {jz.get('read_s')}, evaluate {jz.get('evaluate_s')}, "
            f"write {jz.get('write_s')}, finish {jz.get('finish_s')}), approve {jz['approve_s']} s, "
            f"export {jz['export_s']} s; total {jz['total_s']} s; {jz['lines']:,} lines, skipped {jz['skipped']}")  # fmt: skip
        floor = run_floor(jz["run"])
        log(f"floor: INSERT … SELECT {floor['floor_write_s']} s, COPY out {floor['floor_export_s']} s")
        out = {"recipients": sizes["entitlements"], "total_s": jz["total_s"]}
        out |= {k: v for k, v in jz.items() if k.endswith("_s") and k != "total_s"}
        out |= floor
        out |= {"ratio_to_floor": round(jz["total_s"] / max(floor["floor_total_s"], 1e-9), 1),
                "generate_vs_floor_write": round(jz["generate_s"] / max(floor["floor_write_s"], 1e-9), 1),
                "lines": jz["lines"], "skipped": jz["skipped"], "total_amount": jz["total_amount"],
                "amount_differs_from_decision": jz["amount_differs_from_decision"], "file_bytes": jz["file_bytes"],
                "households": sizes["households"], "persons": sizes["persons"], "prepare_s": round(prepare_s, 1),
                "goal_total_s": 60}  # fmt: skip
    finally:
        connection.close()
        if not args.keep:
            _database(args.database_url, create=False)
            if not args.reuse:
                shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
