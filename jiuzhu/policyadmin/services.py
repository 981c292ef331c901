"""Policy admin: what a user may see and set, the parameter tree, the preview of a standard change (调标) on the
registry, and saving a change or a confirmation together with its audit event.

Reading is open to every staff role with ``view`` (parameters are published policy, not personal data);
changing needs ``manage_policy`` and is limited to the admin's own area and the divisions one level below it
(a province admin: the province or one of its cities; a city admin: the city or one of its counties)."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.http import Http404

from jiuzhu.accounts import roles
from jiuzhu.core.audit import audit_record
from jiuzhu.core.masking import mask_name
from jiuzhu.core.scoping import can
from jiuzhu.policy import divisions
from jiuzhu.policy.errors import ParameterMissing
from jiuzhu.policy.money import yuan_str
from jiuzhu.policy.parameters.schema import SPECS, ParamSpec
from jiuzhu.policy.parameters.store import ParameterStore, ParamValue

from .models import ParameterChange
from .store import allow_unconfirmed, current_store

PREVIEW_LIMIT = 50  # changed households listed by the preview


# --- scopes -------------------------------------------------------------------------------------------------


def user_area(user: Any) -> str:
    return getattr(user, "area_id", "") or ""


def scope_chain(area: str) -> list[str]:
    """National first, down to ``area`` (the scopes whose values apply to it)."""
    try:
        return list(reversed(divisions.chain(area)))
    except ValueError:  # a code the vendored tables do not know (a test village): walk its prefixes
        return list(reversed(divisions.prefixes(area)))


def scope_name(code: str) -> str:
    return divisions.name(code)


def allowed_scopes(user: Any) -> list[tuple[str, str]]:
    """(code, name) of every scope this user may change, own area first; empty for a user who may not."""
    if not can(user, roles.MANAGE_POLICY):
        return []
    from jiuzhu.core.models import Division

    area = user_area(user)
    out = [(area, scope_name(area))]
    child_level = {2: Division.Level.CITY, 4: Division.Level.COUNTY}.get(len(area))
    if child_level is not None:
        kids = Division.objects.filter(parent_id=area, level=child_level, valid_to__isnull=True).order_by("code")
        out += [(c, f"{scope_name(c)}（{c}）" if scope_name(c) == scope_name(area) else scope_name(c))
                for c in kids.values_list("code", flat=True)]  # fmt: skip
    return out


def check_scope(user: Any, scope: str) -> str:
    """The scope if this user may change it; otherwise 404, as for any object outside the user's area."""
    if scope not in dict(allowed_scopes(user)):
        raise Http404
    return scope


def relevant(scope: str, area: str) -> bool:
    """A value matters to a user of ``area`` if it applies there (an ancestor scope) or below it."""
    return scope == "" or area.startswith(scope) or scope.startswith(area)


def specs() -> dict[str, ParamSpec]:
    """The key catalogue (the rule modules declare their keys when imported)."""
    import jiuzhu.policy.rules  # noqa: F401

    return SPECS


def spec_or_404(key: str) -> ParamSpec:
    s = specs().get(key)
    if s is None:
        raise Http404
    return s


# --- programmes ---------------------------------------------------------------------------------------------


def programme_label(key: str, *, english: bool = False) -> str:
    from django.utils.translation import gettext as _

    from jiuzhu.policy.rules import PROGRAMMES

    prog = PROGRAMMES.get(key)
    if prog is not None:
        return (prog.label_en or prog.label) if english else prog.label
    return {"general": _("通用参数"), "near_dibao": _("低保边缘家庭")}.get(key, key)


def programme_keys() -> list[str]:
    """Programme groups of the catalogue: the programmes in page order, then the others, ``general`` last."""
    from jiuzhu.policy.rules import ORDER

    present = {s.programme for s in specs().values()}
    ordered = [p for p in ORDER if p in present]
    rest = sorted(p for p in present if p not in ordered and p != "general")
    return ordered + rest + (["general"] if "general" in present else [])


def affected_programmes(key: str) -> list[str]:
    from jiuzhu.policy.rules import PROGRAMMES, closure

    return [p for p in PROGRAMMES if key in closure(p)]


# --- the tree -----------------------------------------------------------------------------------------------


