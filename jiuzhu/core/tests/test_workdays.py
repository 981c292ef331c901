"""Working-day deadlines (core.workdays, `jiuzhu deadline`, `jiuzhu workdays-import`).

Every expected date below is worked out by hand from the State Council notices (国务院办公厅关于部分节假日安排的
通知), written as the comment of its case; the package only confirms them. The schedules used:

2024 (国办发明电〔2023〕7号): 元旦 1-1; 春节 2-10..2-17 off, 2-4 (Sun) and 2-18 (Sun) work; 清明 4-4..4-6 off,
     4-7 (Sun) works; 劳动节 5-1..5-5 off, 4-28 (Sun) and 5-11 (Sat) work; 端午 6-10; 中秋 9-15..9-17 off,
     9-14 (Sat) works; 国庆 10-1..10-7 off, 9-29 (Sun) and 10-12 (Sat) work.
2025 (国办发明电〔2024〕12号): 元旦 1-1; 春节 1-28..2-4 off, 1-26 (Sun) and 2-8 (Sat) work; 清明 4-4..4-6;
     劳动节 5-1..5-5 off, 4-27 (Sun) works; 端午 5-31..6-2; 国庆+中秋 10-1..10-8 off (10-6 中秋),
     9-28 (Sun) and 10-11 (Sat) work.
2026 (国办发明电〔2025〕7号): 元旦 1-1..1-3 off, 1-4 (Sun) works; 春节 2-15..2-23 off, 2-14 (Sat) and 2-28 (Sat)
     work; 清明 4-4..4-6; 劳动节 5-1..5-5 off, 5-9 (Sat) works; 端午 6-19..6-21; 中秋 9-25..9-27;
     国庆 10-1..10-7 off, 9-20 (Sun) and 10-10 (Sat) work.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from jiuzhu.core.management.commands.deadline import Command as DeadlineCommand
from jiuzhu.core.models import AuditEvent, WorkdayOverride
from jiuzhu.core.workdays import (
    PACKAGE_CALENDAR,
    Calendar,
    CalendarUnknown,
    DeadlinePaused,
    add_calendar_days,
    add_working_days,
    add_working_days_or_estimate,
    beyond_known,
    due_date,
    estimate_warning,
    first_day_of_next_month,
    format_day,
    is_workday,
    working_days_between,
)

D = date
PKG = PACKAGE_CALENDAR


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


# --- working days, worked out by hand ------------------------------------------------------------------------

WORKING = [
    # REFERENCE. 2026-01-05 (Mon) not counted; Jan 6-9 = 4, 12-16 = 9, 19-23 = 14, 26-30 = 19, Feb 2-6 = 24,
    # Feb 9-13 = 29, Feb 14 (Sat) is the 春节 make-up working day = 30.
    (D(2026, 1, 5), 30, D(2026, 2, 14)),
    # REFERENCE. 2025-09-26 (Fri); 9-27 Sat off, 9-28 (Sun) make-up = 1, 9-29 = 2, 9-30 = 3; 10-1..10-8 off
    # (国庆 + 中秋 10-6); 10-9 = 4, 10-10 = 5, 10-11 (Sat) make-up = 6, 10-13..10-16 = 7..10.
    (D(2025, 9, 26), 10, D(2025, 10, 16)),
    # 春节 2025: 1-24 (Fri); 1-25 Sat off, 1-26 (Sun) make-up = 1, 1-27 = 2; 1-28..2-4 off; 2-5 = 3, 2-6 = 4,
    # 2-7 = 5.
    (D(2025, 1, 24), 5, D(2025, 2, 7)),
    # 春节 2025: 1-27 (Mon, the last day before the break); 1-28..2-4 off; first working day 2-5 (Wed).
    (D(2025, 1, 27), 1, D(2025, 2, 5)),
    # 春节 2025: 2-5 (Wed); 2-6 = 1, 2-7 = 2, 2-8 (Sat) make-up = 3.
    (D(2025, 2, 5), 3, D(2025, 2, 8)),
    # 春节 2025, 15 working days: 1-20 (Mon); 1-21..1-24 = 4, 1-26 (Sun) = 5, 1-27 = 6; 1-28..2-4 off;
    # 2-5..2-7 = 9, 2-8 (Sat) = 10, 2-10..2-14 = 15.
    (D(2025, 1, 20), 15, D(2025, 2, 14)),
    # 春节 2026: 2-13 (Fri); the next working day is the Saturday make-up day 2-14.
    (D(2026, 2, 13), 1, D(2026, 2, 14)),
    # 春节 2026: 2-13 (Fri); 2-14 (Sat) = 1; 2-15..2-23 off; 2-24 (Tue) = 2.
    (D(2026, 2, 13), 2, D(2026, 2, 24)),
    # 春节 2026: 2-24 (Tue); 2-25 = 1, 2-26 = 2, 2-27 = 3, 2-28 (Sat) make-up = 4.
    (D(2026, 2, 24), 4, D(2026, 2, 28)),
    # 春节 2026: 2-10 (Tue); 2-11..2-13 = 3, 2-14 (Sat) = 4; 2-15..2-23 off; 2-24..2-27 = 8, 2-28 (Sat) = 9;
    # 3-1 Sun off; 3-2 (Mon) = 10.
    (D(2026, 2, 10), 10, D(2026, 3, 2)),
    # 元旦 2025→2026: 12-30 (Tue); 12-31 = 1; 1-1..1-3 off; 1-4 (Sun) make-up = 2; 1-5 (Mon) = 3.
    (D(2025, 12, 30), 3, D(2026, 1, 5)),
    # 元旦 2026: 12-31 (Wed); 1-1..1-3 off; the next working day is the Sunday make-up day 1-4.
    (D(2025, 12, 31), 1, D(2026, 1, 4)),
    # 元旦 2025: 2024-12-31 (Tue); 1-1 (Wed) off; 1-2 (Thu) = 1.
    (D(2024, 12, 31), 1, D(2025, 1, 2)),
    # 国庆 2024: 9-27 (Fri); 9-28 Sat off, 9-29 (Sun) make-up = 1, 9-30 = 2; 10-1..10-7 off; 10-8 (Tue) = 3.
    (D(2024, 9, 27), 3, D(2024, 10, 8)),
    # 国庆 2024: 10-8 (Tue); 10-9..10-11 = 3, 10-12 (Sat) make-up = 4.
    (D(2024, 10, 8), 4, D(2024, 10, 12)),
    # 中秋 2024: 9-12 (Thu); 9-13 = 1, 9-14 (Sat) make-up = 2; 9-15..9-17 off; 9-18 (Wed) = 3.
    (D(2024, 9, 12), 3, D(2024, 9, 18)),
    # 国庆+中秋 2025: 9-30 (Tue); 10-1..10-8 off (10-6 is 中秋 inside the break); 10-9 (Thu) = 1.
    (D(2025, 9, 30), 1, D(2025, 10, 9)),
    # 中秋 2025 as the start: 10-6 (a holiday); 10-7, 10-8 off; 10-9 = 1, 10-10 = 2, 10-11 (Sat) make-up = 3.
    (D(2025, 10, 6), 3, D(2025, 10, 11)),
    # 国庆 2026: 9-18 (Fri); 9-19 Sat off, 9-20 (Sun) make-up = 1, 9-21 (Mon) = 2.
    (D(2026, 9, 18), 2, D(2026, 9, 21)),
    # 中秋 2026: 9-24 (Thu); 9-25 (Fri)..9-27 off; 9-28 (Mon) = 1.
    (D(2026, 9, 24), 1, D(2026, 9, 28)),
    # 国庆 2026: 9-30 (Wed); 10-1..10-7 off; 10-8 = 1, 10-9 = 2, 10-10 (Sat) make-up = 3.
    (D(2026, 9, 30), 3, D(2026, 10, 10)),
    # 中秋 + 国庆 2026: 9-21 (Mon); 9-22..9-24 = 3; 9-25..9-27 off; 9-28..9-30 = 6; 10-1..10-7 off;
    # 10-8, 10-9 = 8, 10-10 (Sat) = 9; 10-11 Sun off; 10-12 (Mon) = 10.
    (D(2026, 9, 21), 10, D(2026, 10, 12)),
    # 清明 2024: 4-3 (Wed); 4-4..4-6 off; 4-7 (Sun) make-up = 1; 4-8 (Mon) = 2.
    (D(2024, 4, 3), 2, D(2024, 4, 8)),
    # 清明 2026: 4-3 (Fri); 4-4..4-6 off (Sat to Mon); 4-7 (Tue) = 1.
    (D(2026, 4, 3), 1, D(2026, 4, 7)),
    # 劳动节 2025: 4-25 (Fri); 4-26 Sat off, 4-27 (Sun) make-up = 1, 4-28 (Mon) = 2.
    (D(2025, 4, 25), 2, D(2025, 4, 28)),
    # 劳动节 2025: 4-30 (Wed); 5-1..5-5 off; 5-6 (Tue) = 1.
    (D(2025, 4, 30), 1, D(2025, 5, 6)),
    # 劳动节 2026: 4-30 (Thu); 5-1..5-5 off; 5-6 = 1, 5-7 = 2, 5-8 = 3, 5-9 (Sat) make-up = 4, 5-10 Sun off,
    # 5-11 (Mon) = 5.
    (D(2026, 4, 30), 5, D(2026, 5, 11)),
    # 端午 2024: 6-7 (Fri); 6-8, 6-9 weekend, 6-10 (Mon) 端午 off; 6-11 (Tue) = 1.
    (D(2024, 6, 7), 1, D(2024, 6, 11)),
    # 端午 2025: 5-30 (Fri); 5-31..6-2 off; 6-3 (Tue) = 1.
    (D(2025, 5, 30), 1, D(2025, 6, 3)),
    # 端午 2026: 6-18 (Thu); 6-19 (Fri)..6-21 off; 6-22 (Mon) = 1.
    (D(2026, 6, 18), 1, D(2026, 6, 22)),
]


@pytest.mark.parametrize(("start", "n", "expected"), WORKING, ids=[f"{s}+{n}" for s, n, _ in WORKING])
def test_add_working_days_by_hand(start, n, expected):
    assert add_working_days(start, n, calendar=PKG) == expected
    assert due_date(start, n, calendar=PKG) == expected
    assert add_working_days_or_estimate(start, n, calendar=PKG) == (expected, False)
    # "已用 X 个工作日" on the due date is exactly n, and one day earlier n - 1.
    assert working_days_between(start, expected, calendar=PKG) == n
    assert working_days_between(start, expected - timedelta(days=1), calendar=PKG) == n - 1


def test_hand_worked_dates_agree_with_the_package():
    # The literal dates above are not derived from the code under test; the package confirms them.
    for start, n, expected in WORKING:
        d, k = start, 0
        while k < n:
            d += timedelta(days=1)
            k += chinese_calendar.is_workday(d)
        assert d == expected, (start, n)


def test_make_up_days_and_holidays():
    assert is_workday(D(2026, 2, 14), calendar=PKG)  # Saturday make-up day (春节)
    assert is_workday(D(2026, 1, 4), calendar=PKG)  # Sunday make-up day (元旦)
    assert not is_workday(D(2026, 2, 16), calendar=PKG)  # Monday in 春节
    assert not is_workday(D(2025, 10, 6), calendar=PKG)  # 中秋 inside 国庆
    assert not is_workday(D(2026, 3, 1), calendar=PKG)  # ordinary Sunday
    assert is_workday(D(2026, 3, 2), calendar=PKG)


def test_every_known_day_matches_the_package():
    d = D(2004, 1, 1)
    while d.year <= 2026:
        assert is_workday(d, calendar=PKG) == chinese_calendar.is_workday(d), d
        d += timedelta(days=1)


@settings(max_examples=200, deadline=None, database=None)
@given(st.dates(D(2004, 1, 1), D(2026, 10, 1)), st.integers(1, 60))
def test_due_date_is_a_working_day_with_n_used(start, n):
    due = add_working_days(start, n, calendar=PKG)
    assert is_workday(due, calendar=PKG) and due > start
    assert working_days_between(start, due, calendar=PKG) == n


def test_bad_arguments():
    with pytest.raises(ValueError):
        add_working_days(D(2026, 1, 5), 0, calendar=PKG)
    with pytest.raises(TypeError):  # a datetime would silently miss the holiday tables
        add_working_days(datetime(2026, 1, 5, 9), 3, calendar=PKG)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        add_working_days(D(2026, 1, 5), 3, paused=[(D(2026, 1, 9), D(2026, 1, 8))], calendar=PKG)
    assert working_days_between(D(2026, 1, 9), D(2026, 1, 5), calendar=PKG) == 0


# --- calendar days and months ------------------------------------------------------------------------------------


def test_publicity_calendar_days_across_a_holiday():
    # 公示 7 days posted 2026-02-12: runs 2-13 … 2-19; the holidays (2-15..2-23) count, the end is not moved.
    assert add_calendar_days(D(2026, 2, 12), 7) == D(2026, 2, 19)
    # Posted 2025-09-28 (a Sunday make-up day): 9-29 … 10-5, inside 国庆.
    assert add_calendar_days(D(2025, 9, 28), 7) == D(2025, 10, 5)
    # Across the year end: 2025-12-29 → 2026-01-05.
    assert add_calendar_days(D(2025, 12, 29), 7) == D(2026, 1, 5)
    # Calendar days need no holiday schedule at all.
    assert add_calendar_days(D(2030, 2, 25), 7) == D(2030, 3, 4)
    with pytest.raises(ValueError):
        add_calendar_days(D(2026, 1, 1), -1)


def test_first_day_of_next_month():
    assert first_day_of_next_month(D(2025, 12, 15)) == D(2026, 1, 1)  # December → January
    assert first_day_of_next_month(D(2026, 12, 31)) == D(2027, 1, 1)
    assert first_day_of_next_month(D(2026, 1, 31)) == D(2026, 2, 1)
    assert first_day_of_next_month(D(2024, 2, 29)) == D(2024, 3, 1)  # leap day
    assert first_day_of_next_month(D(2026, 2, 1)) == D(2026, 3, 1)


# --- pauses (补正) -----------------------------------------------------------------------------------------------


def test_one_closed_pause():
    # 2026-03-02 (Mon), 10 working days, 补正 notice 3-5, materials arrive 3-10: 3-3 = 1, 3-4 = 2; 3-5, 3-6,
    # 3-9 paused (3-7/3-8 weekend); 3-10 (arrival day counts) = 3, 3-11..3-13 = 6, 3-16..3-19 = 10.
    pause = [(D(2026, 3, 5), D(2026, 3, 10))]
    assert add_working_days(D(2026, 3, 2), 10, paused=pause, calendar=PKG) == D(2026, 3, 19)
    # Without the pause: 3-3..3-6 = 4, 3-9..3-13 = 9, 3-16 = 10.
    assert add_working_days(D(2026, 3, 2), 10, calendar=PKG) == D(2026, 3, 16)
    assert working_days_between(D(2026, 3, 2), D(2026, 3, 19), paused=pause, calendar=PKG) == 10
    assert working_days_between(D(2026, 3, 2), D(2026, 3, 9), paused=pause, calendar=PKG) == 2


def test_two_pauses_around_national_day():
    # 2025-09-22 (Mon), 12 working days; pauses [9-24, 9-26) and [10-9, 10-11).
    # 9-23 = 1; 9-24, 9-25 paused; 9-26 = 2; 9-27 Sat off; 9-28 (Sun make-up) = 3; 9-29, 9-30 = 5;
    # 10-1..10-8 off; 10-9, 10-10 paused; 10-11 (Sat make-up, arrival day) = 6; 10-12 Sun off;
    # 10-13..10-17 = 11; 10-20 (Mon) = 12.
    pauses = [(D(2025, 9, 24), D(2025, 9, 26)), (D(2025, 10, 9), D(2025, 10, 11))]
    assert add_working_days(D(2025, 9, 22), 12, paused=pauses, calendar=PKG) == D(2025, 10, 20)
    assert working_days_between(D(2025, 9, 22), D(2025, 10, 11), paused=pauses, calendar=PKG) == 6


def test_pause_that_starts_on_a_holiday():
    # 2026-01-26 (Mon), 20 working days, 补正 notice dated 2-16 (春节), materials 2-26.
    # 1-27..1-30 = 4, 2-2..2-6 = 9, 2-9..2-13 = 14, 2-14 (Sat make-up) = 15; 2-15 holiday; 2-16..2-25 paused
    # (costs 2-24 and 2-25, the holidays cost nothing); 2-26, 2-27 = 17, 2-28 (Sat make-up) = 18;
    # 3-1 Sun off; 3-2, 3-3 = 20.
    pause = [(D(2026, 2, 16), D(2026, 2, 26))]
    assert add_working_days(D(2026, 1, 26), 20, paused=pause, calendar=PKG) == D(2026, 3, 3)
    # Without the pause 2-24..2-27 = 19 and 2-28 = 20.
    assert add_working_days(D(2026, 1, 26), 20, calendar=PKG) == D(2026, 2, 28)
    # A pause entirely inside the holiday (2-16 .. arrival 2-23, still a holiday) changes nothing:
    # 2-13 (Fri) + 2 = 2-14 (Sat) = 1, 2-24 (Tue) = 2, as without the pause.
    assert add_working_days(D(2026, 2, 13), 2, paused=[(D(2026, 2, 16), D(2026, 2, 23))], calendar=PKG) == D(2026, 2, 24)


def test_open_pause():
    # 2026-03-02 (Mon), 10 working days, 补正 notice 3-5, no materials yet: 3-3, 3-4 counted, then stopped.
    pause = [(D(2026, 3, 5), None)]
    with pytest.raises(DeadlinePaused) as exc:
        add_working_days(D(2026, 3, 2), 10, paused=pause, calendar=PKG)
    assert exc.value.since == D(2026, 3, 5) and exc.value.used == 2
    assert "2026-03-05" in str(exc.value) and "已用2个工作日" in str(exc.value)
    assert due_date(D(2026, 3, 2), 10, paused=pause, calendar=PKG) is None
    with pytest.raises(DeadlinePaused):
        add_working_days_or_estimate(D(2026, 3, 2), 10, paused=pause, calendar=PKG)
    # "已用 X 个工作日" while paused: the days after the notice do not count.
    assert working_days_between(D(2026, 3, 2), D(2026, 3, 20), paused=pause, calendar=PKG) == 2
    # An open pause after the due date does not move it: 3-3, 3-4, 3-5 = 3 before the 3-10 notice.
    assert due_date(D(2026, 3, 2), 3, paused=[(D(2026, 3, 10), None)], calendar=PKG) == D(2026, 3, 5)


# --- years nobody knows, overrides, estimates -------------------------------------------------------------------

# HYPOTHETICAL 2027 rows for the tests (2027's notice is not out): 元旦 2027-01-01 (Fri) off.
NEW_YEAR_2027 = {D(2027, 1, 1): False}


def test_unknown_year_raises_without_override():
    assert beyond_known(D(2027, 1, 4), calendar=PKG) and not beyond_known(D(2026, 12, 31), calendar=PKG)
    assert beyond_known(D(2003, 12, 31), calendar=PKG)
    with pytest.raises(CalendarUnknown) as exc:
        is_workday(D(2027, 1, 4), calendar=PKG)
    assert exc.value.year == 2027 and isinstance(exc.value, ValueError)
    assert str(exc.value).startswith("2027年的法定节假日安排尚未录入")
    # 2026-12-30 (Wed) + 3: 12-31 (Thu) = 1, then 2027 — never a silent fallback.
    with pytest.raises(CalendarUnknown):
        add_working_days(D(2026, 12, 30), 3, calendar=PKG)
    with pytest.raises(CalendarUnknown):
        due_date(D(2026, 12, 30), 3, calendar=PKG)
    with pytest.raises(CalendarUnknown):
        working_days_between(D(2026, 12, 30), D(2027, 1, 4), calendar=PKG)


def test_estimate_flags_unknown_year():
    # Monday–Friday estimate: 12-31 = 1, 2027-01-01 (Fri, really 元旦 off but unknown) = 2, 1-4 (Mon) = 3.
    assert add_working_days_or_estimate(D(2026, 12, 30), 3, calendar=PKG) == (D(2027, 1, 4), True)
    assert estimate_warning(2027) == "按周一至周五估算，2027年节假日安排未录入"
    # Within a known year the estimate is the real date, unflagged.
    assert add_working_days_or_estimate(D(2026, 12, 30), 1, calendar=PKG) == (D(2026, 12, 31), False)


def test_override_without_database():
    cal = Calendar(NEW_YEAR_2027, {D(2027, 1, 1): "2027年元旦"})
    assert not beyond_known(D(2027, 6, 1), calendar=cal)
    # 2026-12-30 + 3: 12-31 (Thu) = 1; 1-1 (Fri) override off; 1-2, 1-3 weekend; 1-4 (Mon) = 2; 1-5 (Tue) = 3.
    assert add_working_days(D(2026, 12, 30), 3, calendar=cal) == D(2027, 1, 5)
    assert add_working_days_or_estimate(D(2026, 12, 30), 3, calendar=cal) == (D(2027, 1, 5), False)
    assert format_day(D(2027, 1, 1), calendar=cal) == "2027-01-01 星期五（2027年元旦假期）"
    # 2028 is still unknown.
    with pytest.raises(CalendarUnknown) as exc:
        is_workday(D(2028, 1, 3), calendar=cal)
    assert exc.value.year == 2028
    # An override also wins over the package (a correction).
    assert is_workday(D(2026, 2, 23), calendar=Calendar({D(2026, 2, 23): True}))


def test_format_day():
    assert format_day(D(2026, 2, 14), calendar=PKG) == "2026-02-14 星期六（调休上班）"
    assert format_day(D(2026, 2, 16), calendar=PKG) == "2026-02-16 星期一（春节假期）"
    assert format_day(D(2025, 10, 6), calendar=PKG) == "2025-10-06 星期一（中秋节假期）"
    assert format_day(D(2026, 3, 1), calendar=PKG) == "2026-03-01 星期日（休息日）"
    assert format_day(D(2026, 3, 2), calendar=PKG) == "2026-03-02 星期一"
    assert format_day(D(2027, 1, 4), calendar=PKG) == "2027-01-04 星期一（节假日安排未录入）"


@pytest.mark.django_db
def test_override_table_makes_2027_computable(tmp_path):
    assert beyond_known(D(2027, 1, 4))
    with pytest.raises(CalendarUnknown):
        add_working_days(D(2026, 12, 30), 3)
    WorkdayOverride.objects.create(date=D(2027, 1, 1), is_workday=False, name="2027年元旦", source="test")
    # Same hand count as test_override_without_database, the table read by the functions themselves.
    assert not beyond_known(D(2027, 1, 4))
    assert not is_workday(D(2027, 1, 1)) and is_workday(D(2027, 1, 4))
    assert add_working_days(D(2026, 12, 30), 3) == D(2027, 1, 5)
    assert working_days_between(D(2026, 12, 30), D(2027, 1, 5)) == 3


@pytest.mark.django_db
def test_calendar_load_is_one_query(django_assert_num_queries):
    WorkdayOverride.objects.create(date=D(2027, 1, 1), is_workday=False, name="2027年元旦", source="test")
    # 2026-12-10 (Thu) + 20: 12-11 = 1, 12-14..12-18 = 6, 12-21..12-25 = 11, 12-28..12-31 = 15; 2027-01-01
    # off (override), 1-2/1-3 weekend; 1-4..1-8 = 20. One query for the whole count, not one per day.
    with django_assert_num_queries(1):
        assert add_working_days(D(2026, 12, 10), 20) == D(2027, 1, 8)


# --- workdays-import -----------------------------------------------------------------------------------------------

GOOD_CSV = (
    "date,is_workday,name,source\n"
    "2027-01-01,0,2027年元旦,测试用假设数据\n"
    "2027-01-09,是,2027年元旦调休,测试用假设数据\n"
)


@pytest.mark.django_db
def test_workdays_import_all_or_nothing_and_idempotent(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,is_workday,name,source\n"
        "2027-01-01,0,2027年元旦,测试\n"
        "2027-02-30,0,2027年春节,测试\n"
        "2027-02-08,maybe,,测试\n"
        "2027-01-01,1,重复,\n",
        encoding="utf-8",
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="未导入任何数据"):
        call_command("workdays_import", str(bad), stderr=err)
    text = err.getvalue()
    assert "第3行 date 列" in text and "2027-02-30" in text
    assert "第4行 is_workday 列" in text and "第4行 name 列：不能为空" in text
    assert "第5行 date 列：2027-01-01 与第2行重复" in text and "第5行 source 列：不能为空" in text
    assert not WorkdayOverride.objects.exists()

    missing = tmp_path / "missing.csv"
    missing.write_text("date,is_workday,name\n2027-01-01,0,x\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("workdays_import", str(missing), stderr=io.StringIO())

    good = tmp_path / "good.csv"
    good.write_text(GOOD_CSV, encoding="utf-8")
    out = io.StringIO()
    call_command("workdays_import", str(good), stdout=out)
    assert "新增 2 条，更新 0 条，未变 0 条" in out.getvalue()
    rows = {o.date: o for o in WorkdayOverride.objects.all()}
    assert not rows[D(2027, 1, 1)].is_workday and rows[D(2027, 1, 9)].is_workday
    assert rows[D(2027, 1, 9)].name == "2027年元旦调休"
    audits = AuditEvent.objects.filter(action="core.workdays.import").count()
    stamps = {o.date: o.created_at for o in WorkdayOverride.objects.all()}

    out = io.StringIO()
    call_command("workdays_import", str(good), stdout=out)  # the same file again: nothing changes
    assert "新增 0 条，更新 0 条，未变 2 条" in out.getvalue()
    assert {o.date: o.created_at for o in WorkdayOverride.objects.all()} == stamps
    assert AuditEvent.objects.filter(action="core.workdays.import").count() == audits == 1

    # The imported make-up Saturday 2027-01-09 counts: 2027-01-08 (Fri) + 1 = 1-9 (Sat).
    assert add_working_days(D(2027, 1, 8), 1) == D(2027, 1, 9)


# --- jiuzhu deadline -------------------------------------------------------------------------------------------------


def run_deadline(*args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("deadline", *args, stdout=out, stderr=err)
    except CommandError as exc:
        code, err = exc.returncode, io.StringIO(str(exc))
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_cli_working_and_calendar_days():
    assert run_deadline("2026-01-05", "30", "working") == (0, "2026-02-14 星期六（调休上班）\n", "")
    assert run_deadline("2025-09-26", "10", "working") == (0, "2025-10-16 星期四\n", "")
    # 公示 7 calendar days from 2026-02-12 ends 2-19, a 春节 holiday (not moved).
    assert run_deadline("2026-02-12", "7", "calendar") == (0, "2026-02-19 星期四（春节假期）\n", "")
    # See test_one_closed_pause and test_two_pauses_around_national_day.
    assert run_deadline("2026-03-02", "10", "working", "--pause", "2026-03-05:2026-03-10")[:2] == (0, "2026-03-19 星期四\n")
    assert run_deadline("2025-09-22", "12", "working", "--pause", "2025-09-24:2025-09-26",
                        "--pause", "2025-10-09:2025-10-11")[:2] == (0, "2025-10-20 星期一\n")


@pytest.mark.django_db
def test_cli_open_pause_and_unknown_year():
    code, out, _ = run_deadline("2026-03-02", "10", "working", "--pause", "2026-03-05:")
    assert code == 4 and "2026-03-05" in out and "已用2个工作日" in out
    code, out, err = run_deadline("2026-12-30", "3", "working")
    assert code == 3 and out == "2027-01-04 星期一（节假日安排未录入）\n"
    assert "按周一至周五估算，2027年节假日安排未录入" in err
    WorkdayOverride.objects.create(date=D(2027, 1, 1), is_workday=False, name="2027年元旦", source="test")
    assert run_deadline("2026-12-30", "3", "working") == (0, "2027-01-05 星期二\n", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2026-02-30", "3", "working"), "不是有效日期"),
        (("20260105", "3", "working"), "不是有效日期"),
        (("2026-01-05", "three", "working"), "不是整数"),
        (("2026-01-05", "0", "working"), "至少为 1"),
        (("2026-01-05", "-1", "calendar"), "不能为负数"),
        (("2026-01-05", "99999", "working"), "不能超过"),
        (("2026-01-05", "3", "weekdays"), "working"),
        (("2026-01-05", "3", "working", "--pause", "2026-01-06"), "START:END"),
        (("2026-01-05", "3", "working", "--pause", "2026-01-09:2026-01-06"), "早于"),
        (("2026-01-05", "3", "calendar", "--pause", "2026-01-06:2026-01-07"), "只适用于工作日"),
    ],
)
@pytest.mark.django_db
def test_cli_bad_input_exits_2(args, message):
    code, out, err = run_deadline(*args)
    assert code == 2 and out == "" and message in err


def test_cli_help_documents_the_convention():
    text = DeadlineCommand().create_parser("jiuzhu", "deadline").format_help()
    assert "is not counted" in text and "START <= day < END" in text and "Exit codes" in text
    assert "2026-02-14 星期六（调休上班）" in text


def test_cli_exit_code_from_the_shell(tmp_path):
    env = {**os.environ, "JIUZHU_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    p = subprocess.run([sys.executable, "-m", "jiuzhu.cli", "deadline", "2026-02-30", "3", "working"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == "" and "起算日期“2026-02-30”不是有效日期" in p.stderr
