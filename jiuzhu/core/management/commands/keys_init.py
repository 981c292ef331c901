from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from jiuzhu.core.crypto import ensure_key_file


class Command(BaseCommand):
    help = "Create the key file (SM4 data key, blind-index and audit HMAC keys) outside the database."

    def add_arguments(self, parser):
        parser.add_argument("--path", default=settings.JIUZHU_KEY_FILE)

    def handle(self, *args, path, **options):
        p = Path(path)
        if p.exists():
            raise CommandError(f"{p} already exists; refusing to overwrite keys (data would become unreadable)")
        ensure_key_file(p)
        self.stdout.write(f"created {p} (mode 600). Back it up separately from the database.")
