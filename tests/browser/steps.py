"""Steps the browser journeys share."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from jiuzhu.cases.models import Case


def do(pg: Page, case: Case, action: str, fields: dict[str, Any] | None = None, *, expect_state: str | None = None) -> None:
    """Open the case page, click the action's button, fill its form, submit, and land back on the case page."""
    pg.goto(f"/cases/{case.pk}/")
    pg.click(f"[data-testid=action-{action}]")
    pg.wait_for_url(re.compile(rf"/cases/{case.pk}/act/{action}/$"))
    for name, value in (fields or {}).items():
        loc = pg.locator(f"[name={name}]")
        if isinstance(value, bool):
            loc.set_checked(value)
        elif isinstance(value, list):
            for v in value:
                pg.locator(f"[name={name}][value={v}]").check()
        elif loc.first.evaluate("e => e.tagName") == "SELECT":
            loc.select_option(str(value))
        else:
            loc.fill(str(value))
    pg.click("[data-testid=submit]")
    pg.wait_for_load_state()
    if not re.search(rf"/cases/{case.pk}/$", pg.url):
        errors = pg.locator("[data-testid=form-errors], .invalid-feedback").all_inner_texts()
        raise AssertionError(f"{action} was refused: {errors}")
    if expect_state:
        expect(pg.locator("[data-testid=case-state]")).to_have_attribute("data-state", expect_state)


def download(pg: Page, testid: str) -> tuple[str, bytes]:
    """Click the download link ``testid``: the file's suggested name and its bytes."""
    with pg.expect_download() as info:
        pg.click(f"[data-testid={testid}]")
    d = info.value
    return d.suggested_filename, Path(d.path()).read_bytes()


def wait_for_payroll_threads() -> None:
    """Let the pages' payroll threads (generation, 调标 review) finish before the test reads the database."""
    for t in threading.enumerate():
        if t.name.startswith("payroll-"):
            t.join(timeout=60)