def in_force(values: Sequence[ParamValue], on: dt.date) -> ParamValue | None:
    found = None
    for v in sorted(values, key=lambda v: v.effective_from):
        if v.effective_from <= on:
            found = v
    if found is not None and found.effective_to is not None and on > found.effective_to:
        return None
    return found


@dataclass
class Row:
    """One value shown in the tree: the value of one scope in force on the date."""

    pv: ParamValue
    level: str  # "chain" (applies to the user's area) | "below" (a division inside it)
    effective: bool = False  # the one the engine uses for the user's area
    confirmable: bool = False


@dataclass
class KeyRows:
    spec: ParamSpec
    rows: list[Row] = field(default_factory=list)
    missing: bool = False

    @property
    def has_l(self) -> bool:
        return any(r.pv.confidence == "L" for r in self.rows)


def by_scope(store: ParameterStore, key: str) -> dict[str, list[ParamValue]]:
    out: dict[str, list[ParamValue]] = {}
    for v in store.values(key):
        out.setdefault(v.scope, []).append(v)
    return out


def key_rows(store: ParameterStore, key: str, area: str, on: dt.date, changeable: set[str]) -> KeyRows:
    spec = SPECS[key]
    scopes = by_scope(store, key)
    chain = scope_chain(area)
    kr = KeyRows(spec)
    effective: Row | None = None
    for s in chain:
        v = in_force(scopes.get(s, []), on)
        if v is not None:
            row = Row(v, "chain")
            kr.rows.append(row)
            effective = row
    if effective is not None:
        effective.effective = True
    else:
        kr.missing = True
    below = sorted((s for s in scopes if s.startswith(area) and s != area), key=lambda c: (len(c), c))
    for s in below:
        v = in_force(scopes[s], on)
        if v is not None:
            kr.rows.append(Row(v, "below"))
    for r in kr.rows:
        r.confirmable = r.pv.confidence == "L" and confirm_target(r.pv, area, changeable) is not None
    return kr


def tree(user: Any, *, on: dt.date, programme: str = "", only_l: bool = False) -> list[tuple[str, list[KeyRows]]]:
    """Keys grouped by programme, each with the values in force on ``on`` for the user's area and above it (and
    divisions inside the area that have their own value)."""
    store = current_store()
    area = user_area(user)
    changeable = {c for c, _ in allowed_scopes(user)}
    groups: list[tuple[str, list[KeyRows]]] = []
    for prog in programme_keys():
        if programme and prog != programme:
            continue
        keys = sorted(k for k, s in specs().items() if s.programme == prog)
        items = [key_rows(store, k, area, on, changeable) for k in keys]
        if only_l:
            items = [kr for kr in items if kr.has_l]
        if items:
            groups.append((prog, items))
    return groups


def confirm_target(pv: ParamValue, area: str, changeable: set[str]) -> str | None:
    """Where a confirmation of the L value ``pv`` is recorded: its own scope if the admin may change it;
    the admin's own area if the value is inherited from above (the admin confirms it applies there); else None."""
    if pv.confidence != "L" or not changeable:
        return None
    if pv.scope in changeable:
        return pv.scope
    if area in changeable and area.startswith(pv.scope) and pv.scope != area:
        return area
    return None


# --- one key's history --------------------------------------------------------------------------------------


@dataclass
class HistoryRow:
    pv: ParamValue
    status: str  # in_force | future | past | superseded
    change: ParameterChange | None = None
    confirm_scope: str | None = None  # where a 确认 of this L value would be recorded (None: not offered)


def history(key: str, area: str, on: dt.date, *, everywhere: bool = False,
            changeable: set[str] | None = None) -> list[HistoryRow]:  # fmt: skip
    """Every value of the key at the scopes that matter to ``area`` (or everywhere), with the stored change each
    came from; ``changeable`` (the scopes the user may change) decides where 确认 is offered."""
    store = current_store()
    changes = {f"db:{c.pk}": c for c in ParameterChange.objects.filter(key=key).select_related("created_by")}
    out: list[HistoryRow] = []
    for s, values in sorted(by_scope(store, key).items(), key=lambda kv: (len(kv[0]), kv[0])):
        if not everywhere and not relevant(s, area):
            continue
        current = in_force(values, on)
        for v in values:
            status = "in_force" if v is current else ("future" if v.effective_from > on else "past")
            out.append(HistoryRow(v, status, changes.get(v.origin)))
    for v in store.superseded:
        if v.key == key and (everywhere or relevant(v.scope, area)):
            out.append(HistoryRow(v, "superseded", changes.get(v.origin)))
    out.sort(key=lambda r: (len(r.pv.scope), r.pv.scope, r.pv.effective_from, r.status != "superseded"))
    for r in out:
        if r.status != "superseded" and changeable:
            r.confirm_scope = confirm_target(r.pv, area, changeable)
    return out


