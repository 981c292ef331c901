"""Writes to the registry. Keyword-only, atomic, and each writes its change record and audit event in the
same transaction (STYLE §3). Area and role are checked here too, so no caller can skip them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from jiuzhu.accounts import roles
from jiuzhu.core import crypto, masking
from jiuzhu.core.audit import audit_record
from jiuzhu.core.models import Division
from jiuzhu.core.scoping import area_visible

from .models import ChangeRecord, Household, HouseholdStatus, Membership, Person, Relation
from .validation import clean_bank_account, clean_person

SNAPSHOT_EXCLUDE = {"id_number_enc", "id_number_bi", "phone_enc", "phone_bi", "diagnosis_enc",
                    "bank_account_enc", "bank_account_bi", "created_at", "updated_at"}  # fmt: skip


class DuplicatePerson(ValidationError):
    """The ID number is already registered; carries a pointer to the existing record."""

    def __init__(self, person: Person, *, visible: bool = True):
        # Outside the actor's area only the fact is told, not where (SECURITY AC-IDOR).
        self.person_id = person.pk if visible else None
        self.household_no = person.household.household_no if visible and person.household is not None else ""
        msg = (
            _("该身份证号已登记：户 %(household)s（人员编号 %(person)s）") % {"household": self.household_no, "person": person.pk}
            if visible else _("该身份证号已在其他地区登记")
        )
        super().__init__({"id_number": msg})


class StaleEdit(Exception):
    """Someone else saved the record after this form was opened (SECURITY PAY-LOCK: 409)."""


def snapshot(obj: Household | Person) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if f.attname in SNAPSHOT_EXCLUDE:
            continue
        v = getattr(obj, f.attname)
        out[f.attname] = v.isoformat() if isinstance(v, dt.date | dt.datetime) else v
    if isinstance(obj, Person):
        out["diagnosis"] = "（已加密）" if obj.diagnosis_enc else ""
    return out


def _diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in after if before.get(k) != after.get(k) and k != "version"]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _require(actor: Any, area_code: str, action: str) -> None:
    if not area_visible(actor, area_code, action):
        raise PermissionDenied


def _record(*, actor: Any, obj: Household | Person, action: str, before: Any, after: Any, reason: str) -> None:
    hh = obj if isinstance(obj, Household) else obj.household
    ChangeRecord.objects.create(
        object_type="household" if isinstance(obj, Household) else "person",
        object_id=obj.pk, household=hh, area_code=obj.area_code, action=action,
        before=before, after=after, reason=reason[:200], actor=actor if getattr(actor, "pk", None) else None,
        actor_username=getattr(actor, "username", "") or "system",
    )
    audit_record(
        action=f"registry.{'household' if isinstance(obj, Household) else 'person'}.{action}", actor=actor, obj=obj,
        detail={"fields": sorted((after or before or {}).keys())} if action == "update" else {},
    )


def _apply_person(p: Person, cleaned: dict[str, Any]) -> None:
    for k, v in cleaned.items():
        if k == "id_number":
            p.id_number_enc = crypto.encrypt(v.value, context="person.id_number")
            p.id_number_bi = crypto.blind_index(v.value, purpose="id_number")
            p.id_number_masked = masking.mask_id(v.value)
            p.birth_date, p.sex = v.birth_date, v.sex
        elif k == "phone":
            p.phone_enc = crypto.encrypt(v, context="person.phone") if v else ""
            p.phone_bi = crypto.blind_index(v, purpose="phone") if v else ""
            p.phone_masked = masking.mask_phone(v)
        elif k == "diagnosis":
            p.diagnosis_enc = crypto.encrypt(v, context="person.diagnosis") if v else ""
        else:
            setattr(p, k, v)


def _check_duplicate(cleaned: dict[str, Any], *, exclude_pk: int | None = None, actor: Any = None) -> None:
    if "id_number" not in cleaned:
        return
    bi = crypto.blind_index(cleaned["id_number"].value, purpose="id_number")
    others = Person.objects.filter(id_number_bi=bi)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    existing = others.select_related("household").first()
    if existing is not None:
        raise DuplicatePerson(existing, visible=actor is None or area_visible(actor, existing.area_code))


def _apply_bank(h: Household, account: str) -> None:
    h.bank_account_enc = crypto.encrypt(account, context="household.bank_account") if account else ""
    h.bank_account_bi = crypto.blind_index(account, purpose="bank_account") if account else ""
    h.bank_account_masked = masking.mask_account(account)


def next_household_no(area_code: str) -> str:
    """``H`` + 12-digit village code + 5-digit sequence within the village."""
    prefix = f"H{area_code}"
    last = (
        Household.objects.filter(household_no__startswith=prefix).order_by("-household_no")
        .values_list("household_no", flat=True).first()
    )
    seq = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{seq:05d}"


def _refresh_household_summary(h: Household) -> None:
    members = list(Person.objects.filter(household=h, death_date__isnull=True).values_list("relation", "name"))
    h.member_count = len(members)
    h.head_name = next((n for r, n in members if r == Relation.HEAD), h.head_name)
    Household.objects.filter(pk=h.pk).update(member_count=h.member_count, head_name=h.head_name)


@transaction.atomic
def household_create(
    *, actor: Any, area_code: str, urban_rural: str, address: str = "", bank_name: str = "",
    bank_account: str = "", members: list[dict[str, Any]], reason: str = "新登记", joined_on: dt.date | None = None,
) -> Household:
    """Register a household with its members (the first member with relation 户主 is the head)."""
    _require(actor, area_code, roles.CHANGE)
    errors: dict[str, Any] = {}
    area = Division.objects.filter(code=area_code, level=Division.Level.VILLAGE).first()
    if area is None:
        errors["area_code"] = _("请选择村（社区）")
    if urban_rural not in ("urban", "rural"):
        errors["urban_rural"] = _("城乡类别应为 城市 或 农村")
    try:
        account = clean_bank_account(bank_account)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not members:
        errors["members"] = _("至少登记一名家庭成员")
    cleaned_members = []
    seen: set[str] = set()
    for i, m in enumerate(members):
        try:
            c = clean_person({"urban_rural": urban_rural, **{k: v for k, v in m.items() if v not in (None, "")}})
            if c["id_number"].value in seen:
                raise ValidationError({"id_number": _("同一户内身份证号重复")})
            seen.add(c["id_number"].value)
            _check_duplicate(c, actor=actor)
            cleaned_members.append(c)
        except ValidationError as exc:
            for k, v in exc.message_dict.items():
                errors[f"members.{i}.{k}"] = v[0] if isinstance(v, list) else v
    if cleaned_members and sum(1 for c in cleaned_members if c["relation"] == Relation.HEAD) != 1:
        errors["members"] = _("每户须有且只有一名户主")
    if errors:
        raise ValidationError(errors)
    h = Household(
        household_no=next_household_no(area_code), area=area, area_code=area_code, urban_rural=urban_rural,
        address=address.strip()[:200], bank_name=bank_name.strip()[:64], hukou_area_code=area_code[:6],
    )
    _apply_bank(h, account)
    h.save()
    joined = joined_on or timezone.localdate()
    for c in cleaned_members:
        p = Person(household=h, area_code=area_code)
        _apply_person(p, c)
        try:
            with transaction.atomic():
                p.save()
        except IntegrityError as exc:  # a concurrent insert of the same ID number
            raise ValidationError({"id_number": _("该身份证号已登记")}) from exc
        Membership.objects.create(person=p, household=h, area_code=area_code, relation=p.relation, joined_on=joined, reason=reason)
        _record(actor=actor, obj=p, action="create", before=None, after=snapshot(p), reason=reason)
    _refresh_household_summary(h)
    h.refresh_from_db()
    _record(actor=actor, obj=h, action="create", before=None, after=snapshot(h), reason=reason)
    return h


HOUSEHOLD_EDITABLE = ("address", "urban_rural", "bank_name", "bank_account", "status")


@transaction.atomic
def household_update(*, actor: Any, household: Household, data: dict[str, Any], version: int, reason: str) -> Household:
    _require(actor, household.area_code, roles.CHANGE)
    if not reason.strip():
        raise ValidationError({"reason": _("请填写变更原因")})
    before = snapshot(household)
    h = Household.objects.select_for_update().get(pk=household.pk)
    if h.version != version:
        raise StaleEdit
    errors: dict[str, str] = {}
    for k, v in data.items():
        if k not in HOUSEHOLD_EDITABLE:
            continue
        if k == "bank_account":
            try:
                _apply_bank(h, clean_bank_account(v))
            except ValidationError as exc:
                errors.update({kk: vv[0] for kk, vv in exc.message_dict.items()})
        elif k == "urban_rural" and v not in ("urban", "rural"):
            errors[k] = _("城乡类别应为 城市 或 农村")
        elif k == "status" and v not in ("active", "archived"):
            errors[k] = _("状态无效")
        else:
            setattr(h, k, str(v).strip())
    if errors:
        raise ValidationError(errors)
    updated = Household.objects.filter(pk=h.pk, version=version).update(
        **{f: getattr(h, f) for f in ("address", "urban_rural", "bank_name", "bank_account_enc", "bank_account_bi",
                                      "bank_account_masked", "status")},
        version=F("version") + 1, updated_at=timezone.now(),
    )
    if updated != 1:
        raise StaleEdit
    h.refresh_from_db()
    b, a = _diff(before, snapshot(h))
    if a:
        _record(actor=actor, obj=h, action="update", before=b, after=a, reason=reason)
    return h


@transaction.atomic
def person_add(*, actor: Any, household: Household, data: dict[str, Any], reason: str, joined_on: dt.date | None = None) -> Person:
    _require(actor, household.area_code, roles.CHANGE)
    c = clean_person({"urban_rural": household.urban_rural, **{k: v for k, v in data.items() if v not in (None, "")}})
    if c["relation"] == Relation.HEAD and Person.objects.filter(household=household, relation=Relation.HEAD).exists():
        raise ValidationError({"relation": _("该户已有户主")})
    _check_duplicate(c, actor=actor)
    c.setdefault("urban_rural", household.urban_rural)
    p = Person(household=household, area_code=household.area_code)
    _apply_person(p, c)
    p.save()
    Membership.objects.create(person=p, household=household, area_code=household.area_code, relation=p.relation,
                              joined_on=joined_on or timezone.localdate(), reason=reason)
    _record(actor=actor, obj=p, action="create", before=None, after=snapshot(p), reason=reason)
    _refresh_household_summary(household)
    return p


@transaction.atomic
def person_update(*, actor: Any, person: Person, data: dict[str, Any], version: int, reason: str) -> Person:
    _require(actor, person.area_code, roles.CHANGE)
    if not reason.strip():
        raise ValidationError({"reason": _("请填写变更原因")})
    p = Person.objects.select_for_update().get(pk=person.pk)
    if p.version != version:
        raise StaleEdit
    before = snapshot(p)
    if "disability_category" in data or "disability_grade" in data:  # the pair is checked together
        data = {"disability_category": p.disability_category, "disability_grade": p.disability_grade, **data}
    c = clean_person(data, partial=True)
    if c.get("relation") == Relation.HEAD and Person.objects.filter(
        household=p.household, relation=Relation.HEAD).exclude(pk=p.pk).exists():
        raise ValidationError({"relation": _("该户已有户主")})
    _check_duplicate(c, exclude_pk=p.pk, actor=actor)
    _apply_person(p, c)
    p.version = version + 1
    if Person.objects.filter(pk=p.pk, version=version).update(
        **{f.attname: getattr(p, f.attname) for f in Person._meta.concrete_fields if not f.primary_key}
    ) != 1:
        raise StaleEdit
    p.refresh_from_db()
    b, a = _diff(before, snapshot(p))
    if a:
        if "relation" in a:
            Membership.objects.filter(person=p, left_on__isnull=True).update(relation=p.relation)
        _record(actor=actor, obj=p, action="update", before=b, after=a, reason=reason)
        if p.household is not None:
            _refresh_household_summary(p.household)
    return p


@transaction.atomic
def person_leave(*, actor: Any, person: Person, left_on: dt.date, reason: str) -> Person:
    """Close the person's membership (moved out, married out, died …); the person record stays."""
    _require(actor, person.area_code, roles.CHANGE)
    if not reason.strip():
        raise ValidationError({"reason": _("请填写原因")})
    m = Membership.objects.filter(person=person, left_on__isnull=True).first()
    if m is None or left_on < m.joined_on:
        raise ValidationError({"left_on": _("离开日期不能早于加入日期")})
    if left_on > timezone.localdate():
        raise ValidationError({"left_on": _("离开日期不能晚于今天")})
    others = Person.objects.filter(household=person.household).exclude(pk=person.pk)
    if person.relation == Relation.HEAD and others.exists():
        raise ValidationError({"left_on": _("户主迁出前，请先把另一名成员设为户主")})
    m.left_on, m.reason = left_on, reason[:200]
    m.save(update_fields=["left_on", "reason"])
    before = snapshot(person)
    hh = person.household
    Person.objects.filter(pk=person.pk).update(household=None, version=F("version") + 1)
    person.refresh_from_db()
    ChangeRecord.objects.create(object_type="person", object_id=person.pk, household=hh, area_code=person.area_code,
                                action="leave", before={"household_id": before["household_id"]},
                                after={"household_id": None}, reason=reason[:200], actor=actor,
                                actor_username=actor.username)
    audit_record(action="registry.person.leave", actor=actor, obj=person)
    if hh is not None:
        _refresh_household_summary(hh)
        if not others.exists():  # the last member left: the household is closed, its history kept
            Household.objects.filter(pk=hh.pk).update(status=HouseholdStatus.ARCHIVED, version=F("version") + 1)
    return person


