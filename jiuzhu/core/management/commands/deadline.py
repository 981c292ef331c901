from __future__ import annotations

import argparse
import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter
from django.db import DatabaseError
from django.utils.translation import gettext as _

from jiuzhu.core.workdays import (
    Calendar,
    DeadlinePaused,
    add_calendar_days,
    add_working_days_or_estimate,
    estimate_warning,
    format_day,
)

BAD_INPUT, ESTIMATED, PAUSED = 2, 3, 4
MAX_DAYS = 3660
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class Command(BaseCommand):
    help = """Due date of a deadline counted from START (docs/deadlines.md).

The day of the event (START) is not counted: N working days is the N-th working day after START
(State Council holiday schedule, make-up weekend days are working days); N calendar days is START + N
(a 公示 posted on 2026-02-10 for 7 days ends on 2026-02-17, holidays included).

--pause START:END (repeatable, working days only) stops the clock for the days START <= day < END: the day
the 补正 notice is issued does not count, the day the materials arrive does. 'START:' is a pause still open.

Exit codes: 0 due date printed; 2 bad input; 3 the count reaches a year whose holiday schedule is not
loaded (package or `jiuzhu workdays-import`): a Monday-Friday estimate is printed, the warning goes to
stderr; 4 an open pause stops the clock (no due date yet).

Example: jiuzhu deadline 2026-01-05 30 working  ->  2026-02-14 星期六（调休上班）"""

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("start", metavar="YYYY-MM-DD", help="the day of the event (not counted)")
        parser.add_argument("n", metavar="N", help=f"number of days: working 1..{MAX_DAYS}, calendar 0..{MAX_DAYS}")
        parser.add_argument("kind", metavar="working|calendar", help="working days or calendar days")
        parser.add_argument(
            "--pause", action="append", default=[], metavar="START:END",
            help="补正 pause [START, END); END empty while the materials are still missing",
        )

    def handle(self, *args, start, n, kind, pause, **options):
        day = _parse_date(start, _("起算日期"))
        count = _parse_count(n)
        if kind not in ("working", "calendar"):
            raise CommandError(_("期限类型应为 working（工作日）或 calendar（自然日），而不是“%(kind)s”") % {"kind": kind},
                               returncode=BAD_INPUT)
        pauses = [_parse_pause(p) for p in pause]
        if kind == "calendar" and pauses:
            raise CommandError(_("--pause 只适用于工作日期限"), returncode=BAD_INPUT)
        if kind == "calendar" and count < 0:
            raise CommandError(_("天数不能为负数"), returncode=BAD_INPUT)
        if kind == "working" and count < 1:
            raise CommandError(_("工作日数至少为 1"), returncode=BAD_INPUT)
        try:
            calendar = Calendar.load()
        except DatabaseError as exc:
            raise CommandError(_("无法读取节假日补充表（是否已运行 jiuzhu migrate？）：%(error)s") % {"error": exc}) from exc

        if kind == "calendar":
            self.stdout.write(format_day(add_calendar_days(day, count), calendar=calendar))
            return
        try:
            due, estimated = add_working_days_or_estimate(day, count, paused=pauses, calendar=calendar)
        except DeadlinePaused as exc:
            self.stdout.write(str(exc))
            raise SystemExit(PAUSED) from exc
        self.stdout.write(format_day(due, calendar=calendar))
        if estimated:
            self.stderr.write(_("警告：%(warning)s，结果仅供参考。") % {"warning": estimate_warning(due.year)})
            raise SystemExit(ESTIMATED)


def _parse_date(text: str, what: str) -> date:
    try:
        if not ISO_DATE.fullmatch(text.strip()):
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(_("%(what)s“%(text)s”不是有效日期，应为 YYYY-MM-DD，例如 2026-01-05")
                           % {"what": what, "text": text}, returncode=BAD_INPUT) from None


def _parse_count(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise CommandError(_("天数“%(text)s”不是整数") % {"text": text}, returncode=BAD_INPUT) from None
    if value > MAX_DAYS:
        raise CommandError(_("天数不能超过 %(max)d") % {"max": MAX_DAYS}, returncode=BAD_INPUT)
    return value


def _parse_pause(text: str) -> tuple[date, date | None]:
    first, sep, second = text.partition(":")
    if not sep:
        raise CommandError(_("--pause 应为 START:END（END 留空表示尚未补齐），而不是“%(text)s”") % {"text": text},
                           returncode=BAD_INPUT)
    begin = _parse_date(first, _("暂停开始日期"))
    end = _parse_date(second, _("暂停结束日期")) if second.strip() else None
    if end is not None and end < begin:
        raise CommandError(_("暂停 %(text)s 的结束日期早于开始日期") % {"text": text}, returncode=BAD_INPUT)
    return begin, end
