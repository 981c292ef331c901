"""Every write to a case. ``intake`` creates one; ``perform`` is the one service that changes a case: it checks
the actor's role and area against the programme's table (``procedures``), the case's version (two officers on
the same case: one wins, the other gets ``Stale``), runs the action's handler (which validates the step's
records and writes them), writes the ``Transition`` and an audit event, and recomputes the deadlines — all in
one transaction, so a refused or failed action leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jiuzhu.accounts.roles import Role, role_has
from jiuzhu.core import crypto
from jiuzhu.core.audit import audit_record
from jiuzhu.core.masking import mask_id, mask_name, mask_phone
from jiuzhu.core.models import Division
from jiuzhu.core.workdays import add_calendar_days, first_day_of_next_month

from . import assess, deadlines, storage
from .models import (
    Attachment,
    Case,
    Conference,
    Decision,
    DemocraticReview,
    HomeInvestigation,
    Instalment,
    IssuedDocument,
    MaterialNotice,
    Objection,
    ProcedureSetting,
    Programme,
    Publicity,
    ReserveEntry,
    SelfCareAssessment,
    Signature,
    StaffRelative,
    TempType,
    Transfer,
    Transition,
    VerificationRequest,
)  # fmt: skip
from .procedures import PRE_DECISION, STATES, Action, procedure

# Materials a window may ask for. Those the government already holds (户籍, 婚姻, 社保, 不动产, 车辆, 工商, 公积金,
# 存款 — obtained by verification, REFERENCE §1.4) are never asked of the applicant (一次性告知, N5).
MATERIALS: dict[str, str] = {
    "id_copy": "申请人及家庭成员身份证明（无法通过系统核验时）",
    "income_statement": "家庭收入情况书面声明",
    "medical_bills": "医疗费用票据及诊断证明",
    "education_bills": "就学费用证明",
    "disability_cert": "残疾人证（系统未登记时）",
    "support_statement": "赡养（抚养、扶养）情况说明",
    "accident_proof": "火灾、交通事故等意外事件证明",
    "entrustment": "委托他人代为申请的委托书",
    "guardian_proof": "监护关系证明",
    "other": "其他（请在说明中写明）",
}
HELD_BY_GOVERNMENT = {
    "hukou": "户口簿", "marriage": "婚姻状况证明", "social_insurance": "社保缴纳证明", "real_estate": "不动产登记证明",
    "vehicle": "车辆登记证明", "business": "工商登记证明", "housing_fund": "住房公积金证明", "deposits": "银行存款证明",
}  # fmt: skip
EXTENSION_REASONS = {
    "objection": "公示期间有异议", "separated": "人户分离", "elsewhere": "在户籍地以外申请", "hard": "调查取证困难",
}  # fmt: skip
NO_PUBLICITY_REASONS = {"minor": "未成年人", "privacy": "涉及个人隐私（如重大疾病）", "child": "事实无人抚养儿童"}


class CaseError(Exception):
    def __init__(self, *messages: str):
        super().__init__("；".join(messages))
        self.messages = list(messages)


class Forbidden(CaseError):
    """The actor may not perform this action on this case (role, area, or delegation)."""


class Stale(CaseError):
    """Someone else changed the case since the actor loaded it."""


class Refused(CaseError):
    """The step's conditions are not met; the messages say what is missing."""


@dataclass
class Ctx:
    case: Case
    actor: Any
    action: Action
    data: dict[str, Any]
    on: dt.date
    setting: ProcedureSetting
    changes: dict[str, Any] = field(default_factory=dict)  # Case fields to set
    detail: dict[str, Any] = field(default_factory=dict)  # stored on the transition
    reason: str = ""
    public_note: str = ""


# ---- settings, numbers, permissions ------------------------------------------------------------------------------

def setting_for(area_code: str) -> ProcedureSetting:
    """The longest-prefix setting for the area; the defaults (not delegated, 5 working days) if none."""
    prefixes = [area_code[:n] for n in (12, 9, 6, 4, 2) if len(area_code) >= n] + ["000000"]
    rows = {s.area_code: s for s in ProcedureSetting.objects.filter(area_code__in=prefixes)}
    for p in prefixes:
        if p in rows:
            return rows[p]
    return ProcedureSetting(area_code="000000")


def roles_for(case: Case, action: Action, setting: ProcedureSetting) -> frozenset[str]:
    """审核确认权限下放: where delegated, the township confirms (and may reject) instead of the county."""
    if setting.delegated and action.key in ("confirm", "reject", "return_to_township") and case.programme in (
        Programme.DIBAO, Programme.TEKUN, Programme.NEAR_DIBAO, Programme.RIGID,
    ):
        return frozenset({Role.CASEWORKER.value})
    return action.roles


def may(actor: Any, case: Case, action: Action, setting: ProcedureSetting | None = None) -> bool:
    setting = setting or setting_for(case.area_code)
    area = getattr(actor, "area_id", None) or ""
    return (bool(area) and getattr(actor, "is_active", False) and case.area_code.startswith(area)
            and actor.role in roles_for(case, action, setting) and role_has(actor.role, "view"))  # fmt: skip


def available_actions(actor: Any, case: Case) -> list[Action]:
    setting = setting_for(case.area_code)
    return [a for a in procedure(case.programme).available(case.state) if may(actor, case, a, setting)]


def _township(area_code: str) -> str:
    return area_code[:9]


def next_case_no(township: str, on: dt.date) -> str:
    prefix = f"SQ-{township}-{on:%Y}-"
    last = Case.objects.filter(case_no__startswith=prefix).order_by("-case_no").values_list("case_no", flat=True).first()
    return f"{prefix}{(int(last.rsplit('-', 1)[1]) if last else 0) + 1:05d}"


def tracking_hash(case_no: str, code: str) -> str:
    return crypto.blind_index(f"{case_no}|{code.strip().upper()}", purpose="case.tracking")


TRACKING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_tracking_code() -> str:
    return "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))


# ---- intake ------------------------------------------------------------------------------------------------------

