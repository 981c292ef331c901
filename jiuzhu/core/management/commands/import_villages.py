from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from jiuzhu.core.audit import audit_record
from jiuzhu.core.divisions import VillageImportError, import_villages


class Command(BaseCommand):
    help = "Import an official village list (CSV: code,name,urban_rural_class). All rows are checked first; nothing is written if any is wrong."

    def add_arguments(self, parser):
        parser.add_argument("csv_path")

    def handle(self, *args, csv_path, **options):
        try:
            n = import_villages(csv_path)
        except VillageImportError as exc:
            for e in exc.errors:
                self.stderr.write(e)
            raise CommandError(f"{len(exc.errors)} error(s); nothing imported") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {csv_path}: {exc}") from exc
        audit_record(action="core.villages.import", username="cli", detail={"rows": n, "file": str(csv_path)[-100:]})
        self.stdout.write(f"villages imported or updated: {n}")
