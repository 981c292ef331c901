"""``jiuzhu synth --county 610902 --households 20000 --seed 1`` (or ``--province 61``): a synthetic population."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from jiuzhu.synth.generator import AS_OF
from jiuzhu.synth.load import BATCH, SynthError, generate


class Command(BaseCommand):
    help = "Generate synthetic households (is_synthetic=True) in a county or spread over a province's counties."

    def add_arguments(self, parser):
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--county", help="6-digit county code, e.g. 610902 (汉滨区)")
        where.add_argument("--province", help="2-digit province code, e.g. 61: households spread over its counties")
        parser.add_argument("--households", type=int, default=20000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--as-of", default=AS_OF.isoformat(), help="reference date for ages (YYYY-MM-DD)")
        parser.add_argument("--workers", type=int, default=None,
                            help="encryption processes (default: 2 from 50,000 households, else 0 = in-process)")
        parser.add_argument("--batch", type=int, default=BATCH)

    def handle(self, *args, county, province, households, seed, as_of, workers, batch, **options):
        try:
            as_of_date = dt.date.fromisoformat(as_of)
        except ValueError as exc:
            raise CommandError(f"--as-of: {exc}") from exc
        verbose = options["verbosity"] >= 1
        step = max(batch, households // 10)
        marks = {"next": step}

        def progress(done: int, persons: int, elapsed: float) -> None:
            if verbose and (done >= marks["next"] or done == households):
                marks["next"] += step
                self.stdout.write(f"  {done:,} households, {persons:,} persons, {elapsed:.1f} s")

        try:
            res = generate(county=county, province=province, households=households, seed=seed, as_of=as_of_date,
                           workers=workers, batch=batch, progress=progress)  # fmt: skip
        except SynthError as exc:
            raise CommandError(str(exc)) from exc
        where = county or f"{province} ({len(res.counties)} counties)"
        self.stdout.write(self.style.SUCCESS(
            f"synth: {res.households:,} households, {res.persons:,} persons in {where}, seed {seed}; "
            f"{res.villages_created} villages created; {res.seconds:.1f} s "
            f"({res.households_per_second:,.0f} households/s, workers={res.workers})"
        ))  # fmt: skip
        if verbose:
            self.stdout.write("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in res.timings.items()))
