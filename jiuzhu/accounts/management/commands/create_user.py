"""``jiuzhu create-user``: create a staff account on the server (any role, including the first security admin).

Prints a one-time initial password; the user must change it at first login, and admin roles bind their
authenticator at that first login. Prompts for anything not given as a flag (when run in a terminal)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from jiuzhu.accounts.roles import ADMIN_ROLES, Role
from jiuzhu.accounts.services import create_user_unchecked


class Command(BaseCommand):
    help = "Create a staff account and print its one-time initial password."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username")
        parser.add_argument("--role", choices=Role.values)
        parser.add_argument("--area", help="division code of the user's area (2, 4, 6, 9 or 12 digits)")
        parser.add_argument("--full-name", default=None)
        parser.add_argument("--no-input", action="store_true", help="fail instead of prompting")

    def _ask(self, opts: dict[str, Any], key: str, prompt: str, *, required: bool = True) -> str:
        value = opts.get(key)
        if value is None and not opts["no_input"] and sys.stdin.isatty():
            value = input(prompt).strip()
        if required and not value:
            raise CommandError(f"missing --{key.replace('_', '-')}")
        return value or ""

    def handle(self, *args: Any, **opts: Any) -> None:
        username = self._ask(opts, "username", "用户名: ")
        role = self._ask(opts, "role", f"角色 ({', '.join(Role.values)}): ")
        if role not in Role.values:
            raise CommandError(f"unknown role {role!r}; one of {', '.join(Role.values)}")
        area = self._ask(opts, "area", "辖区代码: ")
        full_name = self._ask(opts, "full_name", "姓名（可空）: ", required=False)
        try:
            user, password = create_user_unchecked(username=username, role=role, area_code=area, full_name=full_name)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        self.stdout.write(f"已创建账号 {user.username}（{Role(role).label}，辖区 {area}）")
        self.stdout.write(f"一次性初始密码: {password}")
        self.stdout.write("首次登录必须修改密码；初始密码过期未用即失效。")
        if role in ADMIN_ROLES:
            self.stdout.write("该角色须使用动态口令：首次登录时绑定身份验证器。")
