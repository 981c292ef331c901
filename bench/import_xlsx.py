"""Benchmark (not a test): the registry import end to end against calamine reading the same file alone.

    .venv/bin/python bench/import_xlsx.py --size 100000

Builds an N-row workbook in the township layout (one row per person, households of 1–6, ~2.85 persons
each, valid and unique ID numbers) in a throw-away SQLite database (or DATABASE_URL), then times
(a) ``importers.import_file`` — hostile-file check, hashing, read, validation of every row, encryption
    and blind indexes, the all-or-nothing write with change records and the audit event — and
(b) calamine reading the sheet alone.
The last line of output is JSON: {"rows": …, "households": …, "import_s": …, "read_only_s": …}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
GIVEN = "建国华明丽芳军伟秀英兰桂珍玉梅红霞平刚强勇杰涛斌超磊鹏飞燕娟敏静婷雪慧"
RELATIONS = ["配偶", "子", "女", "父母", "孙子女", "兄弟姐妹"]


def _setup(tmp: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiuzhu.settings")
    os.environ["JIUZHU_VAR_DIR"] = str(tmp / "var")
    os.environ["JIUZHU_MODE"] = "demo"
    os.environ["JIUZHU_KEY_FILE"] = str(tmp / "keys.json")
    os.environ["JIUZHU_JOBS_INLINE"] = "1"
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_workbook(path: Path, size: int, villages: list[str], seed: int = 1) -> int:
    """Writes `size` person rows; returns the number of households."""
    from openpyxl import Workbook

    from jiuzhu.core import idnumber
    from jiuzhu.registry.importers import COLUMNS

    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("家庭成员")
    ws.append([c.header for c in COLUMNS])
    county = villages[0][:6]
    used: set[str] = set()

    def new_id(birth_year: int) -> str:
        while True:
            birth = dt.date(birth_year, 1, 1) + dt.timedelta(days=rng.randrange(365))
            value = idnumber.make(county, birth, rng.randrange(1000))
            if value not in used:
                used.add(value)
                return value

    def name() -> str:
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))

    rows = households = 0
    while rows < size:
        households += 1
        n = min(size - rows, rng.choices([1, 2, 3, 4, 5, 6], weights=[17, 27, 25, 18, 9, 4])[0])
        village = rng.choice(villages)
        for i in range(n):
            head = i == 0
            ws.append([
                str(households), village, "农村" if village[9:] >= "200" else "城市", f"{rng.randint(1, 9)}组{rng.randint(1, 80)}号" if head else "",
                name(), new_id(rng.randint(1935, 1985) if head else rng.randint(1940, 2020)),
                "户主" if head else rng.choice(RELATIONS), f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if head else "",
                "", "", "是" if rng.random() < 0.05 else "否", "", "有劳动能力", "生活能自理",
                "农村信用社" if head else "", f"62284800{rng.randrange(10**11):011d}" if head else "",
            ])  # fmt: skip
            rows += 1
    wb.save(path)
    return households


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="person rows (default 100000)")
    parser.add_argument("--keep", action="store_true", help="keep the workbook and database")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jiuzhu-bench-import-"))
    _setup(tmp)

    import python_calamine

    from jiuzhu.accounts.roles import Role
    from jiuzhu.core.divisions import generate_villages, known_county_codes
    from jiuzhu.registry import importers
    from jiuzhu.registry.models import Household, Person
    from jiuzhu.testing.fixtures import COUNTY, load_tree, make_user, villages

    load_tree()
    generate_villages(COUNTY, per_township=12, seed=3)
    known_county_codes.cache_clear()
    user = make_user("bench_importer", Role.CASEWORKER, COUNTY)
    vs = villages(COUNTY)
    path = tmp / "bench_import.xlsx"
    t0 = time.perf_counter()
    households = build_workbook(path, args.size, vs)
    print(f"built {path.name}: {args.size} rows, {households} households, {path.stat().st_size / 1e6:.1f} MB "
          f"in {time.perf_counter() - t0:.1f} s", file=sys.stderr)  # fmt: skip

    t0 = time.perf_counter()
    with python_calamine.CalamineWorkbook.from_path(str(path)) as wb:
        data = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    read_only = time.perf_counter() - t0
    assert len(data) == args.size + 1

    phases: dict[str, float] = {}
    real_validate, real_write = importers.validate, importers.write

    def timed(name, fn):  # type: ignore[no-untyped-def]
        def wrapper(*a, **kw):  # type: ignore[no-untyped-def]
            start = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                phases[name] = round(time.perf_counter() - start, 2)

        return wrapper

    importers.validate, importers.write = timed("validate_s", real_validate), timed("write_s", real_write)
    t0, c0 = time.perf_counter(), time.process_time()
    job = importers.import_file(actor=user, path=path)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    importers.validate, importers.write = real_validate, real_write
    if job.status != "succeeded":
        print(job.message, job.errors[:5], file=sys.stderr)
        sys.exit(1)
    assert Person.objects.count() == args.size and Household.objects.count() == households
    from django.db import connection

    print(f"phases: {phases}, import CPU {cpu:.1f} s, load average {os.getloadavg()[0]:.1f}, "
          f"database: {connection.vendor}", file=sys.stderr)  # fmt: skip
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"rows": args.size, "households": households, "import_s": round(elapsed, 2),
                      "read_only_s": round(read_only, 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