def intake(
    *,
    actor: Any,
    programme: str,
    channel: str,
    area_code: str,
    applicant_name: str,
    applicant_id: str = "",
    applicant_phone: str = "",
    household_size: int = 1,
    summary: str = "",
    temp_type: str = "",
    temp_tier: int = 0,
    one_matter: bool = False,
    emergency_area_code: str = "",
    received_on: dt.date | None = None,
    parent: Case | None = None,
    signatures: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> tuple[Case, str]:
    """A new request at the township's window (``actor`` = the receiving officer: 首问负责) or from the portal,
    the hotline or another department (``actor`` None, or the API user). Returns the case and its tracking code
    (shown once to the applicant; only its keyed hash is kept). ``applicant_id`` must already be validated."""

    if programme not in Programme.values:
        raise Refused(_("未知的救助项目：%(p)s") % {"p": programme})
    div = Division.objects.filter(code=area_code).first()
    if div is None or div.level < 4:
        raise Refused(_("请选择乡镇（街道）或村（社区）。"))
    if actor is not None and getattr(actor, "role", "") == Role.CASEWORKER and not area_code.startswith(actor.area_id or "-"):
        raise Forbidden(_("只能在本乡镇（街道）窗口登记。"))
    if programme == Programme.TEMPORARY and temp_type not in TempType.values:
        raise Refused(_("请选择临时救助类型（急难型或支出型）。"))
    on = received_on or timezone.localdate()
    township = _township(area_code)
    bi = crypto.blind_index(applicant_id, purpose="id_number") if applicant_id else ""
    # Linked only where this township handles that household; elsewhere the caseworker decides (transfer, or
    # 临时救助 at the place of the emergency).
    household = _household_in(bi, township)
    if household is not None:
        area_code = household.area_code
    from jiuzhu.core.idnumber import InvalidIdNumber, age_on, parse

    try:
        minor = bool(applicant_id) and age_on(parse(applicant_id, today=on).birth_date, on) < 18
    except InvalidIdNumber:
        minor = False
    code = new_tracking_code()
    with transaction.atomic():
        for attempt in range(5):
            case_no = next_case_no(township, on)
            try:
                with transaction.atomic():
                    case = Case.objects.create(
                        case_no=case_no, programme=programme, channel=channel, state="received", parent=parent,
                        area_code=area_code, township_code=township, household=household,
                        applicant_name=applicant_name.strip()[:64],
                        applicant_id_enc=crypto.encrypt(applicant_id, context="case.applicant_id") if applicant_id else "",
                        applicant_id_bi=bi, applicant_id_masked=mask_id(applicant_id),
                        applicant_phone_enc=crypto.encrypt(applicant_phone, context="case.phone") if applicant_phone else "",
                        applicant_phone_masked=mask_phone(applicant_phone), applicant_is_minor=minor,
                        household_size=max(1, min(int(household_size or 1), 30)), summary=summary[:2000],
                        temp_type=temp_type if programme == Programme.TEMPORARY else "",
                        temp_tier=temp_tier if programme == Programme.TEMPORARY else 0, one_matter=one_matter,
                        emergency_area_code=emergency_area_code, first_officer=actor if _is_staff(actor) else None,
                        owner=actor if _is_staff(actor) else None, received_on=on,
                        tracking_hash=tracking_hash(case_no, code),
                        no_publicity=programme == Programme.CHILD or minor,
                        no_publicity_reason="child" if programme == Programme.CHILD else ("minor" if minor else ""),
                    )  # fmt: skip
                break
            except IntegrityError:
                if attempt == 4:
                    raise
        for kind, signer in signatures:
            Signature.objects.create(case=case, kind=kind, signer_name=signer[:64], signed_on=on,
                                     via="portal" if channel == "portal" else "window")  # fmt: skip
        Transition.objects.create(case=case, area_code=case.area_code, action="create", from_state="",
                                  to_state="received", actor=actor if _is_staff(actor) else None,
                                  actor_name=getattr(actor, "username", "") or channel, on=on,
                                  public_note=_("申请已提交"), data={"channel": channel})  # fmt: skip
        deadlines.recompute(case, setting_for(case.area_code))
        audit_record(action="case.create", actor=actor if _is_staff(actor) else None, obj=case,
                     username="" if _is_staff(actor) else channel,
                     detail={"programme": programme, "channel": channel, "linked": household is not None})  # fmt: skip
    return case, code


def _household_in(id_bi: str, township: str) -> Any:
    """The registered household of the person with this blind index, if it belongs to ``township``."""
    from jiuzhu.registry.models import Person

    if not id_bi:
        return None
    person = Person.objects.filter(id_number_bi=id_bi, household__isnull=False).select_related("household").first()
    if person is not None and person.household is not None and person.household.area_code.startswith(township):
        return person.household
    return None


def duplicates_of(case: Case) -> list[Case]:
    """Other open applications of the same person for the same programme (a window must not run two)."""
    if not case.applicant_id_bi or case.programme == Programme.HELP:
        return []
    return list(Case.objects.filter(applicant_id_bi=case.applicant_id_bi, programme=case.programme,
                                    state__in=list(PRE_DECISION | {"advance_paid"})).exclude(pk=case.pk)[:5])  # fmt: skip


def _is_staff(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False)


def add_attachment(*, case: Case, actor: Any, kind: str, checked: storage.Checked, via: str = "window") -> Attachment:
    """Store the file (encrypted) and its row, audited. If the transaction rolls back, the file is an orphan
    with no row pointing at it; ``storage.remove`` deletes it when the row cannot be written here."""
    name = storage.save(checked)
    try:
        with transaction.atomic():
            att = Attachment.objects.create(case=case, area_code=case.area_code, kind=kind[:32], filename=checked.filename,
                                            content_type=checked.content_type, size=len(checked.data), sha256=checked.sha256,
                                            storage_name=name, uploaded_by=actor if _is_staff(actor) else None, uploaded_via=via)  # fmt: skip
            audit_record(action="case.attachment_added", actor=actor if _is_staff(actor) else None, obj=case,
                         username="" if _is_staff(actor) else via, detail={"attachment": att.pk, "size": att.size})  # fmt: skip
    except Exception:
        storage.remove(name)
        raise
    return att


# ---- perform -----------------------------------------------------------------------------------------------------

def perform(*, actor: Any, case_id: int, action: str, version: int, data: dict[str, Any] | None = None,
            on: dt.date | None = None) -> Case:  # fmt: skip
    try:
        if action == "run_verification":
            data = dict(data or {}) | {"_run": _verify_outside_transaction(actor, case_id, version, on)}
        return _perform(actor=actor, case_id=case_id, action=action, version=version, data=data, on=on)
    except Forbidden:
        # recorded after the rollback, so the refusal itself is kept (SECURITY AUD-COVER)
        case = Case.objects.filter(pk=case_id).first()
        audit_record(action=f"case.{action}", actor=actor, obj=case, object_type="cases.case", object_id=case_id,
                     result="denied")  # fmt: skip
        raise


def _verify_outside_transaction(actor: Any, case_id: int, version: int, on: dt.date | None) -> Any:
    """核对 asks departments over the network: that must not happen inside the case's transaction (on SQLite it
    would hold the database's write lock for the length of every source's timeout). The run is made first, in
    its own writes; the transition then links it. Returns None when the action would be refused anyway (the
    transition says why)."""
    from jiuzhu.verification import services as verification

    case = Case.objects.select_related("household").filter(pk=case_id).first()
    act = procedure(case.programme).actions.get("run_verification") if case is not None else None
    if case is None or act is None or case.version != version or case.state not in act.sources or not may(actor, case, act):
        return None
    if not case.verifications.filter(completed_on__isnull=True).exists():
        return None
    try:
        return verification.run_for_case(case=case, actor=actor, on=on or timezone.localdate())
    except verification.NotAuthorised as e:
        raise Refused(str(e)) from e


def _perform(*, actor: Any, case_id: int, action: str, version: int, data: dict[str, Any] | None,
             on: dt.date | None) -> Case:  # fmt: skip
    data = dict(data or {})
    on = on or timezone.localdate()
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).select_related("household").get(pk=case_id)
        proc = procedure(case.programme)
        act = proc.actions.get(action)
        setting = setting_for(case.area_code)
        if act is None or not may(actor, case, act, setting):
            raise Forbidden(_("您没有权限对此案件执行该操作。"))
        if case.version != version:
            last = case.transitions.order_by("-pk").first()
            what = f"{last.actor_name} {timezone.localtime(last.at):%H:%M} {label_of(case.programme, last.action)}" if last else ""
            raise Stale(_("此案件已被他人更新（%(what)s），请查看最新状态后重试；您填写的内容已保留。") % {"what": what})
        if case.state not in act.sources:
            raise Refused(_("案件当前状态为“%(s)s”，不能执行“%(a)s”。") % {"s": STATES[case.state], "a": act.label})
        ctx = Ctx(case, actor, act, data, on, setting, reason=str(data.get("reason", "") or "")[:2000])
        handler = HANDLERS.get(action)
        if handler is not None:
            handler(ctx)
        before = case.state
        after = act.target or before
        changes = ctx.changes | {"state": after, "version": version + 1, "updated_at": timezone.now()}
        if action not in ("attach", "sign") and _is_staff(actor) and actor.role == Role.CASEWORKER:
            changes.setdefault("owner", actor)
            if case.first_officer_id is None:  # 首问负责: an online request's first officer is whoever takes it up
                changes["first_officer"] = actor
        if Case.objects.filter(pk=case.pk, version=version).update(**changes) != 1:
            raise Stale(_("此案件已被他人更新，请查看最新状态后重试；您填写的内容已保留。"))
        for k, v in changes.items():
            setattr(case, k, v)
        Transition.objects.create(case=case, area_code=case.area_code, action=action, from_state=before, to_state=after,
                                  actor=actor, actor_name=actor.username, on=on, reason=ctx.reason,
                                  data=ctx.detail, public_note=str(ctx.public_note or act.public or ""))  # fmt: skip
        deadlines.recompute(case, setting)
        audit_record(action=f"case.{action}", actor=actor, obj=case,
                     detail={"from": before, "to": after, "case_no": case.case_no} | {k: v for k, v in ctx.detail.items() if k in AUDIT_KEYS})  # fmt: skip
    return case


