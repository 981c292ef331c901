from __future__ import annotations

import os

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the site with waitress, a production WSGI server; static files are served by the same process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "16")))

    def handle(self, *args, host, port, threads, **options):
        from waitress import serve

        from jiuzhu.core.staticapp import with_static
        from jiuzhu.wsgi import application

        self.stdout.write(f"jiuzhu serving on http://{host}:{port}/ (threads={threads})")
        from django.conf import settings

        # Refuse oversized uploads at the server, before Django spools them to disk (SECURITY FILE-UP).
        max_body = settings.IMPORT_MAX_BYTES + 1024 * 1024
        serve(with_static(application), host=host, port=port, threads=threads, ident="jiuzhu",
              connection_limit=200, channel_timeout=60, max_request_body_size=max_body)
