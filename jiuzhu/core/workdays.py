"""Chinese working days for legal deadlines (法定期限): the State Council's holiday schedule (国务院办公厅
关于部分节假日安排的通知) from the ``chinesecalendar`` package, extended and corrected by ``WorkdayOverride``
rows an administrator imports (``jiuzhu workdays-import``) for a year the package does not know yet.

Conventions (docs/deadlines.md):

* **The day of the event is not counted** (民法典 第二百零一条). ``add_working_days(start, n)`` is the n-th
  working day *after* ``start``; ``add_calendar_days(start, 7)`` is ``start + 7 days``: a 公示 posted on
  2026-02-10 runs 2-11 … 2-17, and 2-17 is its last day.
* **Pauses** (补正: the applicant supplies missing materials) are half-open ``[pause_start, pause_end)``: the
  day the notice is issued does not count, the day the materials arrive counts again (if it is a working
  day). ``pause_end=None`` means the materials have not arrived: the clock is stopped.
  ``add_working_days`` raises ``DeadlinePaused`` when it runs into an open pause, ``due_date`` returns ``None``,
  ``working_days_between`` simply stops counting at the pause (that is the "已用 X 个工作日" of a paused case).
* **Unknown years never fall back silently.** A year is known when the package covers it (2004–2026 for
  1.11.0) or when at least one ``WorkdayOverride`` row lies in it (the notice is imported as a whole; in such a
  year a day without a row is a working day from Monday to Friday). Any other day raises ``CalendarUnknown``.
  ``add_working_days_or_estimate`` is the only function that counts Monday–Friday in an unknown year, and it
  says so (``estimated=True``; show ``estimate_warning(year)`` next to the date).

Every function takes a ``calendar``: pass a ``Calendar`` (``Calendar.load()`` reads the override table once,
``Calendar()`` or ``PACKAGE_CALENDAR`` uses the package alone, ``Calendar({date: is_workday})`` takes overrides
from the caller without the database). Without one, the function loads the table itself: one query per call,
never one per day."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

from chinese_calendar.constants import holidays as _PKG_HOLIDAYS
from chinese_calendar.constants import workdays as _PKG_WORKDAYS
from django.utils.translation import gettext as _

__all__ = [
    "PACKAGE_CALENDAR",
    "PACKAGE_YEARS",
    "Calendar",
    "CalendarUnknown",
    "DeadlinePaused",
    "add_calendar_days",
    "add_working_days",
    "add_working_days_or_estimate",
    "beyond_known",
    "day_label",
    "due_date",
    "estimate_warning",
    "first_day_of_next_month",
    "format_day",
    "is_workday",
    "weekday_name",
    "working_days_between",
]

ONE_DAY = timedelta(days=1)
# Years the installed chinesecalendar covers (its own functions raise NotImplementedError outside them).
PACKAGE_YEARS = range(min(_PKG_HOLIDAYS).year, max(_PKG_HOLIDAYS).year + 1)

Pause = tuple[date, date | None]


class CalendarUnknown(ValueError):
    """Neither the package nor the override table has the holiday schedule of ``year``."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            _("%(year)d年的法定节假日安排尚未录入：请在国务院办公厅发布当年节假日安排通知后，"
              "由管理员用 jiuzhu workdays-import 导入，再计算期限。") % {"year": year}
        )


class DeadlinePaused(ValueError):
    """The deadline cannot be computed: the clock stopped on ``since`` (an open 补正 pause) after ``used``
    working days had been counted."""

    def __init__(self, since: date, used: int) -> None:
        self.since = since
        self.used = used
        super().__init__(
            _("期限自%(since)s起因补正暂停（材料尚未补齐），暂停前已用%(used)d个工作日。")
            % {"since": since.isoformat(), "used": used}
        )


def _check_date(d: object, what: str = "date") -> date:
    # A datetime is a date subclass but never equal to one: the holiday lookups would silently miss. Callers
    # convert with timezone.localdate() (the local day, not the UTC one).
    if isinstance(d, datetime) or not isinstance(d, date):
        raise TypeError(f"{what} must be a datetime.date (use timezone.localdate()), got {type(d).__name__}")
    return d


