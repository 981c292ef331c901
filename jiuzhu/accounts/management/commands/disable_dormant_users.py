"""``jiuzhu disable-dormant-users``: disable accounts unused for ACCOUNT_INACTIVE_DAYS days (run daily)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from jiuzhu.accounts.services import disable_dormant_users, inactive_days_limit


class Command(BaseCommand):
    help = "Disable accounts not used for ACCOUNT_INACTIVE_DAYS (default 90) days, and end their sessions."

    def handle(self, *args: Any, **opts: Any) -> None:
        names = disable_dormant_users()
        self.stdout.write(f"停用超过 {inactive_days_limit()} 天未使用的账号：{len(names)} 个")
        for name in names:
            self.stdout.write(f"  {name}")
