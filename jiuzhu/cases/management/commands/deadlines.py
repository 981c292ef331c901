"""``jiuzhu deadlines``: the daily list of overdue and due-soon case deadlines, by township and officer (the same
selection as the 办理时限 page, ``selectors.due_items``). docs/deadlines.md."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from collections import defaultdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter
from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext as _

from jiuzhu.core.masking import mask_name
from jiuzhu.core.models import Division

from ...models import Deadline, Programme
from ...selectors import MAX_ITEMS, MAX_SOON_DAYS, due_items

BAD_INPUT = 2
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
AREA = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}")


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


class Command(BaseCommand):
    help = """Overdue and due-soon case deadlines, grouped by township, then by the officer who holds the case
(docs/deadlines.md). The same selection as the 办理时限 page: open deadlines of open cases that are overdue or
due within --days calendar days. Applicant names are masked; --json prints one JSON document for other tools.

Run it every working morning from cron, e.g.  30 7 * * 1-5  jiuzhu deadlines --days 3

Exit codes: 0 the list is printed (also when it is empty); 1 the database cannot be read; 2 bad input."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--date", metavar="YYYY-MM-DD", help="the day the list is for (default today)")
        parser.add_argument("--days", metavar="N", default="3",
                            help=f"due soon: within N calendar days, 0..{MAX_SOON_DAYS} (default 3)")  # fmt: skip
        parser.add_argument("--area", metavar="CODE", default="",
                            help="only cases in this division (province, city, county, township or village code)")  # fmt: skip
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, date, days, area, **options):
        today = _parse_date(date) if date else timezone.localdate()
        soon = _parse_days(days)
        area = (area or "").strip()
        try:
            division = None
            if area:
                if not AREA.fullmatch(area):
                    raise CommandError(_("区划代码“%(code)s”应为2、4、6、9或12位数字") % {"code": area}, returncode=BAD_INPUT)
                division = Division.objects.filter(code=area).first()
                if division is None:
                    raise CommandError(_("没有区划代码为“%(code)s”的行政区划") % {"code": area}, returncode=BAD_INPUT)
            qs = Deadline.objects.all()
            if area:
                qs = qs.filter(area_code__startswith=area)
            report = build_report(due_items(qs, today, soon), today, soon, division)
        except DatabaseError as exc:
            raise CommandError(_("无法读取数据库（是否已运行 jiuzhu migrate？）：%(error)s") % {"error": exc}) from exc
        if options["json"]:
            self.stdout.write(to_json(report))
        else:
            self.stdout.write(render_text(report))


def _parse_date(text: str) -> dt.date:
    try:
        if not ISO_DATE.fullmatch(text.strip()):
            raise ValueError(text)
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(_("日期“%(text)s”不是有效日期，应为 YYYY-MM-DD，例如 2026-01-05") % {"text": text},
                           returncode=BAD_INPUT) from None  # fmt: skip


def _parse_days(text: str) -> int:
    value = str(text).strip()
    if not value.isdecimal() or len(value) > 3 or int(value) > MAX_SOON_DAYS:
        raise CommandError(_("--days 应为 0 至 %(max)d 的整数，而不是“%(text)s”") % {"max": MAX_SOON_DAYS, "text": text},
                           returncode=BAD_INPUT)  # fmt: skip
    return int(value)


def to_json(report: dict[str, Any]) -> str:
    """One JSON document without personal names: officers by account (id, username), applicants masked."""
    doc = {**report, "townships": [
        {**t, "officers": [{k: v for k, v in g.items() if k != "name"} for g in t["officers"]]}
        for t in report["townships"]]}  # fmt: skip
    return json.dumps(doc, ensure_ascii=False, indent=2)