class Calendar:
    """The package's schedule plus override days (``date -> is_workday``, with optional names for labels)."""

    __slots__ = ("_names", "_override_years", "_overrides")

    def __init__(self, overrides: Mapping[date, bool] | None = None, names: Mapping[date, str] | None = None) -> None:
        self._overrides: dict[date, bool] = {_check_date(d): bool(w) for d, w in (overrides or {}).items()}
        self._names: dict[date, str] = dict(names or {})
        self._override_years: frozenset[int] = frozenset(d.year for d in self._overrides)

    @classmethod
    def load(cls) -> Calendar:
        """All ``WorkdayOverride`` rows, in one query."""
        from jiuzhu.core.models import WorkdayOverride

        rows = list(WorkdayOverride.objects.values_list("date", "is_workday", "name"))
        return cls({d: w for d, w, _n in rows}, {d: n for d, _w, n in rows})

    def __repr__(self) -> str:
        return f"Calendar({len(self._overrides)} overrides, years {sorted(self._override_years)})"

    def knows(self, d: date) -> bool:
        return d.year in PACKAGE_YEARS or d.year in self._override_years

    def is_workday(self, d: date) -> bool:
        """Override first, then the package; Monday–Friday in a year known only from overrides."""
        w = self._overrides.get(d)
        if w is not None:
            return w
        if d.year in PACKAGE_YEARS:
            return d in _PKG_WORKDAYS or (d.weekday() < 5 and d not in _PKG_HOLIDAYS)
        if d.year in self._override_years:
            return d.weekday() < 5
        raise CalendarUnknown(d.year)

    def _is_workday_or_estimate(self, d: date) -> tuple[bool, bool]:
        if self.knows(d):
            return self.is_workday(d), False
        return d.weekday() < 5, True

    def holiday_name(self, d: date) -> str:
        """The holiday (or make-up day) a schedule entry belongs to, in the interface language; '' if none."""
        if d in self._overrides:
            return self._names.get(d, "")
        name = _PKG_HOLIDAYS.get(d) or _PKG_WORKDAYS.get(d)
        return _holiday_names().get(name, name) if name else ""


PACKAGE_CALENDAR = Calendar()


def _holiday_names() -> dict[str, str]:
    # The package names holidays in English; these are the names of the State Council notices.
    return {
        "New Year's Day": _("元旦"),
        "Spring Festival": _("春节"),
        "Tomb-sweeping Day": _("清明节"),
        "Labour Day": _("劳动节"),
        "Dragon Boat Festival": _("端午节"),
        "Mid-autumn Festival": _("中秋节"),
        "National Day": _("国庆节"),
        "Anti-Fascist 70th Day": _("抗战胜利70周年纪念日"),
    }


def _cal(calendar: Calendar | None) -> Calendar:
    return calendar if calendar is not None else Calendar.load()


def _pauses(paused: Iterable[Pause]) -> list[Pause]:
    out: list[Pause] = []
    for start, end in paused:
        _check_date(start, "pause start")
        if end is not None:
            _check_date(end, "pause end")
            if end < start:
                raise ValueError(f"pause ends ({end}) before it starts ({start})")
        out.append((start, end))
    return out


def _paused_at(d: date, pauses: list[Pause]) -> Pause | None:
    for p in pauses:
        if p[0] <= d and (p[1] is None or d < p[1]):
            return p
    return None


def _count(start: date, n: int, paused: Iterable[Pause], calendar: Calendar | None, estimate: bool) -> tuple[date, bool]:
    _check_date(start, "start")
    if n < 1:
        raise ValueError(f"n must be at least 1 working day, got {n}")
    cal, pauses = _cal(calendar), _pauses(paused)
    d, counted, estimated = start, 0, False
    while counted < n:
        d += ONE_DAY
        p = _paused_at(d, pauses)
        if p is not None:
            if p[1] is None:
                raise DeadlinePaused(since=p[0], used=counted)
            continue
        if estimate:
            work, guessed = cal._is_workday_or_estimate(d)
            estimated = estimated or guessed
        else:
            work = cal.is_workday(d)
        counted += work
    return d, estimated


def is_workday(d: date, *, calendar: Calendar | None = None) -> bool:
    """Whether ``d`` is a working day. Raises ``CalendarUnknown`` for a year nobody knows."""
    return _cal(calendar).is_workday(_check_date(d))