def changes_of(key: str, area: str, *, everywhere: bool = False) -> list[ParameterChange]:
    qs = ParameterChange.objects.filter(key=key).select_related("created_by").order_by("-created_at", "-id")
    return [c for c in qs if everywhere or relevant(c.area_code, area)]


# --- values typed by an admin -------------------------------------------------------------------------------


def parse_value(spec: ParamSpec, text: str) -> Any:
    """Form text → the raw value a pack would hold (str for money and ratios, int, bool, enum name). Raises
    ValueError (the caller shows its own message)."""
    text = (text or "").strip()
    if spec.kind == "int":
        if not re.fullmatch(r"\d+", text):
            raise ValueError(text)
        value: Any = int(text)
    elif spec.kind == "bool":
        if text not in ("true", "false"):
            raise ValueError(text)
        value = text == "true"
    elif spec.kind == "money":
        if not text:
            raise ValueError(text)
        value = text
    elif spec.kind == "ratio":
        if not text:
            raise ValueError(text)
        value = text
    else:
        value = text
    spec.encode(value)
    if spec.kind == "money":
        value = f"{Decimal(value):.2f}"
    elif spec.kind == "ratio":
        value = f"{Decimal(value).normalize():f}"
    return value


def stored_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- preview ------------------------------------------------------------------------------------------------


def _household_queryset(scope: str) -> Any:
    from jiuzhu.registry.models import Household, HouseholdStatus

    return Household.objects.filter(area_code__startswith=scope, status=HouseholdStatus.ACTIVE)




def _columns(inputs: list[dict[str, Any]], on: dt.date) -> tuple[Any, list[dict[str, Any]], int]:
    """Engine columns for the households; any household the engine refuses is left out (and counted), in one
    pass over the input."""
    from jiuzhu.policy.inputs import columns_from_json

    skipped: dict[int, list[tuple[str, str]]] = {}
    cols = columns_from_json(inputs, on, prefix="households", skipped=skipped)
    kept = [h for i, h in enumerate(inputs) if i not in skipped] if skipped else inputs
    return cols, kept, len(skipped)


def _sum_by(groups: np.ndarray, n: int, values: np.ndarray) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, groups, values.astype(np.int64))
    return out


