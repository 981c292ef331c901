"""The policy engine for a payroll: many households, one programme, one month, in one vectorised call (as
``verification.bulk.evaluate_all``), plus the frozen snapshot of the parameters a run uses.

A household is evaluated on the first day of the month with its members current on that day (a birthday
that crosses 70, a 调标 effective that month, the months of 渐退 used so far: all read from the registry and the
parameters, nobody edits the case)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import django
import numpy as np
from django.conf import settings


@dataclass(frozen=True)
class Outcome:
    status: str  # ok | not_eligible | not_evaluable
    amount: Decimal = Decimal("0.00")
    detail: str = ""


def evaluate_households(inputs: dict[int, dict[str, Any]], on: dt.date, programme: str) -> dict[int, Outcome]:
    """``inputs`` maps a household's pk to its engine input (``registry.policy_input``); the result maps every pk
    to its outcome for ``programme`` on ``on``."""
    from jiuzhu.policy.engine import evaluate_columns
    from jiuzhu.policy.errors import ParameterMissing, PolicyInputError
    from jiuzhu.policy.inputs import columns_from_json
    from jiuzhu.policy.rules import PROGRAMMES
    from jiuzhu.policyadmin.store import allow_unconfirmed, current_store

    out: dict[int, Outcome] = {}
    prog = PROGRAMMES[programme]
    store, allow = current_store(), allow_unconfirmed()
    ready: list[int] = []
    for pk, data in inputs.items():
        if data.get("facts") == "missing":
            out[pk] = Outcome("not_evaluable", detail="该户尚未登记收入和财产")
        elif not data["members"]:
            out[pk] = Outcome("not_evaluable", detail="该户在当月没有在册成员")
        else:
            ready.append(pk)

    def run(pks: list[int]) -> None:
        skipped: dict[int, list[tuple[str, str]]] = {}
        try:
            cols = columns_from_json([inputs[p] for p in pks], on, prefix="households", skipped=skipped)
        except PolicyInputError as e:
            for p in pks:
                out[p] = Outcome("not_evaluable", detail="；".join(f"{f}: {m}" for f, m in e.errors[:3])[:300])
            return
        for j, errors in skipped.items():
            out[pks[j]] = Outcome("not_evaluable", detail="；".join(f"{f}: {m}" for f, m in errors[:3])[:300])
        rows = [p for j, p in enumerate(pks) if j not in skipped]
        if not rows:
            return
        try:
            res = evaluate_columns(cols, store, on=on, programmes=[programme], allow_unconfirmed=allow)
        except ParameterMissing as e:
            areas = {inputs[p]["area"] for p in rows}
            if len(areas) > 1:  # find the areas at fault: one call per area
                by_area: dict[str, list[int]] = defaultdict(list)
                for p in rows:
                    by_area[inputs[p]["area"]].append(p)
                for group in by_area.values():
                    run(group)
            else:
                for p in rows:
                    out[p] = Outcome("not_evaluable", detail=f"参数缺失：{e}"[:300])
            return
        eligible, amount, blocked = res.values[prog.eligible], res.values[prog.amount], res.blocked[programme]
        for j, p in enumerate(rows):
            if blocked[j]:
                out[p] = Outcome("not_evaluable", detail="使用了未经确认的参数（L），需政策管理员确认")
            elif not bool(eligible[j]):
                out[p] = Outcome("not_eligible", detail="政策引擎判定当月不符合条件")
            else:
                fen = int(np.int64(amount[j]))
                out[p] = Outcome("ok", (Decimal(fen) / 100).quantize(Decimal("0.01")))

    if ready:
        run(ready)
    return out


def parameter_snapshot(areas: list[str], on: dt.date, programmes: list[str]) -> dict[str, Any]:
    """Every parameter the programmes read, as resolved for these areas on ``on``: areas that resolve alike share
    one group. With the versions (store, engine, mode) it is what the run freezes."""
    from jiuzhu.policy.divisions import normalise
    from jiuzhu.policy.rules import closure
    from jiuzhu.policyadmin.models import ParameterChange
    from jiuzhu.policyadmin.store import allow_unconfirmed, current_store

    store = current_store()
    keys = sorted(set().union(*(closure(p) for p in programmes))) if programmes else []
    groups: dict[str, dict[str, Any]] = {}
    for area in sorted(set(areas)):
        try:
            scope = normalise(area)
        except ValueError:
            scope = area
        values = {}
        for k in keys:
            v = store.resolve(k, scope, on)
            values[k] = None if v is None else {"value": v.as_dict()["value"], "scope": v.scope,
                                                "effective_from": v.effective_from.isoformat(),
                                                "source": v.source, "confidence": v.confidence, "origin": v.origin}  # fmt: skip
        sig = digest(values)
        groups.setdefault(sig, {"areas": [], "values": values})["areas"].append(area)
    return {
        "evaluated_on": on.isoformat(),
        "programmes": programmes,
        "mode": "demo" if allow_unconfirmed() else "production",
        "parameter_change_id": ParameterChange.objects.order_by("-id").values_list("id", flat=True).first() or 0,
        "versions": {"jiuzhu": _version(), "django": django.get_version(), "demo": bool(settings.DEMO_MODE)},
        "parameters": sorted(groups.values(), key=lambda g: g["areas"][0]),
    }


def digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jiuzhu")
    except PackageNotFoundError:
        return "unknown"
