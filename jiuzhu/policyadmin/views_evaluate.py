"""政策评估 of a registry household: the engine run on the household's registered facts for a chosen date, shown
for a caseworker to read, print and file — who counts in the assessment unit, each programme's result with its
reasons and per-member details, and every parameter cited with its document and confidence.

Scoped like the household page (404 outside the user's area); names follow the role's masking; every
evaluation is audited (``policy.evaluate``). A household whose incomes and assets were never registered is not
evaluated on made-up zeros unless the user asks for it, and the page then says so."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from jiuzhu.accounts import roles
from jiuzhu.core.audit import audit_record
from jiuzhu.core.idnumber import age_on
from jiuzhu.core.masking import mask_name
from jiuzhu.core.scoping import get_scoped_or_404
from jiuzhu.policy.errors import ParameterMissing, PolicyInputError
from jiuzhu.policyadmin.management import evaluation
from jiuzhu.registry.models import Household, HouseholdEconomy, Person

MEMBER_REF = re.compile(r"成员 (\d+)（")
MEMBER_PATH = re.compile(r"^members\[(\d+)\]")


def _evaluate(data: dict[str, Any], on: dt.date) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The explained result with its trace. A programme whose parameter has no value on the date does not stop
    the others: it is left out of the result and its problem returned (programme → message). Raises
    PolicyInputError (the registered facts do not make a valid input)."""
    from jiuzhu.policy.engine import evaluate
    from jiuzhu.policy.rules import PROGRAMMES
    from jiuzhu.policyadmin.store import allow_unconfirmed, current_store

    store, allow = current_store(), allow_unconfirmed()
    try:
        return evaluate(data, store, on=on, allow_unconfirmed=allow, trace=True), {}
    except ParameterMissing:
        pass
    merged: dict[str, Any] | None = None
    missing: dict[str, str] = {}
    params: dict[str, dict[str, Any]] = {}
    for key in PROGRAMMES:
        try:
            one = evaluate(data, store, on=on, allow_unconfirmed=allow, trace=True, programmes=[key])
        except ParameterMissing as e:
            missing[key] = evaluation.parameter_missing_message(e)
            continue
        if merged is None:
            merged = one | {"programmes": {}, "unconfirmed": []}
        merged["programmes"][key] = one["programmes"][key]
        merged["unconfirmed"] = sorted({*merged["unconfirmed"], *one["unconfirmed"]})
        params |= {p["key"]: p for p in one["trace"]["parameters"]}
    if merged is not None:
        merged["trace"] = {"parameters": [params[k] for k in sorted(params)]}
    return merged, missing


def _display_name(person: Person | None, perms: frozenset[str]) -> str:
    if person is None:
        return "—"
    return person.name if roles.VIEW_NAMES in perms else mask_name(person.name)


def _status(prog: dict[str, Any]) -> tuple[str, str]:
    if prog["status"] == "blocked":
        return "blocked", _("待确认参数")
    return ("eligible", _("符合")) if prog["eligible"] else ("ineligible", _("不符合"))


