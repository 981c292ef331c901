"""Project-wide fixtures. Environment set-up is in jiuzhu/testing/plugin.py (it must run before Django loads)."""

from __future__ import annotations

import pytest


@pytest.fixture
def personas(db):
    from jiuzhu.testing.fixtures import make_personas

    return make_personas()


@pytest.fixture
def tree(db):
    from jiuzhu.testing.fixtures import load_tree

    load_tree()
