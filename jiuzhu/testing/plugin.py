"""Loaded with ``-p jiuzhu.testing.plugin`` (pyproject addopts) so it runs before pytest-django reads the
settings: a throw-away key file and var directory (keys never come from the repository), demo mode, and a
per-run PostgreSQL test database name."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_tmp = Path(tempfile.mkdtemp(prefix="jiuzhu-test-"))
os.environ.setdefault("JIUZHU_VAR_DIR", str(_tmp / "var"))
os.environ.setdefault("JIUZHU_MODE", "demo")
os.environ["JIUZHU_KEY_FILE"] = str(_tmp / "keys.json")
os.environ.setdefault("TEST_DB_NAME", f"test_jiuzhu_{os.getpid()}")

from jiuzhu.core.crypto import ensure_key_file  # noqa: E402

ensure_key_file(os.environ["JIUZHU_KEY_FILE"])