def _present(result: dict[str, Any], people: dict[str, Person], names: dict[str, str], on: dt.date,
             missing: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    """The result arranged for the template, member ids replaced by (masked) names."""
    from jiuzhu.policy.rules import PROGRAMMES, closure

    def text(s: str) -> str:
        return MEMBER_REF.sub(lambda m: f"{names.get(m.group(1), m.group(0))}（", s)

    def member(mid: str) -> dict[str, Any]:
        p = people.get(mid)
        return {"id": mid, "name": names.get(mid, mid), "person": p,
                "age": age_on(p.birth_date, on) if p is not None and p.birth_date else None}  # fmt: skip

    excluded = {e["id"]: e["reason"] for e in result["unit"]["excluded"]}
    unit = [member(mid) | {"counted": True} for mid in result["unit"]["members"]]
    unit += [member(mid) | {"counted": False, "reason": text(reason)} for mid, reason in excluded.items()]
    programmes: list[dict[str, Any]] = []
    for key in PROGRAMMES:
        if key in missing:
            programmes.append({"key": key, "label": PROGRAMMES[key].label, "state": "missing",
                               "state_label": _("缺少参数"), "reasons": [missing[key]], "persons": []})  # fmt: skip
            continue
        prog = result["programmes"].get(key)
        if prog is None:
            continue
        state, label = _status(prog)
        extra = {k: v for k, v in prog.items() if v not in (None, "", [], {})
                 and k not in ("label", "status", "eligible", "amount", "reasons", "persons")}  # fmt: skip
        programmes.append({
            "key": key, "label": prog["label"], "state": state, "state_label": label, "amount": prog["amount"],
            "one_off": key == "temporary", "reasons": [text(r) for r in prog["reasons"]],
            "persons": [member(p["id"]) | {"amount": p.get("amount"), "reasons": [text(r) for r in p["reasons"]]}
                        for p in prog.get("persons", [])],
            "details": extra,
        })  # fmt: skip
    parameters = []
    for p in result.get("trace", {}).get("parameters", []):
        used_by = [PROGRAMMES[k].label for k in result["programmes"] if p["key"] in closure(k)]
        parameters.append(p | {"used_by": used_by})
    unconfirmed = sum(1 for p in parameters if p["confidence"] == "L")
    return {"unit": unit, "unit_size": result["unit"]["size"], "programmes": programmes, "parameters": parameters,
            "unconfirmed_count": unconfirmed,
            "mode": result["mode"], "demo": result["mode"] == "demo", "area": result["area"], "area_name": result["area_name"]}  # fmt: skip


def _facts(household: Household, person_ids: list[int]) -> dict[str, Any]:
    """Which economic facts were never registered (household row; members without their row)."""
    has_household = HouseholdEconomy.objects.filter(household=household).exists()
    without = list(Person.objects.filter(pk__in=person_ids, economy__isnull=True).order_by("pk"))
    return {"household": has_household, "members_without": without,
            "none": not has_household and len(without) == len(person_ids)}  # fmt: skip


@login_required
@require_GET
def household_evaluate(request: HttpRequest, pk: int) -> HttpResponse:
    from jiuzhu.registry.policy_input import household_input

    h = get_scoped_or_404(Household.objects.select_related("area"), request.user, roles.VIEW, pk=pk)
    perms = roles.ROLE_PERMISSIONS.get(request.user.role, frozenset())  # type: ignore[union-attr]
    today = timezone.localdate()
    on, date_error = today, ""
    if request.GET.get("date"):
        try:
            on = evaluation.parse_date(request.GET["date"])
        except ValueError:
            date_error = _("日期格式不正确，请按 年-月-日 填写；已按今天评估。")
    assume_zero = request.GET.get("assume_zero") == "1"
    data = household_input(h, on)
    data.pop("facts", None)
    ids = [int(m["id"]) for m in data["members"]]
    people = {str(p.pk): p for p in Person.objects.filter(pk__in=ids)}
    names = {mid: _display_name(p, perms) for mid, p in people.items()}
    facts = _facts(h, ids)
    ctx: dict[str, Any] = {"h": h, "on": on, "today": today, "date_error": date_error, "facts": facts,
                           "assume_zero": assume_zero, "printed_at": timezone.localtime(),
                           "members_without": [names.get(str(p.pk), "—") for p in facts["members_without"]]}  # fmt: skip
    if not data["members"]:
        ctx["no_members"] = True
    elif facts["none"] and not assume_zero:
        ctx["not_evaluated"] = True
    else:
        try:
            result, missing = _evaluate(data, on)
        except PolicyInputError as e:
            ctx["input_errors"] = [(_member_field(field, data, names), message) for field, message in e.errors]
            audit_record(action="policy.evaluate", actor=request.user, obj=h, result="error",
                         detail={"date": on.isoformat(), "errors": [f for f, _m in e.errors][:20]})  # fmt: skip
            return render(request, "policyadmin/evaluate.html", ctx)
        if result is None:
            ctx["all_missing"] = list(missing.values())
        else:
            ctx["r"] = _present(result, people, names, on, missing)
        audit_record(action="policy.evaluate", actor=request.user, obj=h, detail={
            "date": on.isoformat(), "mode": result["mode"] if result else "", "assume_zero": assume_zero,
            "programmes": {k: (p["status"] if p["status"] != "ok" else bool(p["eligible"]))
                           for k, p in (result or {}).get("programmes", {}).items()},
            "missing": sorted(missing),
        })  # fmt: skip
    return render(request, "policyadmin/evaluate.html", ctx)


def _member_field(field: str, data: dict[str, Any], names: dict[str, str]) -> str:
    """``members[2].birth_date`` → ``members[2].birth_date（张*三）``: which member the registry must correct."""
    m = MEMBER_PATH.match(field)
    if m and int(m.group(1)) < len(data["members"]):
        return f"{field}（{names.get(data['members'][int(m.group(1))]['id'], '')}）"
    return field
