"""The policy engine for a payroll: many households, one programme, one month, in one vectorised call (as
``verification.bulk.evaluate_all``), plus the frozen snapshot of the parameters a run uses.

A household is evaluated on the first day of the month with its members current on that day (a birthday
that crosses 70, a 调标 effective that month, the months of 渐退 used so far: all read from the registry and the
parameters, nobody edits the case)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Mapping
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


MISSING_FACTS = "该户尚未登记收入和财产"
NO_MEMBERS = "该户在当月没有在册成员"


def evaluate_households(inputs: dict[int, dict[str, Any]], on: dt.date, programme: str) -> dict[int, Outcome]:
    """``inputs`` maps a household's pk to its engine input (``registry.policy_input``); the result maps every pk
    to its outcome for ``programme`` on ``on``."""
    from jiuzhu.policy.errors import PolicyInputError
    from jiuzhu.policy.inputs import columns_from_json

    out: dict[int, Outcome] = {}
    ready: list[int] = []
    for pk, data in inputs.items():
        if data.get("facts") == "missing":
            out[pk] = Outcome("not_evaluable", detail=MISSING_FACTS)
        elif not data["members"]:
            out[pk] = Outcome("not_evaluable", detail=NO_MEMBERS)
        else:
            ready.append(pk)
    if not ready:
        return out
    skipped: dict[int, list[tuple[str, str]]] = {}
    try:
        cols = columns_from_json([inputs[p] for p in ready], on, prefix="households", skipped=skipped)
    except PolicyInputError as e:
        for p in ready:
            out[p] = Outcome("not_evaluable", detail="；".join(f"{f}: {m}" for f, m in e.errors[:3])[:300])
        return out
    for j, errors in skipped.items():
        out[ready[j]] = Outcome("not_evaluable", detail="；".join(f"{f}: {m}" for f, m in errors[:3])[:300])
    rows = [p for j, p in enumerate(ready) if j not in skipped]
    if rows:
        _engine(cols, rows, on, programme, out)
    return out


def evaluate_registry(by_programme: Mapping[str, Collection[int]], on: dt.date,
                      read: Any = None) -> dict[str, dict[int, Outcome]]:  # fmt: skip
    """As ``evaluate_households`` for each programme's households (pks), read from the registry on ``on`` straight
    into the engine's columns (``registry.columns``: one read for all programmes, no JSON); the few households
    that path leaves to the JSON contract (to name what is wrong with them) go through ``evaluate_households``.
    A pk the registry does not hold is ``not_evaluable``. ``read``: the ``registry_columns`` of (at least)
    these households on ``on``, when the caller has read them already."""
    from jiuzhu.policy.inputs import take
    from jiuzhu.registry.columns import registry_columns
    from jiuzhu.registry.models import Household
    from jiuzhu.registry.policy_input import household_inputs

    wanted = sorted(set().union(*by_programme.values())) if by_programme else []
    fast = read if read is not None else registry_columns(wanted, on)
    row_of = {pk: i for i, pk in enumerate(fast.households.tolist())}
    fixed = dict.fromkeys(fast.missing_facts, Outcome("not_evaluable", detail=MISSING_FACTS))
    fixed |= dict.fromkeys(fast.no_members, Outcome("not_evaluable", detail=NO_MEMBERS))
    fallback = set(fast.fallback)
    slow: dict[int, dict[str, Any]] = {}
    if fallback:
        numbered = Household.objects.filter(pk__in=fallback).order_by("pk")
        pk_of = dict(numbered.values_list("household_no", "pk"))
        slow = {pk_of[d["id"]]: d for d in household_inputs(numbered, on=on)}
    out: dict[str, dict[int, Outcome]] = {}
    for programme, pks in by_programme.items():
        res: dict[int, Outcome] = {}
        rows = sorted(row_of[pk] for pk in pks if pk in row_of)
        if rows:
            cols = fast.columns if len(rows) == fast.columns.n_households else take(fast.columns, rows)
            _engine(cols, fast.households[rows].tolist(), on, programme, res)
        mine = [pk for pk in pks if pk in fallback]
        if mine:
            res |= evaluate_households({pk: slow[pk] for pk in mine}, on, programme)
        for pk in pks:
            if pk not in res:
                res[pk] = fixed.get(pk) or Outcome("not_evaluable", detail="登记库中没有该户")
        out[programme] = res
    return out


def _engine(cols: Any, pks: list[int], on: dt.date, programme: str, out: dict[int, Outcome]) -> None:
    """The engine on ``cols`` (household row i is ``pks[i]``) for one programme; outcomes into ``out``. A
    parameter missing for some area is found by one call per area, so the other areas are still paid."""
    from jiuzhu.policy.engine import evaluate_columns
    from jiuzhu.policy.errors import ParameterMissing
    from jiuzhu.policy.inputs import take
    from jiuzhu.policy.rules import PROGRAMMES
    from jiuzhu.policyadmin.store import allow_unconfirmed, current_store

    prog = PROGRAMMES[programme]
    try:
        res = evaluate_columns(
            cols, current_store(), on=on, programmes=[programme], allow_unconfirmed=allow_unconfirmed()
        )
    except ParameterMissing as e:
        areas = np.unique(cols.area)
        if len(areas) > 1:
            for a in areas:
                rows = np.flatnonzero(cols.area == a)
                _engine(take(cols, rows), [pks[i] for i in rows], on, programme, out)
        else:
            for p in pks:
                out[p] = Outcome("not_evaluable", detail=f"参数缺失：{e}"[:300])
        return
    eligible = np.asarray(res.values[prog.eligible], dtype=bool)
    amount = np.asarray(res.values[prog.amount], dtype=np.int64)
    blocked = np.asarray(res.blocked[programme], dtype=bool)
    unconfirmed = Outcome("not_evaluable", detail="使用了未经确认的参数（L），需政策管理员确认")
    refused = Outcome("not_eligible", detail="政策引擎判定当月不符合条件")
    cents = Decimal("0.01")
    for p, b, ok, fen in zip(pks, blocked.tolist(), eligible.tolist(), amount.tolist(), strict=True):
        out[p] = (
            unconfirmed if b else refused if not ok else Outcome("ok", (Decimal(fen) / 100).quantize(cents))
        )


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
        "parameter_change_id": ParameterChange.objects.order_by("-id").values_list("id", flat=True).first()
        or 0,
        "versions": {"jiuzhu": _version(), "django": django.get_version(), "demo": bool(settings.DEMO_MODE)},
        "parameters": sorted(groups.values(), key=lambda g: g["areas"][0]),
    }


def digest(obj: Any) -> str:
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jiuzhu")
    except PackageNotFoundError:
        return "unknown"
