from __future__ import annotations

from django.core.management.base import BaseCommand

from jiuzhu.registry.importers import import_cleanup


class Command(BaseCommand):
    help = "Daily housekeeping: fail import jobs lost in a restart, delete leftover uploads and old error reports."

    def handle(self, *args, **options):
        out = import_cleanup()
        self.stdout.write(f"stale jobs failed: {out['stale_jobs']}, uploads deleted: {out['uploads']}, "
                          f"error reports deleted: {out['reports']}")
