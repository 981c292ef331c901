"""Project-wide fixtures. Environment set-up is in jiuzhu/testing/plugin.py (it must run before Django loads)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request leaves its language active in the thread (LocaleMiddleware never deactivates), so a test that
    asks for an English page would leave English to every later test in the process — which, in random order,
    then fails on Chinese messages. Every test ends back on the default language."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture
def personas(db):
    from jiuzhu.testing.fixtures import make_personas

    return make_personas()


@pytest.fixture
def tree(db):
    from jiuzhu.testing.fixtures import load_tree

    load_tree()