def preview(*, key: str, scope: str, new: ParamValue, store: ParameterStore | None = None) -> dict[str, Any]:
    """Evaluate every active registry household in ``scope`` on the new value's date, with the current values and
    with the new one; return the summary shown before saving (and stored with the change). Money as yuan
    strings; households listed with their number and masked head name."""
    from jiuzhu.policy.engine import evaluate_columns
    from jiuzhu.policy.rules import PROGRAMMES
    from jiuzhu.registry.policy_input import MISSING, household_inputs

    t0 = time.perf_counter()
    on = new.effective_from
    before_store = store or current_store()
    after_store = before_store.copy()
    after_store.add(new)
    allow = allow_unconfirmed()
    progs = affected_programmes(key)
    summary: dict[str, Any] = {
        "key": key, "scope": scope, "scope_name": scope_name(scope), "value": stored_text(new.value),
        "display": new.display, "effective_from": on.isoformat(), "mode": "demo" if allow else "production",
        "households": 0, "skipped": 0, "missing_facts": 0, "programmes": [], "counties": [], "changed": [], "changed_total": 0,
        "error": "",
    }  # fmt: skip
    if not progs:
        summary["seconds"] = round(time.perf_counter() - t0, 2)
        return summary
    inputs = household_inputs(_household_queryset(scope), on=on)
    t_inputs = time.perf_counter()
    # A household whose incomes are not recorded would look eligible for everything: left out, and counted.
    known = [h for h in inputs if h.get("facts") != MISSING]
    summary["missing_facts"] = len(inputs) - len(known)
    if not known:
        summary["seconds"] = round(time.perf_counter() - t0, 2)
        return summary
    cols, known, skipped = _columns(known, on)
    inputs = known
    t_cols = time.perf_counter()
    summary["households"], summary["skipped"] = cols.n_households, skipped
    try:
        before = evaluate_columns(cols, before_store, on=on, programmes=progs, allow_unconfirmed=allow)
        after = evaluate_columns(cols, after_store, on=on, programmes=progs, allow_unconfirmed=allow)
    except ParameterMissing as e:
        summary["error"] = str(e)
        summary["seconds"] = round(time.perf_counter() - t0, 2)
        return summary
    t_eval = time.perf_counter()

    county_codes, county_of = np.unique(np.asarray([str(a)[:6] for a in cols.area]), return_inverse=True)
    nc = len(county_codes)
    any_changed = np.zeros(cols.n_households, dtype=bool)
    per_prog: dict[str, dict[str, np.ndarray]] = {}
    counties: list[dict[str, Any]] = [
        {"code": str(c), "name": scope_name(str(c)), "households": int(n), "programmes": []}
        for c, n in zip(county_codes, np.bincount(county_of, minlength=nc), strict=True)
    ]
    for p in progs:
        prog = PROGRAMMES[p]
        blocked_b, blocked_a = before.blocked[p], after.blocked[p]
        eb = before.get(prog.eligible).astype(bool) & ~blocked_b
        ea = after.get(prog.eligible).astype(bool) & ~blocked_a
        ab = np.where(eb, before.get(prog.amount), 0).astype(np.int64)
        aa = np.where(ea, after.get(prog.amount), 0).astype(np.int64)
        newly, lost = ~eb & ea, eb & ~ea
        amount = eb & ea & (ab != aa)
        any_changed |= newly | lost | amount | (blocked_b != blocked_a)
        per_prog[p] = {"eb": eb, "ea": ea, "ab": ab, "aa": aa, "bb": blocked_b, "ba": blocked_a}
        summary["programmes"].append({
            "key": p, "label": prog.label, "label_en": prog.label_en,
            "eligible_before": int(eb.sum()), "eligible_after": int(ea.sum()),
            "cost_before": yuan_str(int(ab.sum())), "cost_after": yuan_str(int(aa.sum())),
            "cost_delta": yuan_str(int(aa.sum()) - int(ab.sum())),
            "blocked_before": int(blocked_b.sum()), "blocked_after": int(blocked_a.sum()),
            "newly": int(newly.sum()), "lost": int(lost.sum()), "amount_changed": int(amount.sum()),
        })  # fmt: skip
        eb_c, ea_c = _sum_by(county_of, nc, eb), _sum_by(county_of, nc, ea)
        ab_c, aa_c = _sum_by(county_of, nc, ab), _sum_by(county_of, nc, aa)
        for i, c in enumerate(counties):
            c["programmes"].append({
                "key": p, "label": prog.label, "label_en": prog.label_en,
                "eligible_before": int(eb_c[i]), "eligible_after": int(ea_c[i]),
                "cost_before": yuan_str(int(ab_c[i])), "cost_after": yuan_str(int(aa_c[i])),
            })  # fmt: skip
    summary["counties"] = counties
    summary["changed_total"] = int(any_changed.sum())
    summary["changed"] = _changed_households(inputs, per_prog, np.flatnonzero(any_changed)[:PREVIEW_LIMIT])
    t_end = time.perf_counter()
    summary["seconds"] = round(t_end - t0, 2)
    summary["timing"] = {"inputs": round(t_inputs - t0, 2), "columns": round(t_cols - t_inputs, 2),
                         "evaluate": round(t_eval - t_cols, 2), "summary": round(t_end - t_eval, 2)}  # fmt: skip
    return summary