def beyond_known(d: date, *, calendar: Calendar | None = None) -> bool:
    """True if neither the package nor the override table knows the holiday schedule of ``d``'s year."""
    return not _cal(calendar).knows(_check_date(d))


def add_working_days(
    start: date, n: int, *, paused: Iterable[Pause] = (), calendar: Calendar | None = None
) -> date:
    """The n-th working day after ``start`` (``start`` itself is not counted; n ≥ 1), skipping the days inside
    the ``[pause_start, pause_end)`` intervals. Raises ``DeadlinePaused`` if the count reaches an open pause
    (``pause_end=None``) and ``CalendarUnknown`` if it reaches a year nobody knows."""
    return _count(start, n, paused, calendar, estimate=False)[0]


def due_date(
    start: date, n: int, *, paused: Iterable[Pause] = (), calendar: Calendar | None = None
) -> date | None:
    """``add_working_days``, but ``None`` while an open pause stops the clock (``CalendarUnknown`` still raises)."""
    try:
        return add_working_days(start, n, paused=paused, calendar=calendar)
    except DeadlinePaused:
        return None


def add_working_days_or_estimate(
    start: date, n: int, *, paused: Iterable[Pause] = (), calendar: Calendar | None = None
) -> tuple[date, bool]:
    """``add_working_days`` that counts Monday–Friday in years nobody knows instead of raising; the flag is True
    when it had to. Show the date with ``estimate_warning(result.year)``. Open pauses still raise."""
    return _count(start, n, paused, calendar, estimate=True)


def estimate_warning(year: int) -> str:
    """The warning to show next to an estimated date."""
    return _("按周一至周五估算，%(year)d年节假日安排未录入") % {"year": year}


def working_days_between(
    a: date, b: date, *, paused: Iterable[Pause] = (), calendar: Calendar | None = None
) -> int:
    """Working days after ``a`` up to and including ``b``, not counting paused days (an open pause stops the count
    at its start); 0 if ``b <= a``. ``working_days_between(s, add_working_days(s, n)) == n``."""
    _check_date(a, "a")
    _check_date(b, "b")
    cal, pauses = _cal(calendar), _pauses(paused)
    d, used = a, 0
    while d < b:
        d += ONE_DAY
        if _paused_at(d, pauses) is None:
            used += cal.is_workday(d)
    return used


def add_calendar_days(start: date, n: int) -> date:
    """``start + n`` days (n ≥ 0): the last day of an n-day period that begins the day after ``start``. Holidays
    count and the end is not moved off a holiday (公示期 7 days posted on 2-10 ends on 2-17)."""
    _check_date(start, "start")
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    return start + timedelta(days=n)


def first_day_of_next_month(d: date) -> date:
    """The 1st of the month after ``d`` (December → January of the next year)."""
    _check_date(d)
    return date(d.year + 1, 1, 1) if d.month == 12 else date(d.year, d.month + 1, 1)


def weekday_name(d: date) -> str:
    names = (_("星期一"), _("星期二"), _("星期三"), _("星期四"), _("星期五"), _("星期六"), _("星期日"))
    return names[d.weekday()]


def day_label(d: date, *, calendar: Calendar | None = None) -> str:
    """What kind of day ``d`` is, for display: '调休上班' (a weekend working day), '春节假期', '休息日',
    '节假日安排未录入', or '' for an ordinary Monday–Friday working day."""
    cal = _cal(calendar)
    _check_date(d)
    if not cal.knows(d):
        return _("节假日安排未录入")
    weekend = d.weekday() >= 5
    name = cal.holiday_name(d)
    if cal.is_workday(d):
        return _("调休上班") if weekend else ""
    if name:
        return _("%(name)s假期") % {"name": name}
    return _("休息日") if weekend else _("放假")


def format_day(d: date, *, calendar: Calendar | None = None) -> str:
    """``2026-02-14 星期六（调休上班）``."""
    label = day_label(d, calendar=calendar)
    text = f"{d.isoformat()} {weekday_name(d)}"
    return _("%(day)s（%(label)s）") % {"day": text, "label": label} if label else text
