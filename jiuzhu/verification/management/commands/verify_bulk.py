"""``jiuzhu verify-bulk --area CODE [--date YYYY-MM-DD] [--programme dibao]``: re-verify, as one job, every
household of the area that receives 低保 now or has an open case (``verification.bulk``)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from jiuzhu.cases.models import Programme
from jiuzhu.core.models import Division

from ...bulk import ENGINES, run_bulk

AREA = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}")
BAR = 30


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, one line per tenth otherwise."""

    def __init__(self, stream: Any):  # a command's OutputWrapper
        self.stream, self.tty = stream, stream.isatty()
        self.t0, self.last = time.perf_counter(), -1

    def __call__(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        tenth = int(frac * 10)
        if not self.tty and tenth == self.last and done < total:
            return
        self.last = tenth
        filled = int(frac * BAR)
        line = (f"[{'#' * filled}{'.' * (BAR - filled)}] {frac:4.0%} {done:,}/{total:,} 户 "
                f"{time.perf_counter() - self.t0:.1f} s")  # fmt: skip
        self.stream.write(("\r" + line) if self.tty else line + "\n", ending="")
        if self.tty and done >= total:
            self.stream.write("\n", ending="")
        self.stream.flush()


class Command(BaseCommand):
    help = ("Bulk re-verification (动态管理): every household of the area that receives 低保 now or has an open "
            "case, against the stored departmental records, as one job; a VerificationRun per household. "
            "Prints the counts as JSON; a progress bar goes to stderr.")  # fmt: skip

    def add_arguments(self, parser):
        parser.add_argument("--area", required=True, metavar="CODE", help="division code (county, township, village)")
        parser.add_argument("--date", metavar="YYYY-MM-DD", help="the day the picture is assessed for (default today)")
        parser.add_argument("--programme", default="dibao", choices=[p for p in Programme.values if p != "help"])
        parser.add_argument("--engine", default="duckdb", choices=ENGINES, help=argparse.SUPPRESS)  # tests, checks

    def handle(self, *args, area, date, programme, engine, **options):
        area = (area or "").strip()
        if not AREA.fullmatch(area) or not Division.objects.filter(code=area).exists():
            raise CommandError(f"--area: unknown division code {area!r}")
        try:
            on = dt.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        bar = Progress(self.stderr)
        counts = run_bulk(area_code=area, on=on, programme=programme, engine=engine, progress=bar)
        self.stdout.write(json.dumps(counts, ensure_ascii=False))
