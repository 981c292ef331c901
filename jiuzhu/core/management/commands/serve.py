from __future__ import annotations

import os
import signal
import socket
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Serve the site with waitress, a production WSGI server; static files are served by the same process. "
            "--workers N (Linux) pre-forks N processes on one socket so that a multi-core machine is used.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "16")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "1")))

    def handle(self, *args, host, port, threads, workers, **options):
        from django.conf import settings
        from django.db import connections
        from waitress import serve

        from jiuzhu.core.staticapp import with_static
        from jiuzhu.wsgi import application

        app = with_static(application)
        # Load the policy packs and build the rules system now (about a second), not in the first user's request.
        from jiuzhu.policy.system import tax_benefit_system
        from jiuzhu.policyadmin.store import shipped

        shipped()
        tax_benefit_system()
        # Refuse oversized uploads at the server, before Django spools them to disk (SECURITY FILE-UP).
        opts = {"threads": threads, "ident": "jiuzhu", "connection_limit": 200, "channel_timeout": 60,
                "max_request_body_size": settings.IMPORT_MAX_BYTES + 1024 * 1024}
        self.stdout.write(f"jiuzhu serving on http://{host}:{port}/ (workers={workers}, threads={threads})")
        self.stdout.flush()
        if workers <= 1 or not hasattr(os, "fork"):
            serve(app, host=host, port=port, **opts)
            return
        # Pre-fork: one listening socket, N processes accepting on it (the GIL limits one process to one core).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        connections.close_all()  # never share a database connection across fork
        children = []
        for _ in range(workers):
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
                try:
                    serve(app, sockets=[sock], **opts)
                finally:
                    os._exit(0)
            children.append(pid)

        def stop(*_):
            for pid in children:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

        signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
        signal.signal(signal.SIGINT, lambda *_: (stop(), sys.exit(0)))
        try:
            for pid in children:
                os.waitpid(pid, 0)
        finally:
            stop()
