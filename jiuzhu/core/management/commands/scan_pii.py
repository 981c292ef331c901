from __future__ import annotations

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from jiuzhu.core.pii_scan import dump_database, scan_lines


class Command(BaseCommand):
    help = "Dump the database and scan it for plaintext ID numbers, card numbers and mobile numbers (expect 0)."

    def handle(self, *args, **options):
        findings = scan_lines(dump_database(), "dump")
        counts = Counter(f.kind for f in findings)
        for f in findings[:20]:
            self.stderr.write(f"{f.where}: {f.kind} {f.value_masked}")
        if findings:
            raise CommandError(f"plaintext personal numbers found: {dict(counts)}")
        self.stdout.write("0 plaintext ID numbers, card numbers or phone numbers in the database dump")