def build_report(rows: list[dict[str, Any]], today: dt.date, soon: int, division: Division | None) -> dict[str, Any]:
    """Rows of ``selectors.due_items`` → the report: townships (by code) → officers (by name, unassigned last) →
    items (earliest first), with counts at every level. Applicant names masked; officers with their display name
    for the text (``to_json`` leaves it out)."""
    programmes = dict(Programme.choices)
    towns: dict[str, dict[Any, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    officers: dict[Any, dict[str, Any]] = {}
    for r in rows:
        d, case = r["d"], r["case"]
        owner = case.owner
        key = owner.pk if owner is not None else None
        officers.setdefault(key, {"id": key, "username": owner.username if owner else None,
                                  "name": owner.display_name if owner else str(r["officer"])})  # fmt: skip
        towns[case.township_code][key].append({
            "case_no": case.case_no, "programme": case.programme, "programme_label": str(programmes.get(case.programme, "")),
            "applicant": mask_name(case.applicant_name), "state": case.state, "state_label": str(r["state"]),
            "deadline": d.key, "label": d.label, "level": d.level, "started_on": d.started_on.isoformat(),
            "due_on": d.due_on.isoformat(), "estimated": d.estimated, "status": r["status"],
            "days_left": (d.due_on - today).days,
        })  # fmt: skip
    names = dict(Division.objects.filter(code__in=list(towns)).values_list("code", "name"))
    out_towns: list[dict[str, Any]] = []
    for code in sorted(towns):
        groups = []
        for key, items in sorted(towns[code].items(), key=lambda kv: (kv[0] is None, officers[kv[0]]["name"], kv[0] or 0)):
            groups.append({**officers[key], **_counts(items), "items": items})
        all_items = [i for g in groups for i in g["items"]]
        out_towns.append({"code": code, "name": names.get(code, ""), **_counts(all_items), "officers": groups})
    every = [i for t in out_towns for g in t["officers"] for i in g["items"]]
    return {
        "date": today.isoformat(), "soon_days": soon, "area": division.code if division else None,
        "area_name": division.name if division else None, **_counts(every),
        "truncated": len(rows) >= MAX_ITEMS, "townships": out_towns,
    }  # fmt: skip


def _counts(items: list[dict[str, Any]]) -> dict[str, int]:
    overdue = sum(1 for i in items if i["status"] == "overdue")
    return {"overdue": overdue, "due_soon": len(items) - overdue, "total": len(items)}


def render_text(report: dict[str, Any]) -> str:
    """The report for people: officers by their display name (the JSON gives account names only)."""
    head = _("办理时限日报 %(date)s（%(days)d天内到期）") % {"date": report["date"], "days": report["soon_days"]}
    if report["area"]:
        head += _("，范围：%(code)s %(name)s") % {"code": report["area"], "name": report["area_name"]}
    lines = [head, _("合计：超期 %(o)d 件，即将到期 %(s)d 件") % {"o": report["overdue"], "s": report["due_soon"]}]
    if report["truncated"]:
        lines.append(_("（仅列出前 %(n)d 项，请按 --area 分别查看）") % {"n": MAX_ITEMS})
    if not report["townships"]:
        lines.append(_("没有超期或即将到期的事项"))
    for t in report["townships"]:
        lines += ["", _("%(code)s %(name)s：超期 %(o)d，即将到期 %(s)d") % {
            "code": t["code"], "name": t["name"], "o": t["overdue"], "s": t["due_soon"]}]  # fmt: skip
        for g in t["officers"]:
            who = f"{g['name']}（{g['username']}）" if g["username"] and g["username"] != g["name"] else g["name"]
            lines.append("  " + _("%(who)s：超期 %(o)d，即将到期 %(s)d") % {"who": who, "o": g["overdue"], "s": g["due_soon"]})
            for i in g["items"]:
                status = _("超期%(n)d天") % {"n": -i["days_left"]} if i["status"] == "overdue" else (
                    _("今天到期") if i["days_left"] == 0 else _("%(n)d天后到期") % {"n": i["days_left"]})  # fmt: skip
                extra = (_("（县级）") if i["level"] == "county" else "") + (_("（估算）") if i["estimated"] else "")
                lines.append(f"    [{status}] {i['case_no']} {i['applicant']} {i['programme_label']} {i['label']}{extra} "
                             f"{_('到期')} {i['due_on']} · {i['state_label']}")  # fmt: skip
    return "\n".join(lines)
