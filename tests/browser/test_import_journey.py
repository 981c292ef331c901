"""Acceptance 6, second journey: import a workbook with errors → see every error by row and column → download
the error report → nothing imported → fix → import → households appear."""

from __future__ import annotations

import re

import openpyxl
import pytest

from jiuzhu.registry.importers import COLUMNS
from jiuzhu.registry.models import Household, Person
from jiuzhu.testing.fixtures import PASSWORD, TOWN_A, make_personas, new_id, villages

from .conftest import ARTIFACTS, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
HEADERS = [c.header for c in COLUMNS]


def workbook(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for r in rows:
        ws.append([r.get(h, "") for h in HEADERS])
    wb.save(path)
    return path


def rows_for(village, *, broken: bool):
    good_head, spouse, other = new_id(), new_id(), new_id()
    bad_id = good_head[:-1] + ("0" if good_head[-1] != "0" else "1")
    return [
        {"户编号": "1", "村(社区)代码": village, "姓名": "王大山", "身份证号": bad_id if broken else good_head,
         "与户主关系": "户主", "开户银行": "农村信用社", "银行账号": "6228480402564890018", "城乡类别": "农村"},
        {"户编号": "1", "姓名": "李小梅", "身份证号": spouse, "与户主关系": "配偶"},
        {"户编号": "2", "村(社区)代码": village, "姓名": "赵铁柱", "身份证号": other,
         "与户主关系": "子" if broken else "户主"},
    ]


def test_import_with_errors_then_fixed(page, settings, tmp_path):
    settings.JIUZHU_JOBS_INLINE = True  # the live server's in-memory SQLite is not visible to other threads
    make_personas()
    village = villages(TOWN_A)[0]
    bad = workbook(tmp_path / "township-errors.xlsx", rows_for(village, broken=True))

    login(page, "cw_a", PASSWORD)
    page.wait_for_url(re.compile(r"/households/"))
    page.goto("/import/")
    page.set_input_files("#import-file", str(bad))
    page.click("[data-testid=import-submit]")
    page.wait_for_url(re.compile(r"/import/\d+/$"))
    page.locator("[data-testid=job-errors]").wait_for()
    errors = page.locator("[data-testid=job-errors]").inner_text()
    assert "身份证号" in errors and "校验位" in errors       # row 2, column 身份证号
    assert re.search(r"\b2\b", errors)
    assert "户主" in errors                                   # household 2 has no head
    assert Household.objects.count() == 0 and Person.objects.count() == 0

    with page.expect_download() as dl:
        page.click("[data-testid=error-report]")
    report = tmp_path / "report.xlsx"
    dl.value.save_as(report)
    ws = openpyxl.load_workbook(report).active
    all_text = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    assert "校验位" in all_text and "错误说明" in all_text
    page.screenshot(path=str(ARTIFACTS / "import-errors.png"), full_page=True)

    good = workbook(tmp_path / "township-fixed.xlsx", rows_for(village, broken=False))
    page.goto("/import/")
    page.set_input_files("#import-file", str(good))
    page.click("[data-testid=import-submit]")
    page.wait_for_url(re.compile(r"/import/\d+/$"))
    page.locator("[data-testid=job-counts]").wait_for()
    assert page.locator("[data-testid=job-state]").inner_text() in ("完成", "succeeded")
    assert Household.objects.count() == 2 and Person.objects.count() == 3
    page.get_by_role("link", name="查看家庭户").click()
    page.get_by_text("王大山").first.wait_for()
