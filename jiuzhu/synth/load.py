"""Writing a synthetic population to the database.

``generate`` builds a ``Plan`` from the division table (creating synthetic villages where a county has none),
runs ``PopulationModel``, encrypts the protected fields (``seal`` — in this process for small runs, in a pool
of ``spawn`` workers for large ones) and writes Household, Person, Membership, HouseholdEconomy and PersonEconomy
rows in chunks: COPY on PostgreSQL, ``bulk_create`` elsewhere. Everything happens in one transaction with one
``synth.generate`` audit event, so a failed run leaves nothing behind.

Stored exactly as ``registry.services`` stores a registration: ``crypto.encrypt`` tokens with the same
contexts, ``crypto.blind_index`` with the same purposes, the canonical masked forms, household numbers
``H`` + village code + 5-digit sequence, ``hukou_area_code`` = county; plus ``is_synthetic=True``."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing import get_context
from operator import attrgetter
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Max, Q
from django.utils import timezone

from jiuzhu.core import crypto, masking
from jiuzhu.core.audit import audit_record
from jiuzhu.core.divisions import generate_villages, known_county_codes
from jiuzhu.core.models import Division
from jiuzhu.registry.models import (
    HOUSEHOLD_MONEY_FIELDS,
    INCOME_FIELDS,
    PERSON_FLAGS,
    EconomySource,
    Household,
    HouseholdEconomy,
    Membership,
    Person,
    PersonEconomy,
)

from . import seal as sealing
from .generator import AS_OF, Plan, PopulationModel, SynthHousehold, Village

L = Division.Level
BATCH = 5000
POOL_THRESHOLD = 50_000  # households; below this, sealing in-process is faster than starting workers
SQLITE_CACHE_KIB = -65536  # PRAGMA cache_size in KiB (negative): 64 MB while loading
BULK_THRESHOLD = 100_000  # households; from here PostgreSQL rebuilds indexes after the load (see _PgWriter)
URBAN_WEIGHT = 0.6  # urban communities hold fewer low-income households than villages (城市/农村低保 ≈ 1:5)
REASON = "新登记"


class SynthError(ValueError):
    pass


@dataclass
class SynthResult:
    counties: list[str]
    households: int = 0
    persons: int = 0
    villages_created: int = 0
    seed: int = 1
    as_of: dt.date = AS_OF
    workers: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def households_per_second(self) -> float:
        return self.households / self.seconds if self.seconds else 0.0


# --- plan --------------------------------------------------------------------------------------------------


def target_counties(*, county: str | None = None, province: str | None = None) -> list[str]:
    """The current county-level divisions to populate: one county, or every county of a province that has
    townships (a county without townships has nowhere to put villages)."""
    if bool(county) == bool(province):
        raise SynthError("give exactly one of --county or --province")
    if county:
        d = Division.objects.filter(code=county, level=L.COUNTY).first()
        if d is None:
            raise SynthError(f"county {county} is not in the division table (run `jiuzhu load-divisions` first)")
        if d.valid_to is not None:
            raise SynthError(f"county {county} {d.name} was retired on {d.valid_to}; use {d.replaced_by_id}")
        return [county]
    assert province is not None
    with_towns = set(
        Division.objects.filter(level=L.TOWNSHIP, code__startswith=province).values_list("parent_id", flat=True)
    )
    codes = sorted(
        c for c in Division.objects.filter(level=L.COUNTY, code__startswith=province, valid_to__isnull=True)
        .values_list("code", flat=True) if c in with_towns
    )  # fmt: skip
    if not codes:
        raise SynthError(f"province {province} has no counties with townships in the division table")
    return codes


def _predecessors() -> dict[str, list[tuple[str, dt.date]]]:
    """county -> the retired codes replaced (directly or through a chain) by it, oldest first."""
    direct: dict[str, list[tuple[str, dt.date]]] = {}
    for code, by, valid_to in Division.objects.filter(
        level=L.COUNTY, valid_to__isnull=False, replaced_by__isnull=False
    ).values_list("code", "replaced_by_id", "valid_to"):
        if by and valid_to:
            direct.setdefault(by, []).append((code, valid_to))

    def chain(c: str, seen: frozenset[str]) -> list[tuple[str, dt.date]]:
        out: list[tuple[str, dt.date]] = []
        for code, valid_to in direct.get(c, []):
            if code not in seen:
                out.append((code, valid_to))
                out.extend(chain(code, seen | {code}))
        return out

    return {c: sorted(chain(c, frozenset({c})), key=lambda t: (t[1], t[0])) for c in direct}


def build_plan(counties: list[str], *, seed: int) -> tuple[Plan, int]:
    """Villages of the counties (created if missing), retired codes, other counties, household sequences."""
    created = 0
    for c in counties:
        if not Division.objects.filter(level=L.VILLAGE, code__startswith=c).exists():
            created += generate_villages(c)
    if created:
        known_county_codes.cache_clear()
    w = random.Random(f"jiuzhu-synth-villages/{seed}")
    villages: list[Village] = []
    for c in counties:
        for code, name, cls in (
            Division.objects.filter(level=L.VILLAGE, code__startswith=c, valid_to__isnull=True)
            .order_by("code").values_list("code", "name", "urban_rural_class")
        ):  # fmt: skip
            urban = cls.startswith("1")
            villages.append(Village(code, name, urban, (0.4 + 1.2 * w.random()) * (URBAN_WEIGHT if urban else 1.0)))
    if not villages:
        raise SynthError(f"no villages under {', '.join(counties)} (the county has no townships?)")
    provinces = sorted({c[:2] for c in counties})
    in_provinces = Q()
    for prov in provinces:
        in_provinces |= Q(code__startswith=prov)
    elsewhere = sorted(
        Division.objects.filter(in_provinces, level=L.COUNTY, valid_to__isnull=True).values_list("code", flat=True)
    )
    start: dict[str, int] = {}
    for c in counties:
        for area, last in (
            Household.objects.filter(area_code__startswith=c).values_list("area_code")
            .annotate(last=Max("household_no")).values_list("area_code", "last")
        ):  # fmt: skip
            tail = last[len(area) + 1 :]
            if last.startswith(f"H{area}") and tail.isdigit():
                start[area] = int(tail)
    preds = _predecessors()
    return Plan(villages=villages, predecessors={c: preds.get(c, []) for c in counties}, elsewhere=elsewhere,
                start_seq=start), created  # fmt: skip


# --- rows --------------------------------------------------------------------------------------------------

HOUSEHOLD_COLS = (
    "id", "household_no", "area_id", "area_code", "address", "urban_rural", "hukou_area_code", "head_name",
    "member_count", "bank_name", "bank_account_enc", "bank_account_bi", "bank_account_masked", "status",
    "is_synthetic", "version", "created_at", "updated_at",
)  # fmt: skip
PERSON_COLS = (
    "id", "household_id", "area_code", "name", "id_number_enc", "id_number_bi", "id_number_masked", "sex",
    "birth_date", "relation", "phone_enc", "phone_bi", "phone_masked", "hukou_area_code", "residence_area_code",
    "urban_rural", "disability_category", "disability_grade", "serious_illness", "diagnosis_enc", "schooling",
    "labour_capacity", "self_care", "death_date", "is_synthetic", "version", "created_at", "updated_at",
)  # fmt: skip
MEMBERSHIP_COLS = ("id", "person_id", "household_id", "area_code", "relation", "joined_on", "left_on", "reason")
# economy rows: (id, owner id, area_code), the money fields, the other facts, then the tail
_HOUSEHOLD_OTHER = ("houses", "vehicles", "current_dibao", "gradual_exit_months_used")
_PERSON_OTHER = ("lives_together", "dependent", *PERSON_FLAGS, "clergy_apart_years", "self_care_failed",
                 "parent1_status", "parent2_status")  # fmt: skip
HOUSEHOLD_ECONOMY_COLS = (
    "id", "household_id", "area_code", *HOUSEHOLD_MONEY_FIELDS, *_HOUSEHOLD_OTHER, "as_of", "source", "version",
)  # fmt: skip
PERSON_ECONOMY_COLS = (
    "id", "person_id", "area_code", *INCOME_FIELDS, *_PERSON_OTHER, "obligor_for_id", "as_of", "source", "version",
)  # fmt: skip
_household_money, _household_other = attrgetter(*HOUSEHOLD_MONEY_FIELDS), attrgetter(*_HOUSEHOLD_OTHER)
_person_money, _person_other = attrgetter(*INCOME_FIELDS), attrgetter(*_PERSON_OTHER)
SYNTHETIC = EconomySource.SYNTHETIC.value


class _Table:
    """A model's columns in the order our rows give them, followed by any other columns at their defaults
    (so a field added later with a default does not break the loader)."""

    def __init__(self, model: type[models.Model], known: tuple[str, ...]):
        fields = {f.attname: f for f in model._meta.concrete_fields}
        missing = [a for a in known if a not in fields]
        if missing:
            raise SynthError(f"{model._meta.label} has no field(s) {missing}")
        self.model = model
        self.known = known
        self.extra_fields = [f for a, f in fields.items() if a not in known]
        self.columns = [fields[a].column for a in known] + [f.column for f in self.extra_fields]
        self.extra = tuple(f.get_default() for f in self.extra_fields)
        self.table = model._meta.db_table
        # positions of the date and datetime values in our rows, and whether each is a datetime
        self.dates = [(i, isinstance(fields[a], models.DateTimeField)) for i, a in enumerate(known)
                      if isinstance(fields[a], models.DateField)]  # fmt: skip


def _plain(chunk: list[SynthHousehold]) -> sealing.Plain:
    ids, phones, diagnoses = [], [], []
    for h in chunk:
        for p in h.members:
            ids.append(p.id_number)
            if p.phone:
                phones.append(p.phone)
            if p.diagnosis:
                diagnoses.append(p.diagnosis)
    return sealing.Plain(ids=ids, phones=phones, diagnoses=diagnoses, accounts=[h.bank_account for h in chunk])


Rows = tuple[list[tuple[Any, ...]], ...]


def _rows(chunk: list[SynthHousehold], s: sealing.Sealed, next_ids: list[int], now: dt.datetime, as_of: dt.date) -> Rows:
    """Rows in HOUSEHOLD_COLS / PERSON_COLS / MEMBERSHIP_COLS / HOUSEHOLD_ECONOMY_COLS / PERSON_ECONOMY_COLS order;
    ``next_ids`` = [household, person, membership, household economy, person economy] ids to assign, advanced in
    place. Money goes in as whole yuan (``int``: exact in numeric(12, 2), read back as ``Decimal``; no float)."""
    hid, pid, mid, heid, peid = next_ids
    hh_rows, person_rows, member_rows, hh_econ_rows, person_econ_rows = [], [], [], [], []
    pi = ph = dg = 0
    mask_id, mask_phone, mask_account = masking.mask_id, masking.mask_phone, masking.mask_account
    for i, h in enumerate(chunk):
        area, county = h.area_code, h.area_code[:6]
        head = next(m.name for m in h.members if m.relation == "02")
        hh_rows.append((
            hid, h.household_no, area, area, h.address, h.urban_rural, county, head, len(h.members), h.bank_name,
            s.account_enc[i], s.account_bi[i], mask_account(h.bank_account), "active", True, 1, now, now,
        ))  # fmt: skip
        e = h.economy.household
        hh_econ_rows.append((heid, hid, area, *_household_money(e), *_household_other(e), as_of, SYNTHETIC, 1))
        heid += 1
        first_pid = pid
        for p, f in zip(h.members, h.economy.persons, strict=True):
            if p.phone:
                phone_enc, phone_bi, phone_masked = s.phone_enc[ph], s.phone_bi[ph], mask_phone(p.phone)
                ph += 1
            else:
                phone_enc = phone_bi = phone_masked = ""
            if p.diagnosis:
                diagnosis_enc = s.diagnosis_enc[dg]
                dg += 1
            else:
                diagnosis_enc = ""
            person_rows.append((
                pid, hid, area, p.name, s.id_enc[pi], s.id_bi[pi], mask_id(p.id_number), p.sex, p.birth_date,
                p.relation, phone_enc, phone_bi, phone_masked, p.hukou_area_code, p.residence_area_code,
                p.urban_rural, p.disability_category, p.disability_grade, p.serious_illness, diagnosis_enc,
                p.schooling, p.labour_capacity, p.self_care, None, True, 1, now, now,
            ))  # fmt: skip
            member_rows.append((mid, pid, hid, area, p.relation, p.joined_on, None, REASON))
            person_econ_rows.append((
                peid, pid, area, *_person_money(f), *_person_other(f),
                None if f.obligor_for is None else first_pid + f.obligor_for, as_of, SYNTHETIC, 1,
            ))  # fmt: skip
            peid += 1
            pi += 1
            pid += 1
            mid += 1
        hid += 1
    next_ids[:] = [hid, pid, mid, heid, peid]
    return hh_rows, person_rows, member_rows, hh_econ_rows, person_econ_rows


# --- writers -----------------------------------------------------------------------------------------------


class _Writer:
    """Any database: one multi-row INSERT per table and chunk through ``executemany`` with the values adapted by
    the backend's own date/datetime adapters — the rows ``bulk_create`` would send, without building 100,000
    model instances per chunk (five times faster on SQLite)."""

    def __init__(self) -> None:
        self.tables = (
            _Table(Household, HOUSEHOLD_COLS), _Table(Person, PERSON_COLS), _Table(Membership, MEMBERSHIP_COLS),
            _Table(HouseholdEconomy, HOUSEHOLD_ECONOMY_COLS), _Table(PersonEconomy, PERSON_ECONOMY_COLS),
        )  # fmt: skip
        self.qn = connection.ops.quote_name
        self._cache_size: int | None = None

    def first_ids(self) -> list[int]:
        if connection.vendor == "sqlite":  # a larger page cache for the index inserts (default 2 MB), for this load
            connection.ensure_connection()
            raw = connection.connection  # a setting of the connection, not a query of the transaction
            self._cache_size = raw.execute("PRAGMA cache_size").fetchone()[0]
            raw.execute(f"PRAGMA cache_size = {SQLITE_CACHE_KIB}")
        return [(t.model._default_manager.aggregate(m=Max("id"))["m"] or 0) + 1 for t in self.tables]

    def write(self, rows: Rows) -> None:
        ops = connection.ops
        with connection.cursor() as cur:
            for t, chunk in zip(self.tables, rows, strict=True):
                extra = tuple(f.get_db_prep_save(v, connection) for f, v in zip(t.extra_fields, t.extra, strict=True))
                # only the date columns need the backend's adapter; few distinct values (one timestamp per run)
                dates: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
                    (i, ops.adapt_datetimefield_value if is_dt else ops.adapt_datefield_value, {}) for i, is_dt in t.dates
                ]
                adapted: list[list[Any]] = []
                for r in chunk:
                    row = [*r, *extra]
                    for i, adapt, seen in dates:
                        v = row[i]
                        if v not in seen:
                            seen[v] = adapt(v)
                        row[i] = seen[v]
                    adapted.append(row)
                cols = ", ".join(self.qn(c) for c in t.columns)
                marks = ", ".join(["%s"] * len(t.columns))
                for i in range(0, len(adapted), BATCH):
                    cur.executemany(f"INSERT INTO {self.qn(t.table)} ({cols}) VALUES ({marks})",  # noqa: S608
                                    adapted[i : i + BATCH])  # fmt: skip

    def drain(self) -> None:
        """Wait for queued writes (none here: writes are synchronous)."""

    def abort(self) -> None:
        """Stop writing after a failure; the transaction rolls back."""
        self._restore()

    def finish(self, next_ids: list[int]) -> None:
        """SQLite's AUTOINCREMENT follows explicit ids by itself."""
        self._restore()

    def _restore(self) -> None:
        if self._cache_size is not None:
            connection.connection.execute(f"PRAGMA cache_size = {int(self._cache_size)}")
            self._cache_size = None


