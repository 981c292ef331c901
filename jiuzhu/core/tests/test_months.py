import datetime as dt

from jiuzhu.core.months import add_months, first_of, months_before, next_month, same_day_months_later

D = dt.date


def test_months_are_first_days_and_cross_years():
    assert first_of(D(2026, 3, 13)) == D(2026, 3, 1)
    assert add_months(D(2026, 11, 30), 2) == D(2027, 1, 1)
    assert add_months(D(2026, 1, 31), -1) == D(2025, 12, 1)
    assert next_month(D(2026, 12, 31)) == D(2027, 1, 1)
    assert months_before(D(2025, 12, 15), 12) == D(2024, 12, 1) and months_before(D(2025, 12, 15), 3) == D(2025, 9, 1)


def test_same_day_months_later_is_clipped_to_short_months():
    assert same_day_months_later(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert same_day_months_later(D(2028, 1, 31), 1) == D(2028, 2, 29)
    assert same_day_months_later(D(2026, 3, 13), 3) == D(2026, 6, 13)
    assert same_day_months_later(D(2026, 3, 31), -1) == D(2026, 2, 28)
