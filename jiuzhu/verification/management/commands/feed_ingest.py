"""``jiuzhu feed-ingest SOURCE FILE [--dry-run]``: load one departmental file drop (docs/verification-feeds.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from ...ingest import ingest_file, sources_with_layouts
from ...sources import SOURCES

REFUSED = 2


class Command(BaseCommand):
    help = """Load one file drop of a departmental source (家庭经济状况核对) in the source's own column layout
(jiuzhu/verification/feeds/SOURCE.yaml): .csv (UTF-8 or GBK), .xlsx or .parquet. Every row is checked first;
any row error refuses the whole file. Persons not in the registry are reported and not stored. A file
loaded before changes nothing. Exit codes: 0 loaded (or nothing to change); 1 bad arguments; 2 the file was
refused (the messages say why)."""

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", help="one of: " + ", ".join(sources_with_layouts()))
        parser.add_argument("file", help="the file drop (.csv, .xlsx or .parquet)")
        parser.add_argument("--dry-run", action="store_true", help="check and count only, store nothing")
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args: Any, source: str, file: str, dry_run: bool, **options: Any) -> None:
        if source not in SOURCES:
            raise CommandError(_("未知的数据来源“%(s)s”，可用：%(all)s") % {"s": source, "all": ", ".join(SOURCES)})
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("找不到文件：%(f)s") % {"f": file})
        res = ingest_file(source, path, path.name, dry_run=dry_run)
        ff = res.feed
        if options["json"]:
            self.stdout.write(json.dumps({
                "source": source, "outcome": res.outcome, "dry_run": res.dry_run, "feed": ff.pk, "status": ff.status,
                "rows_total": ff.rows_total, "rows_loaded": ff.rows_loaded, "rows_duplicate": ff.rows_duplicate,
                "rows_unknown": ff.rows_unknown, "rows_error": ff.rows_error, "records": res.records,
                "seconds": round(res.seconds, 3), "message": res.message, "errors": ff.errors,
            }, ensure_ascii=False, indent=2))  # fmt: skip
        else:
            self.stdout.write(res.message)
            if res.outcome != "already":
                for line in ff.errors:
                    self.stdout.write(f"  {line}")
                self.stdout.write(_("用时 %(s).1f 秒（每秒 %(r)s 行）") % {"s": res.seconds, "r": f"{res.rows_per_second:,.0f}"})
        if res.outcome == "refused":
            raise CommandError(_("文件已拒绝，未导入任何数据"), returncode=REFUSED)