class _PgWriter(_Writer):
    """COPY FROM STDIN (psycopg 3). Ids are reserved up front under a lock that blocks concurrent inserts into
    the five tables (reads go on); the identity sequences are moved past them at the end.

    ``bulk``: for a load at least as large as what the tables hold, the secondary indexes, unique and foreign
    key constraints of the five tables are dropped first and rebuilt from their catalogue definitions at the
    end (PostgreSQL manual, "Populating a Database"): a sorted index build and one join per foreign key instead
    of millions of random b-tree inserts and deferred trigger checks — several times faster. Same transaction,
    so a failure restores them; rebuilding validates every constraint. The tables are locked against reads
    for the duration."""

    def __init__(self, *, bulk: bool = False) -> None:
        super().__init__()
        from psycopg.types.json import Jsonb

        self.extra = [tuple(Jsonb(v) if isinstance(v, dict | list) else v for v in t.extra) for t in self.tables]
        self.bulk = bulk
        self.rebuild: list[str] = []
        self._queue: queue.Queue[Rows | None] = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None
        self._raw: Any = None
        self._wrap: Any = None
        self._error: BaseException | None = None

    def first_ids(self) -> list[int]:
        out = []
        mode = "ACCESS EXCLUSIVE" if self.bulk else "SHARE ROW EXCLUSIVE"
        with connection.cursor() as cur:
            cur.execute("LOCK TABLE " + ", ".join(self.qn(t.table) for t in self.tables) + f" IN {mode} MODE")
            for t in self.tables:
                cur.execute(
                    f"SELECT GREATEST((SELECT COALESCE(MAX(id), 0) FROM {self.qn(t.table)}),"  # noqa: S608 (model table)
                    " COALESCE(pg_sequence_last_value(pg_get_serial_sequence(%s, 'id')::regclass), 0))",
                    [t.table],
                )
                out.append(cur.fetchone()[0] + 1)
            if self.bulk:
                self._drop_secondary(cur)
        return out

    def _drop_secondary(self, cur: Any) -> None:
        tables = [t.table for t in self.tables]
        cur.execute(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u') ORDER BY contype, conname",
            [tables],
        )
        constraints = cur.fetchall()
        cur.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
            " WHERE i.indrelid = ANY(%s::regclass[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
            " WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')) ORDER BY 1",
            [tables],
        )
        indexes = cur.fetchall()
        # Rows inserted earlier in this transaction (villages) have deferred foreign-key checks queued, and
        # PostgreSQL refuses ALTER TABLE on a table with pending trigger events: run the checks now.
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, name, _, _ in constraints:  # foreign keys first ('f' < 'u')
            cur.execute(f"ALTER TABLE {table} DROP CONSTRAINT {self.qn(name)}")
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
        unique = [f"ALTER TABLE {t} ADD CONSTRAINT {self.qn(n)} {d}" for t, n, k, d in constraints if k == "u"]
        foreign = [f"ALTER TABLE {t} ADD CONSTRAINT {self.qn(n)} {d}" for t, n, k, d in constraints if k == "f"]
        self.rebuild = unique + [d for _, d in indexes] + foreign

    def write(self, rows: Rows) -> None:
        """Hand the chunk to the COPY thread, so the server ingests one chunk while this process generates the
        next. The thread uses this transaction's psycopg connection, which nothing else touches meanwhile."""
        if self._thread is None:
            self._raw = connection.connection
            self._wrap = connection.wrap_database_errors  # psycopg errors -> django.db errors, as elsewhere
            self._thread = threading.Thread(target=self._copy_loop, name="synth-copy", daemon=True)
            self._thread.start()
        self._check()
        self._queue.put(rows)

    def _copy_loop(self) -> None:
        try:
            with self._wrap, self._raw.cursor() as cur:
                while (rows := self._queue.get()) is not None:
                    for t, extra, chunk in zip(self.tables, self.extra, rows, strict=True):
                        cols = ", ".join(self.qn(c) for c in t.columns)
                        with cur.copy(f"COPY {self.qn(t.table)} ({cols}) FROM STDIN") as cp:
                            if extra:
                                for r in chunk:
                                    cp.write_row(r + extra)
                            else:
                                for r in chunk:
                                    cp.write_row(r)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread by _check()
            self._error = exc
            while self._queue.get() is not None:  # keep the producer from blocking until it sees the error
                pass

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def drain(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._check()

    def abort(self) -> None:
        if self._thread is not None:
            self._error = self._error or RuntimeError("aborted")
            with contextlib.suppress(BaseException):
                self.drain()

    def finish(self, next_ids: list[int]) -> None:
        self.drain()
        with connection.cursor() as cur:
            if self.rebuild:
                cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
                for sql in self.rebuild:
                    cur.execute(sql)
            for t, nxt in zip(self.tables, next_ids, strict=True):
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id')::regclass, %s, true)", [t.table, nxt - 1]
                )


