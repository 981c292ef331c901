"""Browser tests: Playwright for Python driving the system Chromium (never a downloaded browser).

A missing /usr/bin/chromium is a failure, not a skip: CI installs it (.ci/run)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jiuzhu.testing.fixtures import PASSWORD

CHROMIUM = os.environ.get("JIUZHU_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("JIUZHU_TEST_ARTIFACTS", "test-artifacts"))
# Playwright's sync API runs an event loop in this thread; the Django ORM calls made by the tests themselves
# (fixtures, assertions) are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium fonts-noto-cjk)")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    ctx = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    external: list[str] = []
    pg.on("request", lambda r: external.append(r.url) if not r.url.startswith(live_server.url) and not r.url.startswith("data:") else None)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield pg
    # SECURITY PRIV-LOCAL: no request leaves the site; no script errors (CSP violations show up here too)
    ARTIFACTS.mkdir(exist_ok=True)
    ctx.close()
    assert external == [], f"requests to other origins: {external}"
    assert errors == [], f"browser errors: {errors}"


def login(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


@pytest.fixture
def session(browser, live_server) -> Iterator[Any]:
    """open(username) → a logged-in page of its own browser context; no foreign requests, no browser errors."""
    opened: list[tuple[Any, list[str], list[str]]] = []

    def open_(username: str | None) -> Any:
        ctx = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1280, "height": 900})
        pg = ctx.new_page()
        external: list[str] = []
        errors: list[str] = []
        pg.on("request", lambda r: external.append(r.url) if not r.url.startswith(live_server.url) and not r.url.startswith("data:") else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        opened.append((ctx, external, errors))
        if username:
            pg.goto("/login/")
            pg.fill("input[name=username]", username)
            pg.fill("input[name=password]", PASSWORD)
            pg.click("button[type=submit]")
            pg.wait_for_load_state()
        return pg

    yield open_
    ARTIFACTS.mkdir(exist_ok=True)
    for ctx, external, errors in opened:
        ctx.close()
        assert external == [], f"requests to other origins: {external}"
        assert errors == [], f"browser errors: {errors}"