AUDIT_KEYS = {"amount", "level", "items", "to_area", "conflict", "random_check", "conclusion", "programmes"}


def label_of(programme: str, action: str) -> str:
    if action == "create":
        return _("提交申请")
    a = procedure(programme).actions.get(action)
    return str(a.label) if a else action


# ---- handlers (validate the step, then write its records) -------------------------------------------------------

def _need(ctx: Ctx, *keys: str) -> None:
    missing = [k for k in keys if not str(ctx.data.get(k, "") or "").strip()]
    if missing:
        raise Refused(*[_("请填写：%(f)s") % {"f": FIELD_LABELS.get(k, k)} for k in missing])


FIELD_LABELS = {"reason": "原因", "opinion": "初审意见", "content": "异议内容", "minutes": "会议记录",
                "participants": "参加人员", "to_area": "移交至", "to_body": "转介单位"}  # fmt: skip


def _signatures_missing(case: Case) -> list[str]:
    kinds = set(case.signatures.values_list("kind", flat=True))
    out = []
    if Signature.Kind.COMMITMENT not in kinds:
        out.append(_("申请人尚未签署如实申报承诺书"))
    if Signature.Kind.AUTHORISATION not in kinds and case.programme in (Programme.DIBAO, Programme.TEKUN,
                                                                         Programme.NEAR_DIBAO, Programme.RIGID):
        out.append(_("申请人尚未签署家庭经济状况核对授权书"))
    return out


def _record_signatures(ctx: Ctx) -> None:
    signer = str(ctx.data.get("signer_name", "") or "").strip()
    for kind in (Signature.Kind.COMMITMENT, Signature.Kind.AUTHORISATION):
        if ctx.data.get(f"signed_{kind}") and signer and not ctx.case.signatures.filter(kind=kind).exists():
            Signature.objects.create(case=ctx.case, kind=kind, signer_name=signer[:64], signed_on=ctx.on)


def h_accept(ctx: Ctx) -> None:
    _record_signatures(ctx)
    problems = _signatures_missing(ctx.case)
    if problems:
        raise Refused(*problems)
    _accepted(ctx)


def _accepted(ctx: Ctx) -> None:
    if ctx.case.accepted_on is None:
        ctx.changes["accepted_on"] = ctx.on
        flag = conflict_matches(ctx.case)
        if flag:
            ctx.changes["conflict_flag"] = True
            ctx.detail["conflict"] = flag
            audit_record(action="case.conflict_registered", actor=ctx.actor, obj=ctx.case, detail={"count": len(flag)})


def conflict_matches(case: Case) -> list[str]:
    """近亲属备案 matches: declarations in the same county naming the applicant or a household member."""
    from jiuzhu.registry.models import Person

    bis = {case.applicant_id_bi} - {""}
    if case.household_id:
        bis |= set(Person.objects.filter(household_id=case.household_id).values_list("id_number_bi", flat=True))
    if not bis:
        return []
    rows = StaffRelative.objects.filter(relative_id_bi__in=bis, area_code__startswith=case.area_code[:6])
    return [f"{r.declarant_post} {r.declarant_name} 的{r.relation}" for r in rows]


