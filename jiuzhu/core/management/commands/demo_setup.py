"""``jiuzhu demo-setup --households 20000``: everything a demo needs, idempotently (demo mode only).

Schema (``migrate``), the national division tree if the table is empty, synthetic villages for 汉滨区 (610902,
安康市) if it has none, N synthetic households there if it has none yet, the demo accounts, demo cases, and the
county's departmental file drops for the verification (``var/feeds/``, ingested). A second run reuses what exists
and finishes in seconds."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

DEMO_COUNTY = "610902"  # 汉滨区, 安康市, 陕西省


class Command(BaseCommand):
    help = "Demo mode only: migrate, load divisions, synthesize a county (610902 汉滨区) and create the demo accounts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--households", type=int, default=20000)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, households: int, seed: int, **options: Any) -> None:
        if not settings.DEMO_MODE:
            raise CommandError("demo-setup runs only in demo mode (JIUZHU_MODE=demo); it creates published demo "
                               "passwords and synthetic households.")  # fmt: skip
        t0 = time.perf_counter()
        say = self.stdout.write
        # Later commands against this var/ directory (`jiuzhu demo-accounts --json`, `jiuzhu serve`) run in demo
        # mode without JIUZHU_MODE being set again; see settings.py. Production never has this marker.
        marker = settings.VAR_DIR / "DEMO_MODE"
        if not marker.exists():
            marker.write_text("This var/ directory holds a jiuzhu demo (synthetic data, published demo passwords).\n",
                              encoding="utf-8")

        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            call_command("migrate", interactive=False, verbosity=0)
            say(f"schema: applied {len(plan)} migrations")
        else:
            say("schema: up to date")

        # Imported only now: the apps' tables exist from here on.
        from jiuzhu.accounts.demo import ensure_demo_accounts
        from jiuzhu.core.divisions import generate_villages, known_county_codes, load_national
        from jiuzhu.core.models import Division
        from jiuzhu.registry.models import Household, Person
        from jiuzhu.synth.load import generate

        L = Division.Level
        if Division.objects.filter(level=L.PROVINCE).exists():
            say(f"divisions: {Division.objects.count():,} present, reused")
        else:
            say(f"divisions: loaded {load_national():,} (national tree to township level, retired county codes)")
        county = Division.objects.filter(code=DEMO_COUNTY).first()
        if county is None:
            raise CommandError(f"county {DEMO_COUNTY} is missing from the division table")
        villages = Division.objects.filter(level=L.VILLAGE, code__startswith=DEMO_COUNTY).count()
        if villages:
            say(f"villages: {villages} in {DEMO_COUNTY} {county.name}, reused")
        else:
            villages = generate_villages(DEMO_COUNTY)
            known_county_codes.cache_clear()
            say(f"villages: generated {villages} synthetic villages in {DEMO_COUNTY} {county.name}")

        existing = Household.objects.filter(area_code__startswith=DEMO_COUNTY).count()
        if existing:
            persons = Person.objects.filter(area_code__startswith=DEMO_COUNTY).count()
            say(f"households: {existing:,} ({persons:,} persons) in {DEMO_COUNTY}, reused")
        else:
            res = generate(county=DEMO_COUNTY, households=households, seed=seed)
            say(f"households: synthesized {res.households:,} ({res.persons:,} persons, seed {seed}) "
                f"in {res.seconds:.1f} s")  # fmt: skip

        users = ensure_demo_accounts()
        say(f"accounts: {len(users)} demo accounts ready ({', '.join(u.username for u in users)}); "
            "`jiuzhu demo-accounts` lists them with their password")  # fmt: skip
        from jiuzhu.cases.demo import ensure_demo_cases

        made = ensure_demo_cases(DEMO_COUNTY, {u.username: u for u in users})
        say(f"cases: {made} demo requests created, reserve funds topped up" if made else "cases: present, reused")
        from jiuzhu.synth.feeds import ensure_demo_feeds

        # departmental file drops for the 核对 (docs/verification-feeds.md), ingested; reused on a second run
        say(ensure_demo_feeds(DEMO_COUNTY, settings.VAR_DIR / "feeds", seed=seed))
        # 按月发放: the registry's current 低保 and 特困 recipients get their entitlements (docs/payments.md), paid by
        # the platform from this month (the old system paid them until last month: no back-pay owed for the
        # months since the synthetic registry's as-of date)
        from django.utils import timezone

        from jiuzhu.payments.services import entitlements_from_registry

        made_e = entitlements_from_registry(DEMO_COUNTY, None, start=timezone.localdate().replace(day=1))
        say(f"payroll: entitlements migrated from the registry {made_e}" if made_e else "payroll: entitlements present, reused")
        say(self.style.SUCCESS(f"demo-setup done in {time.perf_counter() - t0:.1f} s"))