REVEALABLE = {
    ("person", "id_number"): ("id_number_enc", "person.id_number"),
    ("person", "phone"): ("phone_enc", "person.phone"),
    ("person", "diagnosis"): ("diagnosis_enc", "person.diagnosis"),
    ("household", "bank_account"): ("bank_account_enc", "household.bank_account"),
}


def sensitive_reveal(*, actor: Any, obj: Person | Household, field: str, reason: str) -> str:
    """Show one protected value in full. Needs the reveal permission, a reason, and leaves an audit row
    (SECURITY AC-FIELD). The value itself never enters the audit log."""
    kind = "person" if isinstance(obj, Person) else "household"
    if (kind, field) not in REVEALABLE:
        raise ValidationError({"field": _("该字段不可查看")})
    if not area_visible(actor, obj.area_code, roles.REVEAL):
        audit_record(action="registry.reveal", actor=actor, obj=obj, result="denied", detail={"field": field})
        raise PermissionDenied
    if len(reason.strip()) < 2:
        raise ValidationError({"reason": _("请填写查看原因")})
    attr, context = REVEALABLE[(kind, field)]
    token = getattr(obj, attr)
    value = crypto.decrypt(token, context=context) if token else ""
    # the denial above is committed on its own; a success is audited before the value leaves the service
    audit_record(action="registry.reveal", actor=actor, obj=obj, detail={"field": field, "reason": reason.strip()[:200]})
    return value