def h_request_materials(ctx: Ctx) -> None:
    items = [i for i in ctx.data.get("items", []) if i]
    held = [HELD_BY_GOVERNMENT[i] for i in items if i in HELD_BY_GOVERNMENT]
    if held:
        raise Refused(_("以下材料可通过部门数据共享获取，不得要求申请人提供：%(x)s") % {"x": "、".join(held)})
    unknown = [i for i in items if i not in MATERIALS]
    if unknown or not items:
        raise Refused(_("请勾选需要补正的材料（一次告知全部）。"))
    if "other" in items and not str(ctx.data.get("note", "")).strip():
        raise Refused(_("勾选“其他”时请在说明中写明需要的材料。"))
    if ctx.case.material_notices.filter(supplied_on__isnull=True).exists():
        raise Refused(_("已有未补齐的补正告知，请勿重复告知。"))
    MaterialNotice.objects.create(case=ctx.case, items=items, note=str(ctx.data.get("note", ""))[:1000],
                                  issued_on=ctx.on, issued_by=ctx.actor)  # fmt: skip
    _record_signatures(ctx)
    _accepted(ctx)
    ctx.detail["items"] = items


def h_supply_materials(ctx: Ctx) -> None:
    n = ctx.case.material_notices.filter(supplied_on__isnull=True).order_by("-pk").first()
    if n is None:
        raise Refused(_("没有待补正的告知。"))
    _record_signatures(ctx)
    problems = _signatures_missing(ctx.case)  # the case is accepted from here on: the declarations are required
    if problems:
        raise Refused(*problems)
    if ctx.on < n.issued_on:
        raise Refused(_("补齐日期不能早于告知日期。"))
    n.supplied_on = ctx.on
    n.save(update_fields=["supplied_on"])


def h_sign(ctx: Ctx) -> None:
    kind = ctx.data.get("kind")
    signer = str(ctx.data.get("signer_name", "")).strip()
    if kind not in Signature.Kind.values or not signer:
        raise Refused(_("请选择文书类型并填写签署人。"))
    Signature.objects.create(case=ctx.case, kind=kind, signer_name=signer[:64],
                             signer_role=str(ctx.data.get("signer_role") or "applicant")[:32], signed_on=ctx.on,
                             attachment=ctx.data.get("attachment"))  # fmt: skip
    ctx.detail["kind"] = kind


def h_attach(ctx: Ctx) -> None:
    att = ctx.data.get("attachment")
    if not isinstance(att, Attachment):
        raise Refused(_("请选择要上传的文件。"))
    ctx.detail["attachment"] = att.pk


def h_link_household(ctx: Ctx) -> None:
    """Link the registered household (by its 户编号) — within the case's township only."""
    from jiuzhu.registry.models import Household

    no = str(ctx.data.get("household_no", "")).strip()
    h = Household.objects.filter(household_no=no, area_code__startswith=ctx.case.township_code).first() if no else None
    if h is None:
        raise Refused(_("本乡镇（街道）没有户编号为“%(no)s”的在册家庭；请先在“家庭户”中登记。") % {"no": no[:24]})
    ctx.changes |= {"household": h, "area_code": h.area_code}
    ctx.detail["household_no"] = h.household_no


def h_set_tier(ctx: Ctx) -> None:
    """临时救助: the type, the tier of hardship and 一事一议 — what the engine's amount and approval level follow."""
    ttype, tier = ctx.data.get("temp_type"), ctx.data.get("temp_tier")
    if ttype not in TempType.values or tier not in (1, 2, 3, "1", "2", "3"):
        raise Refused(_("请选择临时救助类型和档次（1至3档）。"))
    ctx.changes |= {"temp_type": ttype, "temp_tier": int(tier), "one_matter": bool(ctx.data.get("one_matter"))}
    ctx.detail |= {"temp_type": ttype, "temp_tier": int(tier), "one_matter": bool(ctx.data.get("one_matter"))}


def h_exclude_publicity(ctx: Ctx) -> None:
    """不予公示 (HIV, serious illness, other privacy): takes down anything posted and posts nothing later."""
    key = ctx.data.get("exclusion")
    if key not in NO_PUBLICITY_REASONS:
        raise Refused(_("请选择不予公示的原因。"))
    ctx.changes |= {"no_publicity": True, "no_publicity_reason": key}
    ctx.reason = NO_PUBLICITY_REASONS[key] + (f"：{ctx.reason}" if ctx.reason else "")
    _withdraw_publicity(ctx)


def h_record_complaint(ctx: Ctx) -> None:
    """A complaint or report about the application: the county must visit the household itself (N1 §20)."""
    _need(ctx, "reason")
    ctx.changes["complaint_flag"] = True


def h_transfer(ctx: Ctx) -> None:
    _need(ctx, "to_area", "reason")
    to = str(ctx.data["to_area"])
    div = Division.objects.filter(code=to, level=4).first()
    if div is None:
        raise Refused(_("请选择要移交的乡镇（街道）。"))
    if to == ctx.case.township_code:
        raise Refused(_("不能移交给本乡镇（街道）。"))
    Transfer.objects.create(case=ctx.case, kind="township", from_area=ctx.case.area_code, to_area=to,
                            reason=ctx.reason, feedback=str(ctx.data.get("feedback", ""))[:1000], on=ctx.on, by=ctx.actor)  # fmt: skip
    household = _household_in(ctx.case.applicant_id_bi, to)
    ctx.changes |= {"area_code": household.area_code if household else to, "township_code": to, "owner": None,
                    "household": household}  # fmt: skip
    ctx.detail["to_area"] = to
    ctx.public_note = _("已移交%(name)s办理") % {"name": div.name}


def h_close(ctx: Ctx) -> None:
    _need(ctx, "reason")
    ctx.changes["closed_on"] = ctx.on
    ctx.changes["owner"] = ctx.case.owner


def h_withdraw(ctx: Ctx) -> None:
    if ctx.case.programme == Programme.HELP:
        _need(ctx, "reason")
    ctx.changes["closed_on"] = ctx.on
    _withdraw_publicity(ctx)


def _withdraw_publicity(ctx: Ctx) -> None:
    Publicity.objects.filter(case=ctx.case, withdrawn_on__isnull=True).update(withdrawn_on=ctx.on)


def h_terminate(ctx: Ctx) -> None:
    h_close(ctx)
    _withdraw_publicity(ctx)


def h_record_investigation(ctx: Ctx) -> None:
    names = [n.strip() for n in str(ctx.data.get("investigators", "")).replace("，", ",").replace("、", ",").split(",") if n.strip()]
    if len(set(names)) < 2:
        raise Refused(_("入户调查须由2名以上工作人员进行，请填写全部调查人员。"))
    mode = ctx.data.get("mode") or "onsite"
    if mode == "remote" and not ctx.reason:
        raise Refused(_("远程（电话、视频）调查仅限重大突发事件期间，请填写原因。"))
    if not ctx.data.get("signed"):
        raise Refused(_("调查表须经调查人员和在场家庭成员签字确认后录入。"))
    visited = ctx.data.get("visited_on") or ctx.on
    if visited > ctx.on:
        raise Refused(_("调查日期不能晚于今天。"))
    level = "county" if ctx.actor.role == Role.REVIEWER else "township"
    HomeInvestigation.objects.create(
        case=ctx.case, level=level, visited_on=visited, mode=mode, investigators=names,
        present_members=str(ctx.data.get("present_members", ""))[:200],
        **{k: str(ctx.data.get(k, ""))[:4000] for k in ("housing", "income", "health", "other", "neighbours", "conclusion")},
        signed=True, recorded_by=ctx.actor,
    )  # fmt: skip
    ctx.detail["level"] = level


