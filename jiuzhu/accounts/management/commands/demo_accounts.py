"""``jiuzhu demo-accounts [--json]``: create or refresh the demo accounts and print them (demo mode only)."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from jiuzhu.accounts.demo import DEMO_PASSWORD, NotDemoMode, ensure_demo_accounts
from jiuzhu.accounts.roles import Role
from jiuzhu.core.models import Division


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _pad(s: str, n: int) -> str:
    return s + " " * (n - _width(s))


class Command(BaseCommand):
    help = "Create or refresh the demo accounts (demo mode only) and print them; --json for a machine-readable list."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--json", action="store_true", help="print a JSON list of {username, password, role, area_code}")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            users = ensure_demo_accounts()
        except NotDemoMode as exc:
            raise CommandError("演示账号只在演示模式下提供（JIUZHU_MODE=demo）。 " + str(exc)) from exc
        rows: list[dict[str, str]] = [
            {"username": u.username, "password": DEMO_PASSWORD, "role": u.role, "area_code": u.area_id or ""}
                for u in users]
        if opts["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        names = dict(Division.objects.filter(code__in=[r["area_code"] for r in rows]).values_list("code", "name"))
        table = [["用户名", "密码", "角色", "辖区"]] + [
            [r["username"], r["password"], str(Role(r["role"]).label), f"{r['area_code']} {names.get(r['area_code'], '')}"]
            for r in rows]
        widths = [max(_width(row[i]) for row in table) for i in range(4)]
        for i, row in enumerate(table):
            self.stdout.write("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip())
            if i == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
        self.stdout.write("\n演示账号免二次验证（仅演示模式）。数据均为合成数据。")
