"""Serve /static/ from the app directories without a separate web server (a county PC runs one process).

Files are looked up through Django's staticfiles finders at start-up, so no ``collectstatic`` step is needed."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders

Start = Callable[..., Any]


def with_static(app: Callable[[dict[str, Any], Start], Iterable[bytes]]):
    prefix = settings.STATIC_URL
    cache: dict[str, Path | None] = {}

    def wrapped(environ: dict[str, Any], start_response: Start) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(prefix):
            return app(environ, start_response)
        rel = path[len(prefix):]
        if rel not in cache:
            found = finders.find(rel) if ".." not in rel else None
            cache[rel] = Path(found) if isinstance(found, str) else None
        file = cache[rel]
        if file is None or not file.is_file():
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        ctype = mimetypes.guess_type(str(file))[0] or "application/octet-stream"
        data = file.read_bytes()
        start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(data))),
                                  ("Cache-Control", "public, max-age=3600"), ("X-Content-Type-Options", "nosniff")])
        return [data]

    return wrapped