def h_request_verification(ctx: Ctx) -> None:
    if ctx.case.verifications.filter(completed_on__isnull=True).exists():
        raise Refused(_("已提请核对，尚未完成。"))
    if Signature.Kind.AUTHORISATION not in set(ctx.case.signatures.values_list("kind", flat=True)):
        raise Refused(_("没有签署核对授权书，不能提请核对。"))
    VerificationRequest.objects.create(case=ctx.case, requested_on=ctx.on, requested_by=ctx.actor)


def h_run_verification(ctx: Ctx) -> None:
    """The county's 核对 centre verifies the household against the departments' records (``verification``):
    refused without the family's authorisation; the request gets the run's conclusion and a summary."""
    from jiuzhu.verification import services as verification

    v = ctx.case.verifications.filter(completed_on__isnull=True).order_by("-pk").first()
    if v is None:
        raise Refused(_("乡镇尚未提请核对。"))
    run = ctx.data.get("_run")  # made before the transaction (perform)
    if run is None:
        try:
            run = verification.run_for_case(case=ctx.case, actor=ctx.actor, on=ctx.on)
        except verification.NotAuthorised as e:
            raise Refused(str(e)) from e
    v.started_on = v.completed_on = ctx.on
    v.conclusion, v.is_stub, v.run = run.conclusion, False, run
    v.summary = verification.summary(run)[:4000]
    v.save()
    ctx.detail |= {"conclusion": run.conclusion, "run": run.pk, "status": run.status}


def _latest_run(case: Case) -> Any:
    from jiuzhu.verification.models import VerificationRun

    return VerificationRun.objects.filter(case=case).exclude(status="refused").order_by("-pk").first()


def h_contest_verification(ctx: Ctx) -> None:
    """The applicant contests a finding of the 核对 with evidence (REFERENCE §3.1 step 5)."""
    from jiuzhu.verification.models import VerificationObjection

    run = _latest_run(ctx.case)
    if run is None:
        raise Refused(_("尚无核对结果，无需登记异议。"))
    _need(ctx, "content")
    fid = str(ctx.data.get("finding") or "")
    finding = run.findings.filter(pk=int(fid)).first() if fid.isdigit() else None
    VerificationObjection.objects.create(run=run, finding=finding, content=str(ctx.data["content"])[:4000],
                                         attachment=ctx.data.get("attachment"), submitted_on=ctx.on)  # fmt: skip
    ctx.reason = str(ctx.data["content"])[:2000]
    ctx.detail["finding"] = finding.pk if finding else None


def h_recheck_verification(ctx: Ctx) -> None:
    """The township re-checks: an upheld objection sets that finding aside in later runs (the kind, up to the
    objection's date) and asks the 核对 centre to run again; a dismissed one keeps the result."""
    from jiuzhu.verification.models import VerificationObjection

    oid = str(ctx.data.get("objection") or "")
    o = VerificationObjection.objects.filter(pk=int(oid), run__case=ctx.case, status="open").first() if oid.isdigit() else None
    if o is None:
        raise Refused(_("请选择待复查的核对异议。"))
    outcome = ctx.data.get("outcome")
    if outcome not in ("upheld", "dismissed"):
        raise Refused(_("请选择复查结论。"))
    _need(ctx, "result")
    o.status, o.result, o.handled_by, o.handled_on = outcome, str(ctx.data["result"])[:4000], ctx.actor, ctx.on
    o.save()
    ctx.reason = o.result[:2000]
    ctx.detail |= {"objection": o.pk, "outcome": outcome}
    if outcome == "upheld" and not ctx.case.verifications.filter(completed_on__isnull=True).exists():
        VerificationRequest.objects.create(case=ctx.case, requested_on=ctx.on, requested_by=ctx.actor)


def h_extend(ctx: Ctx) -> None:
    key = ctx.data.get("extension")
    if key not in EXTENSION_REASONS:
        raise Refused(_("请选择延长办理时限的法定情形。"))
    if ctx.case.extended:
        raise Refused(_("已延长过办理时限。"))
    ctx.changes |= {"extended": True, "extension_reason": EXTENSION_REASONS[key]}
    ctx.reason = EXTENSION_REASONS[key] + (f"：{ctx.reason}" if ctx.reason else "")


def _investigation_done(case: Case, since_pk: int = 0) -> bool:
    return case.investigations.filter(level="township", pk__gt=since_pk).exists() or case.investigations.filter(
        level="county", pk__gt=since_pk).exists()  # fmt: skip


def h_propose(ctx: Ctx) -> None:
    """初审意见 and 公示. Needs the household, a signed home investigation, the verification result (低保/特困/
    低保边缘/刚性支出), no open deficiency notice, and the engine's result for the amount on the board."""
    case, problems = ctx.case, []
    _need(ctx, "opinion")
    if case.household_id is None:
        problems.append(_("尚未关联在册家庭（请先在家庭户中登记该户及其成员、收入和财产）。"))
    if not case.investigations.exists():
        problems.append(_("尚未录入入户调查。"))
    if case.programme in (Programme.DIBAO, Programme.TEKUN, Programme.NEAR_DIBAO, Programme.RIGID) and not \
            case.verifications.filter(completed_on__isnull=False).exists():
        problems.append(_("尚无家庭经济状况核对结果。"))
    if case.material_notices.filter(supplied_on__isnull=True).exists():
        problems.append(_("补正材料尚未补齐。"))
    if problems:
        raise Refused(*problems)
    result = assess.run(case, ctx.on)[case.programme]
    ctx.detail |= {"opinion": str(ctx.data["opinion"])[:2000], "proposal": "approve" if result.eligible else "reject",
                   "amount": str(result.amount) if result.ok else None}  # fmt: skip
    ctx.reason = str(ctx.data["opinion"])[:2000]
    if procedure(case.programme).publicity:
        _withdraw_publicity(ctx)
        if not case.no_publicity:
            _post(ctx, Publicity.Kind.PUBLICITY, result.amount if result.ok else None, ends=add_calendar_days(ctx.on, 7))
    ctx.changes["owner"] = ctx.actor


