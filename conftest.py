"""Project-wide pytest setup: a throw-away key file (keys never come from the repository) and the test
database from DATABASE_URL (SQLite by default, PostgreSQL in CI)."""

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

import pytest  # noqa: E402


@pytest.fixture
def personas(db):
    from jiuzhu.testing.fixtures import make_personas

    return make_personas()


@pytest.fixture
def tree(db):
    from jiuzhu.testing.fixtures import load_tree

    load_tree()
