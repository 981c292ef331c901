"""The ``jiuzhu`` command: every management command, with hyphens allowed (``jiuzhu demo-accounts --json``).

``jiuzhu serve`` runs the production WSGI server (waitress) — no Django development server."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiuzhu.settings")
    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["jiuzhu", *args])


if __name__ == "__main__":
    main()