def _post(ctx: Ctx, kind: str, amount: Decimal | None, ends: dt.date | None) -> None:
    """Post on the village board — never for a minor: not when the applicant or the household's head (whose
    masked name the board shows) is under 18 (REFERENCE §2.6)."""
    case = ctx.case
    head = case.household.head_name if case.household is not None and case.household.head_name else case.applicant_name
    if case.applicant_is_minor or _head_is_minor(case, ctx.on):
        return
    if len(case.area_code) != 12:  # boards are per village; a case not placed in a village is not posted
        ctx.detail["not_posted"] = "no_village"
        return
    Publicity.objects.create(case=case, kind=kind, area_code=case.area_code, programme=case.programme,
                             masked_name=mask_name(head), household_size=_size(case), amount=amount,
                             starts_on=ctx.on, ends_on=ends)  # fmt: skip


def _head_is_minor(case: Case, on: dt.date) -> bool:
    from jiuzhu.core.idnumber import age_on
    from jiuzhu.registry.models import Person

    if case.household is None:
        return False
    head = Person.objects.filter(household=case.household, relation="02").order_by("pk").first()
    return head is not None and age_on(head.birth_date, on) < 18


def _size(case: Case) -> int:
    if case.household is not None:
        return case.household.member_count or case.household_size
    return case.household_size


def h_record_objection(ctx: Ctx) -> None:
    _need(ctx, "content")
    pub = ctx.case.publicities.filter(kind=Publicity.Kind.PUBLICITY, withdrawn_on__isnull=True).order_by("-pk").first()
    Objection.objects.create(case=ctx.case, publicity=pub, received_on=ctx.on,
                             raised_by=str(ctx.data.get("raised_by", ""))[:64], content=str(ctx.data["content"])[:4000])  # fmt: skip
    ctx.reason = str(ctx.data["content"])[:2000]


def _open_objection(case: Case) -> Objection | None:
    return case.objections.filter(resolution="").order_by("-pk").first()


def h_reinvestigate(ctx: Ctx) -> None:
    o = _open_objection(ctx.case)
    if o is not None:
        o.resolution = "reinvestigate"
        o.save(update_fields=["resolution"])
    _withdraw_publicity(ctx)


def h_democratic_review(ctx: Ctx) -> None:
    _need(ctx, "participants", "minutes")
    DemocraticReview.objects.create(case=ctx.case, held_on=ctx.data.get("held_on") or ctx.on,
                                    participants=str(ctx.data["participants"])[:2000], minutes=str(ctx.data["minutes"])[:8000],
                                    votes_for=int(ctx.data.get("votes_for") or 0), votes_against=int(ctx.data.get("votes_against") or 0))  # fmt: skip
    o = _open_objection(ctx.case)
    if o is not None:
        o.resolution, o.outcome = "review", str(ctx.data["minutes"])[:2000]
        o.save(update_fields=["resolution", "outcome"])


def h_submit_to_county(ctx: Ctx) -> None:
    case = ctx.case
    if case.state == "publicity":
        pub = case.publicities.filter(kind=Publicity.Kind.PUBLICITY, withdrawn_on__isnull=True).order_by("-pk").first()
        if pub is not None and pub.ends_on is not None and ctx.on <= pub.ends_on:
            raise Refused(_("公示期至%(d)s结束，期满无异议后方可报县。") % {"d": pub.ends_on.isoformat()})
    elif case.state == "objection":
        o = case.objections.order_by("-pk").first()
        if o is not None and o.resolution != "review":
            raise Refused(_("公示有异议：须重新调查或组织民主评议后再报县。"))
    elif case.state == "investigating":  # programmes without publicity
        h_ready(ctx)
    _withdraw_publicity(ctx)
    if case.programme == Programme.TEKUN and not case.random_check:
        ctx.changes["random_check"] = _draw_random_check(case, ctx.setting)
        ctx.detail["random_check"] = ctx.changes["random_check"]


def h_ready(ctx: Ctx) -> None:
    case, problems = ctx.case, []
    if case.household_id is None:
        problems.append(_("尚未关联在册家庭。"))
    if not case.investigations.exists():
        problems.append(_("尚未录入入户调查。"))
    if case.material_notices.filter(supplied_on__isnull=True).exists():
        problems.append(_("补正材料尚未补齐。"))
    if problems:
        raise Refused(*problems)


def _draw_random_check(case: Case, setting: ProcedureSetting) -> bool:
    """≥ 30 % of 特困 cases of the county this year get a county on-site check: select while the share so far is
    below the quota, otherwise draw at the quota's rate — so the share never falls below it."""
    qs = Case.objects.filter(programme=Programme.TEKUN, area_code__startswith=case.area_code[:6],
                             received_on__year=case.received_on.year, state__in=["county_review", "approved", "rejected",
                                                                                 "rejection_notified"])  # fmt: skip
    total = qs.count() + 1
    selected = qs.filter(random_check=True).count()
    pct = setting.tekun_check_pct
    if selected < math.ceil(total * pct / 100):
        return True
    return secrets.randbelow(100) < pct


def _county_visit_required(case: Case) -> str:
    if case.conflict_flag:
        return _("该案件已作近亲属备案，须由县级民政部门入户调查。")
    if case.complaint_flag:
        return _("该案件有投诉举报，须由县级民政部门入户调查。")
    if case.random_check:
        return _("该案件被抽中县级入户抽查。")
    return ""


def h_confirm(ctx: Ctx) -> None:
    case, problems = ctx.case, []
    need = _county_visit_required(case)
    if need and not case.investigations.filter(level="county").exists():
        problems.append(need)
    if case.programme == Programme.TEKUN and not case.self_care.exists():
        problems.append(_("尚未进行生活自理能力评估。"))
    if problems:
        raise Refused(*problems)
    result = assess.run(case, ctx.on)[case.programme]
    if not result.ok:
        raise Refused(_("政策引擎无法计算：%(p)s") % {"p": result.problem})
    if not result.eligible:
        raise Refused(_("政策引擎判定不符合条件：%(r)s。请退回补充调查或作出不予批准决定。") % {"r": "；".join(result.reasons[:4])})
    if case.programme == Programme.TEMPORARY:
        level = result.details.get("approval_level")
        if level == "case_conference":
            raise Refused(_("金额超过县级审批额度，须提交一事一议。"))
    _decide(ctx, result, level="township" if ctx.actor.role == Role.CASEWORKER else "county")


