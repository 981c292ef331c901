"""``jiuzhu generate-payroll --area CODE --month YYYY-MM [--programme all|dibao|...] --user USERNAME
[--idempotency-key K] [--json]``: a month's payroll run (``payments.services.generate``) generated as that user,
who must hold the payment permission for the area (the service checks, and audits as them).

Idempotent by nature: the same area, month and programme give the same run; a run left ``generating`` (a crash,
a kill) is resumed where its committed chunks end (SECURITY PAY-CRASH). An idempotency key reused for another
request is refused. Prints the run's number, status, lines, total and the entitlements skipped by reason.

Exit status: 0 done; 1 refused (permission or area, the payroll's state, a key reused); 2 bad arguments (unknown
area, user or month); 3 the run is still generating (run the command again to resume it)."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from jiuzhu.core.models import Division
from jiuzhu.payments.models import ALL, MONTHLY_PROGRAMMES, PayrollRun, PayrollSkip

AREA = re.compile(r"[0-9]{2}|[0-9]{4}|[0-9]{6}|[0-9]{9}|[0-9]{12}")
MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
KEY = re.compile(r"[\x21-\x7e]{1,64}")
BAD_ARGUMENTS, REFUSED, UNFINISHED = 2, 1, 3


def skipped_by_reason(run: PayrollRun) -> dict[str, int]:
    rows = run.skips.order_by("reason").values_list("reason").annotate(n=Count("pk")).values_list("reason", "n")
    return dict(rows)


class Command(BaseCommand):
    help = ("Generate (or resume) the payroll run of an area, month and programme as a user with the payment "
            "permission; the same request gives the same run. Prints the run's number, status, lines, total and "
            "skips by reason.")  # fmt: skip

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--area", required=True, metavar="CODE", help="division code (county, township, village)")
        parser.add_argument("--month", required=True, metavar="YYYY-MM", help="the month paid")
        parser.add_argument("--programme", default=ALL, choices=[ALL, *MONTHLY_PROGRAMMES],
                            help="a monthly programme, or all of them (default)")  # fmt: skip
        parser.add_argument("--user", required=True, metavar="USERNAME", help="the officer generating (the maker)")
        parser.add_argument("--idempotency-key", metavar="K", help="repeats of one request carry the same key")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the result as JSON")

    def handle(self, *args: Any, area: str, month: str, programme: str, user: str, idempotency_key: str | None,
               as_json: bool = False, **options: Any) -> None:  # fmt: skip
        from jiuzhu.payments import services

        area = (area or "").strip()
        if not AREA.fullmatch(area) or not Division.objects.filter(code=area).exists():
            raise CommandError(f"--area: 区划代码不存在 / unknown division code {area!r}", returncode=BAD_ARGUMENTS)
        if not MONTH.fullmatch((month or "").strip()):
            raise CommandError(f"--month: 月份应为 YYYY-MM / expected YYYY-MM, got {month!r}", returncode=BAD_ARGUMENTS)
        paid_month = dt.date.fromisoformat(f"{month.strip()}-01")
        if programme not in (ALL, *MONTHLY_PROGRAMMES):  # call_command does not apply choices
            raise CommandError(f"--programme: 不按月发放的项目 / not a monthly programme: {programme!r}",
                               returncode=BAD_ARGUMENTS)  # fmt: skip
        key = idempotency_key.strip() if idempotency_key else None
        if idempotency_key is not None and not KEY.fullmatch(key or ""):
            raise CommandError("--idempotency-key: 1–64 个可见 ASCII 字符 / 1-64 visible ASCII characters",
                               returncode=BAD_ARGUMENTS)  # fmt: skip
        actor = get_user_model().objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"--user: 用户不存在 / no such user {user!r}", returncode=BAD_ARGUMENTS)
        if not actor.is_active:
            raise CommandError(f"--user: 用户已停用 / user {user!r} is disabled", returncode=REFUSED)
        try:
            run = services.generate(area_code=area, month=paid_month, programme=programme, actor=actor,
                                    idempotency_key=key)  # fmt: skip
        except services.Forbidden as e:
            raise CommandError(f"无权办理 / forbidden: {'；'.join(e.messages)}", returncode=REFUSED) from e
        except services.Conflict as e:
            raise CommandError(f"幂等键冲突 / idempotency key conflict: {'；'.join(e.messages)}",
                               returncode=REFUSED) from e  # fmt: skip
        except services.Refused as e:
            raise CommandError(f"拒绝 / refused: {'；'.join(e.messages)}", returncode=REFUSED) from e
        self._report(run, as_json=as_json)
        if run.status == PayrollRun.Status.GENERATING:
            raise CommandError(f"批次 {run.pk} 仍在生成中，请再次运行以继续 / run {run.pk} is still generating: run the "
                               "command again to resume it", returncode=UNFINISHED)  # fmt: skip

    def _report(self, run: PayrollRun, *, as_json: bool) -> None:
        from jiuzhu.payments import subsidy

        skipped = skipped_by_reason(run)
        total = str(Decimal(run.total_amount or 0).quantize(Decimal("0.01")))
        # all programmes bring the month's 价格临时补贴 when its CPI figure reaches the trigger (its own run)
        price = subsidy.of_payroll(run)
        if as_json:
            self.stdout.write(json.dumps({
                "run": run.pk, "area": run.area_code, "month": run.month.strftime("%Y-%m"),
                "programme": run.programme, "status": run.status, "version": run.version,
                "lines": run.line_count, "total": total, "skipped": skipped,
                "price_subsidy_run": price.pk if price else None,
            }, ensure_ascii=False))  # fmt: skip
            return
        labels = dict(PayrollSkip.Reason.choices)
        self.stdout.write(f"run {run.pk}: {run.area_code} {run.month:%Y-%m} {run.programme}")
        self.stdout.write(f"status {run.status} ({run.get_status_display()})")
        self.stdout.write(f"lines {run.line_count}, total {total}")
        if skipped:
            for reason, n in skipped.items():
                self.stdout.write(f"skipped {reason} ({labels.get(reason, reason)}): {n}")
        else:
            self.stdout.write("skipped: none")
        if price is not None:
            self.stdout.write(f"price subsidy run {price.pk} ({price.get_status_display()}): lines {price.line_count}, "
                              f"total {price.total_amount}")  # fmt: skip