def _changed_households(inputs: list[dict[str, Any]], per_prog: dict[str, dict[str, np.ndarray]],
                        rows: Iterable[int]) -> list[dict[str, Any]]:  # fmt: skip
    from jiuzhu.policy.rules import PROGRAMMES
    from jiuzhu.registry.models import Household

    rows = [int(r) for r in rows]
    numbers = [str(inputs[r].get("id", "")) for r in rows]
    found = {h.household_no: h for h in Household.objects.filter(household_no__in=numbers).only("id", "household_no", "head_name")}
    out = []
    for r, no in zip(rows, numbers, strict=True):
        h = found.get(no)
        changes = []
        for p, a in per_prog.items():
            if a["eb"][r] == a["ea"][r] and a["ab"][r] == a["aa"][r] and a["bb"][r] == a["ba"][r]:
                continue
            changes.append({
                "programme": p, "label": PROGRAMMES[p].label, "label_en": PROGRAMMES[p].label_en,
                "eligible_before": None if a["bb"][r] else bool(a["eb"][r]),
                "eligible_after": None if a["ba"][r] else bool(a["ea"][r]),
                "amount_before": yuan_str(int(a["ab"][r])), "amount_after": yuan_str(int(a["aa"][r])),
            })  # fmt: skip
        out.append({"id": h.pk if h else None, "household_no": no, "head": mask_name(h.head_name) if h else "",
                    "changes": changes})  # fmt: skip
    return out


# --- saving -------------------------------------------------------------------------------------------------


class Duplicate(Exception):
    """This confirmation was saved already (same token)."""

    def __init__(self, change: ParameterChange | None):
        self.change = change
        super().__init__("duplicate submission")


def latest_change_id() -> int:
    return ParameterChange.objects.order_by("-id").values_list("id", flat=True).first() or 0


def save_change(*, actor: Any, key: str, scope: str, value: Any, effective_from: dt.date, source: str,
                article: str = "", note: str = "", confidence: str, kind: str = ParameterChange.Kind.CHANGE,
                preview: dict[str, Any] | None = None, token: uuid.UUID | str | None = None,
                previous: ParamValue | None = None) -> ParameterChange:  # fmt: skip
    """Store one change and its audit event in one transaction. ``previous`` is the value in force for the scope
    on the date until now (recorded in the audit event). A token already used raises Duplicate."""
    if confidence not in ("H", "M"):
        raise ValueError("an admin's value is confirmed: H or M")
    token = uuid.UUID(str(token)) if token else uuid.uuid4()
    existing = ParameterChange.objects.filter(token=token).first()
    if existing is not None:
        raise Duplicate(existing)
    pv = ParamValue(key=key, scope=scope, effective_from=effective_from, value=value, source=source,
                    confidence=confidence, article=article, note=note, origin="new")  # fmt: skip
    ParameterStore().add(pv)  # validates key, value and source as a pack value would be
    try:
        with transaction.atomic():
            change = ParameterChange.objects.create(
                key=key, area_code=scope, effective_from=effective_from, value=stored_text(value), source=source,
                article=article, note=note, confidence=confidence, kind=kind, created_by=actor,
                preview=_preview_record(preview), token=token,
            )  # fmt: skip
            detail: dict[str, Any] = {
                "key": key, "scope": divisions.six_digit(scope), "effective_from": effective_from.isoformat(),
                "value": stored_text(value), "confidence": confidence, "source": source, "kind": kind,
            }  # fmt: skip
            if previous is not None:
                detail["previous"] = {"value": stored_text(previous.value), "confidence": previous.confidence,
                                      "scope": divisions.six_digit(previous.scope), "source": previous.source,
                                      "origin": previous.origin}  # fmt: skip
            if preview:
                detail["preview"] = {"households": preview.get("households", 0),
                                     "changed": preview.get("changed_total", 0),
                                     "programmes": [{k: p[k] for k in ("key", "eligible_before", "eligible_after",
                                                                       "cost_before", "cost_after")}
                                                    for p in preview.get("programmes", [])]}  # fmt: skip
            audit_record(action=f"policy.{kind}", actor=actor, obj=change, object_area=scope, detail=detail)
    except IntegrityError:
        raise Duplicate(ParameterChange.objects.filter(token=token).first()) from None
    return change


def _preview_record(preview: dict[str, Any] | None) -> dict[str, Any]:
    if not preview:
        return {}
    return {k: v for k, v in preview.items() if k != "timing"}