def _decide(ctx: Ctx, result: assess.Assessment, *, level: str, amount: Decimal | None = None) -> None:
    case = ctx.case
    amount = result.amount if amount is None else amount
    start = first_day_of_next_month(ctx.on) if case.programme != Programme.TEMPORARY else None
    decision = Decision.objects.create(case=case, approved=True, decided_on=ctx.on, amount=amount, start_month=start,
                                       reasons="；".join(result.reasons), explanation=result.as_json(), level=level,
                                       decided_by=ctx.actor)  # fmt: skip
    # 按月发放 from the start month, in the same transaction (payments imports cases: imported here, not at the top)
    from jiuzhu.payments.models import MONTHLY_PROGRAMMES
    from jiuzhu.payments.services import entitlements_from_decisions

    if case.programme in MONTHLY_PROGRAMMES and start is not None:
        entitlements_from_decisions(decisions=Decision.objects.filter(pk=decision.pk))
    ctx.changes |= {"amount": amount, "start_month": start, "decided_on": ctx.on}
    ctx.detail |= {"amount": str(amount), "level": level, "start_month": start.isoformat() if start else None}
    ctx.public_note = (_("已批准，金额 %(a)s 元，自 %(m)s 起发放") % {"a": amount, "m": f"{start:%Y年%m月}"} if start
                       else _("已批准临时救助 %(a)s 元") % {"a": amount})  # fmt: skip
    if procedure(case.programme).publication and not case.no_publicity:
        _post(ctx, Publicity.Kind.PUBLICATION, amount, ends=None)


def h_reject(ctx: Ctx) -> None:
    _need(ctx, "reason")
    Decision.objects.create(case=ctx.case, approved=False, decided_on=ctx.on, reasons=ctx.reason,
                            level="county" if ctx.actor.role == Role.REVIEWER else "township", decided_by=ctx.actor)  # fmt: skip
    ctx.changes["decided_on"] = ctx.on
    _withdraw_publicity(ctx)


def h_notify_rejection(ctx: Ctx) -> None:
    ctx.changes["closed_on"] = ctx.on


def h_return(ctx: Ctx) -> None:
    _need(ctx, "reason")


def h_assess_self_care(ctx: Ctx) -> None:
    from jiuzhu.registry.models import Person

    pid = str(ctx.data.get("person") or "")
    person = Person.objects.filter(pk=int(pid), household_id=ctx.case.household_id).first() if pid.isdigit() and ctx.case.household_id else None
    if person is None:
        raise Refused(_("请选择本户的被评估人。"))
    _need(ctx, "assessor")
    items = ("eating", "dressing", "transfer", "toileting", "walking", "bathing")
    ok = {k: bool(ctx.data.get(k)) for k in items}
    failed = sum(1 for v in ok.values() if not v)
    level = "full" if failed == 0 else ("partial" if failed <= 3 else "none")
    SelfCareAssessment.objects.create(case=ctx.case, person=person, assessed_on=ctx.on, failed=failed, level=level,
                                      assessor=str(ctx.data["assessor"])[:64], **ok)  # fmt: skip
    from jiuzhu.registry.models import PersonEconomy

    # The engine reads the registered indicator count; the assessment is where it comes from (REFERENCE §4.3).
    PersonEconomy.objects.filter(person=person).update(self_care_failed=failed, version=F("version") + 1)
    from jiuzhu.registry.models import Person as P

    P.objects.filter(pk=person.pk).update(self_care=level, version=F("version") + 1)
    ctx.detail |= {"failed": failed, "level": level}


def _money(ctx: Ctx, key: str) -> Decimal:
    try:
        v = Decimal(str(ctx.data.get(key, "")).strip())
    except InvalidOperation as e:
        raise Refused(_("金额格式不正确。")) from e
    if v <= 0 or v != v.quantize(Decimal("0.01")) or v > Decimal("1000000"):
        raise Refused(_("金额须大于0，最多两位小数。"))
    return v


def reserve_balance(township: str) -> Decimal:
    last = ReserveEntry.objects.filter(township_code=township).order_by("-seq").first()
    return last.balance if last else Decimal("0.00")


def reserve_append(*, township: str, kind: str, amount: Decimal, on: dt.date, actor: Any, note: str = "",
                   case: Case | None = None) -> ReserveEntry:  # fmt: skip
    """Append to the township's reserve ledger. The (township, seq) constraint serialises concurrent appends;
    the balance may never go below zero (a database check as well)."""
    last = ReserveEntry.objects.filter(township_code=township).order_by("-seq").first()
    balance = (last.balance if last else Decimal("0.00")) + amount
    if balance < 0:
        raise Refused(_("乡镇备用金余额不足（当前余额 %(b)s 元），请先申请县级拨付。") % {"b": last.balance if last else "0.00"})
    try:
        with transaction.atomic():
            return ReserveEntry.objects.create(township_code=township, area_code=township, seq=(last.seq if last else 0) + 1,
                                               kind=kind, amount=amount, balance=balance, case=case, on=on, note=note[:200], by=actor)  # fmt: skip
    except IntegrityError as e:
        raise Stale(_("备用金账目已被他人更新，请重试。")) from e


def h_advance_pay(ctx: Ctx) -> None:
    """先行救助: pay now from the township reserve fund, within the township's approval limit."""
    case = ctx.case
    if case.temp_type != TempType.EMERGENCY:
        raise Refused(_("先行救助仅适用于急难型临时救助。"))
    amount = _money(ctx, "amount")
    limit = township_limit(case, ctx.on)
    if limit is not None and amount > limit:
        raise Refused(_("先行救助金额不能超过乡镇审批额度 %(l)s 元。") % {"l": limit})
    reserve_append(township=case.township_code, kind=ReserveEntry.Kind.PAYMENT, amount=-amount, on=ctx.on,
                   actor=ctx.actor, note=f"{case.case_no} 先行救助", case=case)  # fmt: skip
    Instalment.objects.create(case=case, seq=1, amount=amount, due_on=ctx.on, paid_on=ctx.on, from_reserve=True)
    if case.accepted_on is None:
        ctx.changes["accepted_on"] = ctx.on
    ctx.changes["amount"] = amount
    ctx.detail["amount"] = str(amount)


def township_limit(case: Case, on: dt.date) -> Decimal | None:
    from jiuzhu.policy.divisions import normalise
    from jiuzhu.policyadmin.store import current_store

    v = current_store().resolve("temp.township_limit", normalise(case.area_code), on)
    return None if v is None else Decimal(str(v.value))


def h_complete_paperwork(ctx: Ctx) -> None:
    case, problems = ctx.case, []
    if Signature.Kind.COMMITMENT not in set(case.signatures.values_list("kind", flat=True)):
        problems.append(_("申请人尚未签署如实申报承诺书"))
    if not case.investigations.exists():
        problems.append(_("尚未录入调查核实情况（急难情形可电话、视频核实）。"))
    if problems:
        raise Refused(*problems)
    _need(ctx, "reason")
    result = assess.Assessment(case.programme, True, True, case.amount, [ctx.reason])
    _decide(ctx, result, level="township", amount=case.amount)
    ctx.changes["closed_on"] = ctx.on


