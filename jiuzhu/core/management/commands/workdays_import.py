from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from jiuzhu.core.audit import audit_record
from jiuzhu.core.models import WorkdayOverride

COLUMNS = ("date", "is_workday", "name", "source")
TRUE, FALSE = {"1", "true", "yes", "是", "上班"}, {"0", "false", "no", "否", "放假"}
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Row:
    date: date
    is_workday: bool
    name: str
    source: str


class Command(BaseCommand):
    help = (
        "Import a State Council holiday schedule the chinesecalendar package does not have (CSV, UTF-8, header "
        "date,is_workday,name,source; is_workday 1/0, true/false, 是/否 or 上班/放假; one row per holiday and per "
        "make-up working day). Every row is checked first and nothing is written if any is wrong; a date "
        "already in the table is updated, so importing the same file again changes nothing. Import a year's "
        "notice whole: a year with any row counts as known (docs/deadlines.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_path")

    def handle(self, *args, csv_path, **options):
        try:
            rows = read_rows(csv_path)
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(_("无法读取 %(path)s：%(error)s") % {"path": csv_path, "error": exc}) from exc
        except ImportRowsError as exc:
            for e in exc.errors:
                self.stderr.write(e)
            raise CommandError(_("%(n)d 处错误，未导入任何数据") % {"n": len(exc.errors)}) from exc
        created, updated, unchanged = save_rows(rows)
        if created or updated:
            audit_record(action="core.workdays.import", username="cli", object_type="core.workdayoverride",
                         detail={"created": created, "updated": updated, "file": Path(csv_path).name[-100:]})
        self.stdout.write(_("节假日补充表：新增 %(created)d 条，更新 %(updated)d 条，未变 %(unchanged)d 条")
                          % {"created": created, "updated": updated, "unchanged": unchanged})


class ImportRowsError(ValueError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:5]))
        self.errors = errors


def read_rows(path: str | Path) -> list[Row]:
    """Parse and check every row; ``ImportRowsError`` lists every problem as 第N行 column: message."""
    errors: list[str] = []
    rows: list[Row] = []
    seen: dict[date, int] = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise ImportRowsError([_("第1行：缺少列 %(columns)s（应为 %(expected)s）")
                                   % {"columns": ", ".join(missing), "expected": ",".join(COLUMNS)}])
        reader.fieldnames = header
        for line, raw in enumerate(reader, start=2):
            value = {c: (raw.get(c) or "").strip() for c in COLUMNS}

            def error(column: str, message: str, line: int = line) -> None:
                errors.append(_("第%(line)d行 %(column)s 列：%(message)s")
                              % {"line": line, "column": column, "message": message})

            if None in raw:
                error("-", _("列数多于表头"))
            day = None
            try:
                if not ISO_DATE.fullmatch(value["date"]):
                    raise ValueError(value["date"])
                day = date.fromisoformat(value["date"])
            except ValueError:
                error("date", _("“%(value)s”不是 YYYY-MM-DD 格式的日期") % {"value": value["date"]})
            if day is not None and day in seen:
                error("date", _("%(date)s 与第%(line)d行重复") % {"date": day.isoformat(), "line": seen[day]})
            elif day is not None:
                seen[day] = line
            flag = value["is_workday"].lower()
            if flag not in TRUE | FALSE:
                error("is_workday", _("“%(value)s”应为 1/0、true/false、是/否 或 上班/放假") % {"value": value["is_workday"]})
            for column, limit in (("name", 64), ("source", 300)):
                if not value[column]:
                    error(column, _("不能为空"))
                elif len(value[column]) > limit:
                    error(column, _("不能超过 %(limit)d 个字符") % {"limit": limit})
            if day is not None:
                rows.append(Row(day, flag in TRUE, value["name"], value["source"]))
    if not errors and not rows:
        errors.append(_("文件中没有数据行"))
    if errors:
        raise ImportRowsError(errors)
    return rows


@transaction.atomic
def save_rows(rows: list[Row]) -> tuple[int, int, int]:
    """Create or update by date; rows equal to the stored ones are left alone (created_at too)."""
    existing = {o.date: o for o in WorkdayOverride.objects.select_for_update().filter(date__in=[r.date for r in rows])}
    created = updated = unchanged = 0
    for r in rows:
        o = existing.get(r.date)
        if o is None:
            WorkdayOverride.objects.create(date=r.date, is_workday=r.is_workday, name=r.name, source=r.source)
            created += 1
        elif (o.is_workday, o.name, o.source) != (r.is_workday, r.name, r.source):
            o.is_workday, o.name, o.source = r.is_workday, r.name, r.source
            o.save(update_fields=["is_workday", "name", "source"])
            updated += 1
        else:
            unchanged += 1
    return created, updated, unchanged
