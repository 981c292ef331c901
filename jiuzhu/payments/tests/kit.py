"""Test helpers: registered households (poor enough for 低保 by default) with an approved decision each, turned
into entitlements by the service; a payroll taken through generate → approve → export; a bank return as CSV."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from jiuzhu.cases.models import Case, Decision
from jiuzhu.cases.tests.kit import registered_household
from jiuzhu.payments import services
from jiuzhu.payments.models import Entitlement, PayrollLine, PayrollRun
from jiuzhu.registry.models import Household
from jiuzhu.registry.services import household_update

MONTH = dt.date(2026, 1, 1)
_n = itertools.count(1)


def granted(actor: Any, village: str, *, programme: str = "dibao", start: dt.date = MONTH, amount: str = "500.00",
            **household: Any) -> Household:  # fmt: skip
    """A registered household with an approved decision of ``programme`` paying from ``start``."""
    h = registered_household(actor, village, **household)
    decide(h, programme=programme, start=start, amount=amount)
    return h


def decide(h: Household, *, programme: str = "dibao", start: dt.date = MONTH, amount: str = "500.00") -> Decision:
    n = next(_n)
    case = Case.objects.create(case_no=f"T{h.area_code[:9]}{n:06d}", programme=programme, state="approved",
                               area_code=h.area_code, township_code=h.area_code[:9], household=h,
                               applicant_name=h.head_name or "王大山", received_on=start - dt.timedelta(days=40),
                               decided_on=start - dt.timedelta(days=5), amount=Decimal(amount), start_month=start)  # fmt: skip
    return Decision.objects.create(case=case, approved=True, decided_on=start - dt.timedelta(days=5),
                                   amount=Decimal(amount), start_month=start, level="county")  # fmt: skip


def sync() -> dict[str, int]:
    return services.entitlements_from_decisions()


def approved_run(maker: Any, checker: Any, area: str, month: dt.date = MONTH, programme: str = "dibao") -> PayrollRun:
    run = services.generate(area_code=area, month=month, programme=programme, actor=maker)
    return services.approve(run, checker)


def exported_run(maker: Any, checker: Any, area: str, month: dt.date = MONTH, programme: str = "dibao") -> PayrollRun:
    from jiuzhu.payments.exports import export

    return export(approved_run(maker, checker, area, month, programme), maker).run


def return_csv(rows: list[tuple[str, str, str, str]], *, header: str = "业务参考号,金额,处理结果,失败原因,处理日期") -> bytes:
    """rows: (reference, amount, 成功|失败, reason)."""
    body = "\r\n".join(f"{r},{a},{s},{why},2026-01-10" for r, a, s, why in rows)
    return f"{header}\r\n{body}\r\n".encode()


def change_account(actor: Any, h: Household, account: str = "6217000010001234567") -> Household:
    h.refresh_from_db()
    return household_update(actor=actor, household=h, data={"bank_account": account}, version=h.version,
                            reason="银行账号更正")  # fmt: skip


def paid_twice() -> list[tuple[Any, ...]]:
    """(household, programme, month) with more than one paid line — must always be empty."""
    from django.db.models import Count

    return list(PayrollLine.objects.filter(status="paid").values("household_id", "programme", "month")
                .annotate(n=Count("pk")).filter(n__gt=1).values_list("household_id", "programme", "month", "n"))  # fmt: skip


def entitlement_of(h: Household, programme: str = "dibao") -> Entitlement:
    return Entitlement.objects.get(household=h, programme=programme, status="active")
