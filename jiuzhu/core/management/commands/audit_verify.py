from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from jiuzhu.core.audit import verify_chain
from jiuzhu.core.models import AuditChainHead


class Command(BaseCommand):
    help = "Verify the audit log hash chain (HMAC-SM3): detects updated, deleted, inserted, reordered and truncated rows."

    def handle(self, *args, **options):
        problems = verify_chain()
        head = AuditChainHead.objects.filter(id=1).first()
        n = head.last_seq if head else 0
        if problems:
            for p in problems[:50]:
                self.stderr.write(f"seq {p.seq if p.seq is not None else '-'}: {p.kind}: {p.message}")
            raise CommandError(f"audit chain BROKEN: {len(problems)} problem(s)")
        self.stdout.write(f"audit chain OK: {n} events")
