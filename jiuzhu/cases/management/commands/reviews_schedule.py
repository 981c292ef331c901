"""``jiuzhu reviews-schedule --area CODE [--date YYYY-MM-DD] [--json]``: generate the 动态管理 review tasks of an
area (``cases.dynamic.schedule_reviews``): one open scheduled review per paying 低保/特困 entitlement, yearly or
half-yearly by class, and the re-assessment reviews of deaths the registry knows of. Idempotent: run it from cron
as often as you like. docs/dynamic-management.md."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ...dynamic import schedule_reviews

AREA = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}")


class Command(BaseCommand):
    help = ("Generate the 动态管理 review tasks of an area (yearly for stable 低保 households and every 特困 person, "
            "half-yearly for unstable income; death re-assessments within 3 months). Idempotent.")  # fmt: skip

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--area", required=True, help="division code (2, 4, 6, 9 or 12 digits)")
        parser.add_argument("--date", help="the day to schedule as of (default: today)")
        parser.add_argument("--json", action="store_true", help="print the counts as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        area = opts["area"].strip()
        if not AREA.fullmatch(area):
            raise CommandError("--area must be a division code of 2, 4, 6, 9 or 12 digits", returncode=2)
        try:
            on = dt.date.fromisoformat(opts["date"]) if opts.get("date") else timezone.localdate()
        except ValueError as e:
            raise CommandError("--date must be YYYY-MM-DD", returncode=2) from e
        counts = schedule_reviews(area, on)
        if opts["json"]:
            self.stdout.write(json.dumps({"area": area, "date": on.isoformat(), **counts}))
        else:
            self.stdout.write(f"{area} {on.isoformat()}: {counts['created']} new review(s), {counts['open']} still open, "
                              f"{counts['deaths']} death re-assessment(s)")  # fmt: skip
