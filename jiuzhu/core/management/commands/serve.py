from __future__ import annotations

import os

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the site with waitress (a production WSGI server; static files through WhiteNoise-free handler)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "16")))

    def handle(self, *args, host, port, threads, **options):
        from waitress import serve

        from jiuzhu.core.staticapp import with_static
        from jiuzhu.wsgi import application

        self.stdout.write(f"jiuzhu serving on http://{host}:{port}/ (threads={threads})")
        serve(with_static(application), host=host, port=port, threads=threads, ident="jiuzhu",
              connection_limit=200, channel_timeout=60)
