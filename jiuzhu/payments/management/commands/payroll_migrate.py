"""``jiuzhu payroll-migrate --area CODE [--start YYYY-MM] [--dry-run]``: entitlements for the recipients the registry
marks as receiving 低保 or 特困 before the platform (移交存量对象), so the monthly payroll pays them
(``payments.services.entitlements_from_registry``; idempotent). Prints the counts as JSON."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiuzhu.core.models import Division

AREA = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}")


class Command(BaseCommand):
    help = ("Entitlements for current 低保 and 特困 recipients recorded in the registry without a decision on the "
            "platform (idempotent). The first month paid is the month after the registry's as-of date, or --start.")  # fmt: skip

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--area", required=True, metavar="CODE", help="division code (county, township, village)")
        parser.add_argument("--start", metavar="YYYY-MM", help="first month paid, for every migrated entitlement")
        parser.add_argument("--dry-run", action="store_true", help="count, write nothing")

    def handle(self, *args: Any, area: str, start: str | None, dry_run: bool, **options: Any) -> None:
        from jiuzhu.payments.services import entitlements_from_registry

        area = (area or "").strip()
        if not AREA.fullmatch(area) or not Division.objects.filter(code=area).exists():
            raise CommandError(f"--area: unknown division code {area!r}")
        month = None
        if start:
            try:
                month = dt.date.fromisoformat(f"{start}-01")
            except ValueError as exc:
                raise CommandError(f"--start: expected YYYY-MM, got {start!r}") from exc
        counts = entitlements_from_registry(area, None, start=month, dry_run=dry_run)
        self.stdout.write(json.dumps({"area": area, "dry_run": dry_run, **counts}, ensure_ascii=False))
