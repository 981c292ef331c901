"""Month arithmetic on dates, in one place. A *month* is represented by its first day (how payroll, entitlements,
feeds and parameters store months); ``same_day_months_later`` is for due dates that keep their day."""

from __future__ import annotations

import calendar
import datetime as dt


def first_of(d: dt.date) -> dt.date:
    """The month of ``d``: its first day."""
    return d.replace(day=1)


def add_months(d: dt.date, n: int) -> dt.date:
    """The month ``n`` months after the month of ``d`` (``n`` may be negative), as its first day."""
    m = d.year * 12 + d.month - 1 + n
    return dt.date(m // 12, m % 12 + 1, 1)


def next_month(d: dt.date) -> dt.date:
    """The month after the month of ``d`` (a benefit stopped on ``d`` is not paid from then)."""
    return add_months(d, 1)


def months_before(d: dt.date, n: int) -> dt.date:
    """The month ``n`` months before the month of ``d`` (a lookback's first month)."""
    return add_months(d, -n)


def same_day_months_later(d: dt.date, n: int) -> dt.date:
    """The same day ``n`` months later, clipped to the last day of a shorter month (31 Jan + 1 → 28/29 Feb)."""
    m = add_months(d, n)
    return m.replace(day=min(d.day, calendar.monthrange(m.year, m.month)[1]))