def h_township_approve(ctx: Ctx) -> None:
    case = ctx.case
    pub = case.publicities.filter(kind=Publicity.Kind.PUBLICITY, withdrawn_on__isnull=True).order_by("-pk").first()
    if pub is not None and pub.ends_on is not None and ctx.on <= pub.ends_on:
        raise Refused(_("公示期至%(d)s结束，期满后方可审批。") % {"d": pub.ends_on.isoformat()})
    result = assess.run(case, ctx.on)[case.programme]
    if not result.ok or not result.eligible:
        raise Refused(_("政策引擎判定不符合条件：%(r)s") % {"r": result.problem or "；".join(result.reasons[:4])})
    if result.details.get("approval_level") != "township":
        raise Refused(_("金额 %(a)s 元超过乡镇审批额度，须报县级审批。") % {"a": result.amount})
    _withdraw_publicity(ctx)
    _decide(ctx, result, level="township")


def h_conference_decide(ctx: Ctx) -> None:
    _need(ctx, "participants", "minutes")
    amount = _money(ctx, "amount")
    Conference.objects.create(case=ctx.case, held_on=ctx.data.get("held_on") or ctx.on,
                              participants=str(ctx.data["participants"])[:2000], minutes=str(ctx.data["minutes"])[:8000],
                              amount=amount)  # fmt: skip
    result = assess.run(ctx.case, ctx.on)[ctx.case.programme]
    if not result.ok or not result.eligible:
        result = assess.Assessment(ctx.case.programme, True, True, amount, [_("一事一议决定")])
    _decide(ctx, result, level="conference", amount=amount)


def h_pay_instalment(ctx: Ctx) -> None:
    amount = _money(ctx, "amount")
    paid = sum((i.amount for i in ctx.case.instalments.all()), Decimal("0.00"))
    if ctx.case.amount is None or paid + amount > ctx.case.amount:
        raise Refused(_("分阶段发放合计不能超过批准金额（已发 %(p)s 元）。") % {"p": paid})
    seq = (ctx.case.instalments.order_by("-seq").values_list("seq", flat=True).first() or 0) + 1
    Instalment.objects.create(case=ctx.case, seq=seq, amount=amount, due_on=ctx.data.get("due_on") or ctx.on)
    ctx.detail["amount"] = str(amount)


def h_refer_out(ctx: Ctx) -> None:
    _need(ctx, "to_body", "reason")
    Transfer.objects.create(case=ctx.case, kind="referral", from_area=ctx.case.area_code,
                            to_body=str(ctx.data["to_body"])[:100], reason=ctx.reason, on=ctx.on, by=ctx.actor)  # fmt: skip
    if ctx.case.programme == Programme.HELP:
        ctx.changes["closed_on"] = ctx.on
    ctx.public_note = _("已转介至%(b)s跟进") % {"b": str(ctx.data["to_body"])[:100]}


def h_triage(ctx: Ctx) -> None:
    """求助 → one application per programme chosen (the needs check proposes them)."""
    progs = [p for p in ctx.data.get("programmes", []) if p in Programme.values and p != Programme.HELP]
    if not progs:
        raise Refused(_("请至少选择一个救助项目。"))
    case = ctx.case
    applicant_id = crypto.decrypt(case.applicant_id_enc, context="case.applicant_id") if case.applicant_id_enc else ""
    phone = crypto.decrypt(case.applicant_phone_enc, context="case.phone") if case.applicant_phone_enc else ""
    created = []
    for p in progs:
        child, _code = intake(actor=ctx.actor, programme=p, channel=case.channel, area_code=case.area_code,
                              applicant_name=case.applicant_name, applicant_id=applicant_id, applicant_phone=phone,
                              household_size=case.household_size, summary=case.summary, received_on=ctx.on, parent=case,
                              temp_type=str(ctx.data.get("temp_type") or "") if p == Programme.TEMPORARY else "",
                              temp_tier=int(ctx.data.get("temp_tier") or 1) if p == Programme.TEMPORARY else 0)  # fmt: skip
        child.tracking_hash = case.tracking_hash  # the applicant follows all of them with the request's code
        Case.objects.filter(pk=child.pk).update(tracking_hash=case.tracking_hash)
        created.append(child.case_no)
    ctx.changes["closed_on"] = ctx.on
    ctx.detail["programmes"] = progs
    ctx.detail["cases"] = created


HANDLERS: dict[str, Callable[[Ctx], None]] = {
    "accept": h_accept, "request_materials": h_request_materials, "supply_materials": h_supply_materials,
    "sign": h_sign, "attach": h_attach, "link_household": h_link_household,
    "exclude_publicity": h_exclude_publicity, "set_tier": h_set_tier, "record_complaint": h_record_complaint, "transfer": h_transfer, "withdraw": h_withdraw, "terminate": h_terminate,
    "record_investigation": h_record_investigation, "request_verification": h_request_verification,
    "run_verification": h_run_verification,
    "contest_verification": h_contest_verification, "recheck_verification": h_recheck_verification, "extend": h_extend, "propose": h_propose,
    "record_objection": h_record_objection, "reinvestigate": h_reinvestigate, "democratic_review": h_democratic_review,
    "submit_to_county": h_submit_to_county, "confirm": h_confirm, "reject": h_reject,
    "notify_rejection": h_notify_rejection, "return_to_township": h_return, "assess_self_care": h_assess_self_care,
    "advance_pay": h_advance_pay, "complete_paperwork": h_complete_paperwork, "township_approve": h_township_approve,
    "refer_conference": h_return, "conference_decide": h_conference_decide, "pay_instalment": h_pay_instalment,
    "refer_out": h_refer_out, "triage": h_triage,
}  # fmt: skip


def issue_document(*, case: Case, kind: str, actor: Any, on: dt.date | None = None) -> IssuedDocument:
    """The document's record with its verification code (made once per case and kind)."""
    from jiuzhu.core.pdf import make_verification_code

    doc = IssuedDocument.objects.filter(case=case, kind=kind).first()
    if doc is not None:
        return doc
    with transaction.atomic():
        doc = IssuedDocument.objects.create(case=case, kind=kind, issued_on=on or timezone.localdate(), issued_by=actor,
                                            verification_code=make_verification_code(case.case_no, kind).replace("-", ""))  # fmt: skip
        audit_record(action="case.document_issued", actor=actor, obj=case, detail={"kind": kind})
    return doc


def open_cases_q() -> Q:
    return Q(state__in=list(PRE_DECISION | {"advance_paid", "rejected"}))
