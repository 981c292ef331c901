"""Demo cases for the synthetic county (demo mode only, idempotent): a reserve fund in every township, and a
few requests in 关庙镇 at different steps so that each demo role finds work waiting — new online applications
to accept, one under investigation, a request for help to triage, an emergency to help at once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from jiuzhu.core import crypto
from jiuzhu.core.models import Division

from . import services
from .models import Case, ReserveEntry

TOWNSHIP = "610902100"  # 关庙镇


def _households(township: str, n: int, on: dt.date) -> list[Any]:
    """Registered households not on 低保 yet that the engine finds eligible for it (the likeliest applicants)."""
    from jiuzhu.policy.engine import evaluate_many
    from jiuzhu.policyadmin.store import allow_unconfirmed, current_store
    from jiuzhu.registry.models import Household
    from jiuzhu.registry.policy_input import household_inputs

    qs = Household.objects.filter(area_code__startswith=township, economy__isnull=False,
                                  economy__current_dibao=False, member_count__gte=1).order_by("pk")[:400]  # fmt: skip
    data = [d for d in household_inputs(qs, on=on) if d.pop("facts", None) is None and d["members"]]
    if not data:
        return []
    results = evaluate_many(data, current_store(), on=on, allow_unconfirmed=allow_unconfirmed())
    eligible = [d["id"] for d, r in zip(data, results, strict=True) if r["programmes"]["dibao"].get("eligible")][:n]
    by_no = {h.household_no: h for h in Household.objects.filter(household_no__in=eligible)}
    return [by_no[no] for no in eligible if no in by_no]


def _head_id(h: Any) -> tuple[str, str]:
    p = h.members.order_by("relation", "pk").first()
    return p.name, crypto.decrypt(p.id_number_enc, context="person.id_number")


def ensure_demo_cases(county: str, users: dict[str, Any]) -> int:
    """Returns the number of cases created (0 when the county already has cases)."""
    if Case.objects.filter(area_code__startswith=county).exists():
        return 0
    today = timezone.localdate()
    cw, rv = users.get("cw_guanmiao"), users.get("rv_hanbin")
    with transaction.atomic():
        for town in Division.objects.filter(level=4, code__startswith=county).values_list("code", flat=True):
            if not ReserveEntry.objects.filter(township_code=town).exists():
                services.reserve_append(township=town, kind=ReserveEntry.Kind.TOPUP, amount=Decimal("20000.00"),
                                        on=today - dt.timedelta(days=30), actor=rv, note="演示：县级拨付备用金")  # fmt: skip
        if cw is None:
            return 0
        made = 0
        hh = _households(TOWNSHIP, 6, today)
        for i, h in enumerate(hh[:3]):  # online applications waiting for the window
            name, idn = _head_id(h)
            services.intake(actor=None, programme="dibao" if i < 2 else "tekun", channel="portal", area_code=h.area_code,
                            applicant_name=name, applicant_id=idn, household_size=h.member_count,
                            summary="家庭收入低，生活困难，申请救助。", received_on=today - dt.timedelta(days=i),
                            signatures=[("commitment", name), ("authorisation", name)])  # fmt: skip
            made += 1
        if len(hh) >= 5:
            name, idn = _head_id(hh[3])
            case, _ = services.intake(actor=cw, programme="dibao", channel="window", area_code=hh[3].area_code,
                                      applicant_name=name, applicant_id=idn, household_size=hh[3].member_count,
                                      summary="务工收入中断，申请低保。", received_on=today - dt.timedelta(days=6),
                                      signatures=[("commitment", name), ("authorisation", name)])  # fmt: skip
            for action, days, data in (("accept", 6, {}), ("start_investigation", 5, {}),
                                       ("record_investigation", 4, {"investigators": "关庙镇经办员、村协理员",
                                                                    "signed": True, "housing": "砖混平房两间"})):  # fmt: skip
                case.refresh_from_db()
                services.perform(actor=cw, case_id=case.pk, action=action, version=case.version, data=data,
                                 on=today - dt.timedelta(days=days))  # fmt: skip
            name, idn = _head_id(hh[4])
            services.intake(actor=cw, programme="temporary", channel="window", area_code=hh[4].area_code,
                            applicant_name=name, applicant_id=idn, household_size=hh[4].member_count,
                            temp_type="emergency", temp_tier=1, summary="昨夜房屋失火，急需生活救助。", received_on=today)  # fmt: skip
            made += 2
        services.intake(actor=None, programme="help", channel="hotline", area_code=Division.objects.filter(
            level=5, code__startswith=TOWNSHIP).order_by("code").values_list("code", flat=True).first() or TOWNSHIP,
            applicant_name="待核实", summary="12349热线：村民反映一独居老人腿脚不便、无人照料。", received_on=today)  # fmt: skip
        made += 1
    return made