# --- the run -----------------------------------------------------------------------------------------------


def _chunks(model: PopulationModel, n: int, size: int) -> Iterator[list[SynthHousehold]]:
    it = model.households(n)
    while chunk := list(islice(it, size)):
        yield chunk


def generate(
    *,
    county: str | None = None,
    province: str | None = None,
    households: int,
    seed: int = 1,
    as_of: dt.date = AS_OF,
    workers: int | None = None,
    batch: int = BATCH,
    bulk: bool | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> SynthResult:
    """Synthesize ``households`` households in one county or spread over a province's counties."""
    if households < 1:
        raise SynthError("--households must be at least 1")
    t0 = time.perf_counter()
    counties = target_counties(county=county, province=province)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if households >= POOL_THRESHOLD else 0
    res = SynthResult(counties=counties, seed=seed, as_of=as_of, workers=workers)
    timings = {"plan": 0.0, "generate": 0.0, "seal": 0.0, "rows": 0.0, "write": 0.0, "finish": 0.0, "commit": 0.0}
    pool: ProcessPoolExecutor | None = None
    try:
        with transaction.atomic():
            plan, res.villages_created = build_plan(counties, seed=seed)
            taken: set[str] = set()
            for c in counties:
                taken.update(Person.objects.filter(area_code__startswith=c).values_list("id_number_bi", flat=True))
            is_taken = (lambda v: crypto.blind_index(v, purpose="id_number") in taken) if taken else None
            model = PopulationModel(plan, seed=seed, as_of=as_of, is_taken=is_taken)
            if connection.vendor == "postgresql":
                if bulk is None:
                    bulk = households >= BULK_THRESHOLD and Household.objects.count() <= households
                writer: _Writer = _PgWriter(bulk=bulk)
            else:
                writer = _Writer()
            next_ids = writer.first_ids()
            timings["plan"] = time.perf_counter() - t0
            if workers:
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                           initializer=sealing.init_worker, initargs=(crypto.provider().keys,))  # fmt: skip
            else:
                sealing.use_provider(crypto.provider())
            now = timezone.now()
            pending: deque[tuple[list[SynthHousehold], Future[sealing.Sealed] | sealing.Sealed]] = deque()

            def flush_one() -> None:
                chunk, job = pending.popleft()
                t = time.perf_counter()
                sealed = job.result() if isinstance(job, Future) else job
                timings["seal"] += time.perf_counter() - t  # in-process: done already; pool: waiting
                t = time.perf_counter()
                rows = _rows(chunk, sealed, next_ids, now, as_of)
                timings["rows"] += time.perf_counter() - t
                t = time.perf_counter()
                writer.write(rows)
                timings["write"] += time.perf_counter() - t
                res.households += len(chunk)
                res.persons += len(rows[1])
                if progress:
                    progress(res.households, res.persons, time.perf_counter() - t0)

            try:
                chunks = _chunks(model, households, batch)
                while True:
                    t = time.perf_counter()
                    chunk = next(chunks, None)
                    timings["generate"] += time.perf_counter() - t
                    if chunk is None:
                        break
                    plain = _plain(chunk)
                    if pool is not None:
                        pending.append((chunk, pool.submit(sealing.seal, plain)))
                        if len(pending) > workers + 1:
                            flush_one()
                    else:
                        t = time.perf_counter()
                        pending.append((chunk, sealing.seal(plain)))
                        timings["seal"] += time.perf_counter() - t
                        flush_one()
                while pending:
                    flush_one()
                t = time.perf_counter()
                writer.drain()
                timings["write"] += time.perf_counter() - t
                t = time.perf_counter()
                writer.finish(next_ids)
                timings["finish"] = time.perf_counter() - t
            except BaseException:
                writer.abort()
                raise
            res.seconds = time.perf_counter() - t0
            audit_record(
                action="synth.generate", username="synth", object_type="synth",
                object_area=counties[0] if len(counties) == 1 else (province or ""),
                detail={"households": res.households, "persons": res.persons, "memberships": res.persons,
                        "villages_created": res.villages_created, "seed": seed, "as_of": as_of.isoformat(),
                        "counties": counties, "workers": workers, "seconds": round(res.seconds, 1)},
            )  # fmt: skip
            t_commit = time.perf_counter()
        timings["commit"] = time.perf_counter() - t_commit
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    res.seconds = time.perf_counter() - t0
    res.timings = {k: round(v, 2) for k, v in timings.items()}
    return res
