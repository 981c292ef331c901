"""A case's legal time limits, derived from its transitions and its 补正 pauses (``procedures.DeadlineRule``).

``recompute`` rebuilds the case's ``Deadline`` rows from scratch on every transition: the transitions are the
truth, the rows are an index for the daily overdue list. Working days follow ``core.workdays`` (holidays,
make-up days, the admin's override table); beyond the known calendar the date is estimated on weekdays and
flagged. A pausable limit (the overall one) has no due date while a deficiency notice is open.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from jiuzhu.core import workdays

from .models import Case, Deadline, MaterialNotice, Transition
from .procedures import DeadlineRule, procedure


@dataclass
class Computed:
    rule: DeadlineRule
    started_on: dt.date
    due_on: dt.date | None
    estimated: bool
    met_on: dt.date | None


def pauses(case: Case) -> list[tuple[dt.date, dt.date | None]]:
    return [(n.issued_on, n.supplied_on) for n in MaterialNotice.objects.filter(case=case).order_by("issued_on")]


def compute(case: Case, transitions: list[Transition], setting: Any, *,
            calendar: workdays.Calendar | None = None) -> list[Computed]:  # fmt: skip
    cal = calendar or workdays.Calendar.load()
    paused = pauses(case)
    out: list[Computed] = []
    for rule in procedure(case.programme).deadlines:
        starts = [t for t in transitions if t.action in rule.start]
        if not starts:
            continue
        start = starts[0] if rule.first else starts[-1]
        met = next((t for t in transitions if t.pk > start.pk and t.action in rule.met), None)
        days = rule.days(case, setting) if callable(rule.days) else rule.days
        due: dt.date | None
        estimated = False
        if rule.unit == "calendar":
            due = workdays.add_calendar_days(start.on, days)
        else:
            try:
                due, estimated = workdays.add_working_days_or_estimate(
                    start.on, days, paused=paused if rule.pausable else (), calendar=cal)
            except workdays.DeadlinePaused:
                due = None
        out.append(Computed(rule, start.on, due, estimated, met.on if met else None))
    return out


def recompute(case: Case, setting: Any) -> None:
    transitions = list(Transition.objects.filter(case=case).order_by("pk"))
    Deadline.objects.filter(case=case).delete()
    Deadline.objects.bulk_create([
        Deadline(case=case, area_code=case.area_code, key=c.rule.key, label=str(c.rule.label),
                 started_on=c.started_on, due_on=c.due_on, estimated=c.estimated, met_on=c.met_on,
                 level=c.rule.level)
        for c in compute(case, transitions, setting)
    ])  # fmt: skip


def status(d: Deadline, today: dt.date, soon_days: int = 3) -> str:
    """met | met_late | overdue | due_soon | open | paused"""
    if d.met_on is not None:
        return "met_late" if d.due_on is not None and d.met_on > d.due_on else "met"
    if d.due_on is None:
        return "paused"
    if d.due_on < today:
        return "overdue"
    if (d.due_on - today).days <= soon_days:
        return "due_soon"
    return "open"
