"""``/cases``: requests for help from the 12345/12349 hotline and other departments, a case's status, and the
case actions that need no file upload.

Who may call: an **integration account is a caseworker account** (role ``caseworker``) of the receiving township
— or of the county, for a county desk that dispatches to its townships. There is no separate hotline role: the
account registers the request as the township's one window would (首问负责: it is the case's first officer until
a caseworker of the township acts on it), and it can reach only the cases and areas under its own division.

* ``POST /cases/requests`` — a request for help (``programme`` "help", the default) or an application for a
  named programme; ``area_code`` (township or village) must lie in the caller's area, else 404 like every object
  outside it. Answers ``{case_no, tracking_code, state}`` with 201; the tracking code (for the applicant's status
  look-up on the portal) is returned this once and never again — only its keyed hash is kept.
* ``GET /cases/{case_no}`` — state, deadlines with their due dates, transitions with dates and action keys, the
  actions the caller may take now. The applicant's name is masked for roles without ``view_names``.
* ``POST /cases/{case_no}/actions/{action}`` — ``{version, on?, data}`` through ``cases.services.perform``, with
  ``data`` validated by the same form as the case page's action (unknown keys are a 422). 403 for a role that
  may not take the action, 409 with the reason when someone else changed the case first, 422 with the step's
  missing conditions. Actions that need a file (``attach``) are for the case page only.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal, get_args

from django import forms as djforms
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Path, Router, Schema, Status

from jiuzhu.accounts import roles
from jiuzhu.accounts.roles import Role
from jiuzhu.cases import deadlines, services
from jiuzhu.cases.forms import ACTION_FORMS, NEEDS_CASE, ActionForm
from jiuzhu.cases.models import Case, Channel, Programme, TempType
from jiuzhu.cases.procedures import PUBLIC_STATES, STATES, procedure
from jiuzhu.core import idnumber
from jiuzhu.core.audit import audit_record
from jiuzhu.core.models import Division
from jiuzhu.core.scoping import area_visible, can, get_scoped_or_404

from ..present import Viewer
from ..schemas import MAX_VERSION, TEXT_PATTERN, ErrorOut, Strict, ValidationErrorOut
from .common import READ_ERRORS, WRITE_ERRORS, user_of

router = Router(tags=["cases"])

ProgrammeCode = Literal["help", "dibao", "tekun", "temporary", "near_dibao", "rigid", "two_subsidies", "elderly", "child"]
assert set(get_args(ProgrammeCode)) == set(Programme.values)
CaseNo = Path(..., min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")
ActionKey = Path(..., min_length=1, max_length=32, pattern=r"^[a-z_]+$")
MAX_DATA_KEYS = 40
_TEXT = re.compile(TEXT_PATTERN)


# --- shapes -----------------------------------------------------------------------------------------------
class CaseRequestIn(Strict):
    programme: ProgrammeCode = Field("help", description="help: a request for help the township triages; or a programme")
    channel: Literal["hotline", "department"] = Field(description="hotline: 12345/12349; department: 部门转办")
    area_code: str = Field(pattern=r"^(\d{9}|\d{12})$", description="Township (9 digits) or village (12) in your area")
    applicant_name: str = Field(min_length=1, max_length=64)
    applicant_id: str = Field("", max_length=24, description="ID number; required for a named programme")
    applicant_phone: str = Field("", max_length=20)
    household_size: int = Field(1, ge=1, le=30)
    summary: str = Field(min_length=1, max_length=2000, description="What happened / what help is asked for")
    temp_type: Literal["", "emergency", "expenditure"] = Field("", description="临时救助: 急难型 or 支出型 (required)")
    temp_tier: int | None = Field(None, ge=1, le=3)
    emergency_area_code: str = Field("", pattern=r"^(\d{6}|\d{9}|\d{12})?$", description="Where the emergency happened")


class CaseCreatedOut(Schema):
    case_no: str
    tracking_code: str = Field(description="For the applicant's status look-up; shown this once, never again")
    state: str


class ActionIn(Strict):
    version: int = Field(ge=1, le=MAX_VERSION, description="The case version you read (optimistic lock)")
    on: dt.date | None = Field(None, description="The working date the action counts for (default today)")
    data: dict[str, Any] = Field(default_factory=dict, description="The action's fields, as on the case page's form")


class DeadlineOut(Schema):
    key: str
    label: str
    started_on: dt.date
    due_on: dt.date | None = Field(description="null while the clock is paused (补正)")
    estimated: bool = Field(description="Beyond the known holiday calendar: counted Monday–Friday")
    met_on: dt.date | None
    level: str
    status: str = Field(description="met | met_late | overdue | due_soon | open | paused")


class TransitionOut(Schema):
    action: str
    label: str
    from_state: str
    to_state: str
    on: dt.date
    at: dt.datetime
    actor: str
    public_note: str


class ActionOut(Schema):
    key: str
    label: str
    needs_file: bool = Field(description="Only on the case page (a file upload)")


class CaseOut(Schema):
    case_no: str
    programme: str
    programme_label: str
    channel: str
    state: str
    state_label: str
    public_state: str = Field(description="What the applicant sees on the portal")
    area_code: str
    township_code: str
    applicant_name: str = Field(description="Full name for roles with view_names, otherwise masked (张*三)")
    household_size: int
    received_on: dt.date
    accepted_on: dt.date | None
    decided_on: dt.date | None
    closed_on: dt.date | None
    amount: str | None
    version: int
    deadlines: list[DeadlineOut]
    transitions: list[TransitionOut]
    actions: list[ActionOut] = Field(description="What you may do now")


class StaleOut(Schema):
    detail: str
    code: str


# --- helpers ----------------------------------------------------------------------------------------------
def _form_class(action: str) -> type[ActionForm]:
    return ACTION_FORMS.get(action, ActionForm)


def _needs_file(action: str) -> bool:
    return any(isinstance(f, djforms.FileField) and f.required for f in _form_class(action).base_fields.values())


def case_out(case: Case, user: Any) -> dict[str, Any]:
    v = Viewer(user)
    today = timezone.localdate()
    proc = procedure(case.programme)
    labels = {a.key: str(a.label) for a in proc.actions.values()}
    return {
        "case_no": case.case_no, "programme": case.programme, "programme_label": str(case.get_programme_display()),
        "channel": case.channel, "state": case.state, "state_label": str(STATES.get(case.state, case.state)),
        "public_state": str(PUBLIC_STATES.get(case.state, "")), "area_code": case.area_code,
        "township_code": case.township_code, "applicant_name": v.name(case.applicant_name),
        "household_size": case.household_size, "received_on": case.received_on, "accepted_on": case.accepted_on,
        "decided_on": case.decided_on, "closed_on": case.closed_on,
        "amount": str(case.amount) if case.amount is not None else None, "version": case.version,
        "deadlines": [{"key": d.key, "label": d.label, "started_on": d.started_on, "due_on": d.due_on,
                       "estimated": d.estimated, "met_on": d.met_on, "level": d.level,
                       "status": deadlines.status(d, today)} for d in case.deadlines.order_by("started_on", "pk")],
        "transitions": [{"action": t.action, "label": labels.get(t.action) or services.label_of(case.programme, t.action),
                         "from_state": t.from_state, "to_state": t.to_state,
                         "on": t.on, "at": t.at, "actor": t.actor_name, "public_note": t.public_note}
                        for t in case.transitions.order_by("pk")],
        "actions": [{"key": a.key, "label": str(a.label), "needs_file": _needs_file(a.key)}
                    for a in services.available_actions(user, case)],
    }  # fmt: skip


def _scoped_case(request: HttpRequest, case_no: str) -> Case:
    return get_scoped_or_404(Case.objects.select_related("household"), user_of(request), roles.VIEW, case_no=case_no)


def _refused(messages: list[str], loc: list[str | int] | None = None) -> Status:
    return Status(422, {"detail": [{"loc": loc or ["body"], "msg": m, "type": "refused"} for m in messages]})


def _bad_value(value: Any) -> bool:
    """A form value is a string, number, boolean or a list of them (checkboxes), without control characters."""
    if isinstance(value, str):
        return not _TEXT.match(value)
    if isinstance(value, list):
        return any(isinstance(v, list) or _bad_value(v) for v in value)
    return isinstance(value, dict)


# --- routes -----------------------------------------------------------------------------------------------
@router.post(
    "/requests",
    response={201: CaseCreatedOut, **WRITE_ERRORS},
    summary="Register a request for help from the hotline or another department",
    description=(
        "For an integration account: a **caseworker** account of the receiving township (or county). `area_code` "
        "outside your area is 404; a role that may not register requests gets 403. An invalid ID number is a 422 "
        "on `applicant_id`. The tracking code is returned once."
    ),
)
def case_request(request: HttpRequest, payload: CaseRequestIn):
    user = user_of(request)
    if not can(user, roles.VIEW):
        raise PermissionDenied
    if not area_visible(user, payload.area_code, roles.VIEW):
        raise Http404
    if user.role != Role.CASEWORKER:
        audit_record(action="case.create", actor=user, object_type="cases.case", object_area=payload.area_code,
                     result="denied", detail={"channel": payload.channel})  # fmt: skip
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    div = Division.objects.filter(code=payload.area_code).first()
    if div is None or div.level < 4:
        errors["area_code"] = [_("请选择乡镇（街道）或村（社区）。")]
    applicant_id = ""
    if payload.applicant_id.strip():
        try:
            applicant_id = idnumber.parse(payload.applicant_id).value
        except idnumber.InvalidIdNumber as e:
            errors["applicant_id"] = [e.message]
    elif payload.programme != Programme.HELP:
        errors["applicant_id"] = [_("申请救助须填写申请人身份证号。")]
    phone = payload.applicant_phone.strip()
    if phone and not (phone.isdigit() and 7 <= len(phone) <= 12):
        errors["applicant_phone"] = [_("电话号码应为7至12位数字。")]
    if payload.programme == Programme.TEMPORARY and payload.temp_type not in TempType.values:
        errors["temp_type"] = [_("请选择临时救助类型。")]
    if payload.emergency_area_code and not Division.objects.filter(code=payload.emergency_area_code).exists():
        errors["emergency_area_code"] = [_("急难发生地的区划代码不存在。")]
    if errors:
        raise DjangoValidationError(errors)
    try:
        case, code = services.intake(
            actor=user, programme=payload.programme, channel=Channel(payload.channel).value,
            area_code=payload.area_code, applicant_name=payload.applicant_name, applicant_id=applicant_id,
            applicant_phone=phone, household_size=payload.household_size, summary=payload.summary,
            temp_type=payload.temp_type, temp_tier=payload.temp_tier or 0,
            emergency_area_code=payload.emergency_area_code,
        )  # fmt: skip
    except services.Forbidden:
        raise PermissionDenied from None
    except services.Refused as e:
        return _refused(e.messages)
    return Status(201, {"case_no": case.case_no, "tracking_code": code, "state": case.state})


@router.get("/{case_no}", response={200: CaseOut, **READ_ERRORS}, summary="A case's status, deadlines and history")
def case_get(request: HttpRequest, case_no: str = CaseNo):
    return case_out(_scoped_case(request, case_no), user_of(request))


@router.post(
    "/{case_no}/actions/{action}",
    response={200: CaseOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: StaleOut, 422: ValidationErrorOut},
    summary="Take an action on a case",
    description=(
        "`data` holds the action's fields as on the case page (e.g. `accept`: `signer_name`, `signed_commitment`, "
        "`signed_authorisation`; `refer_out`: `to_body`, `reason`). 403: your role may not take it; 409: the case "
        "changed since you read `version` (the detail says who did what); 422: invalid fields (`loc`) or the step's "
        "conditions are not met (one message each). Actions that need a file upload are on the case page only."
    ),
)
def case_action(request: HttpRequest, payload: ActionIn, case_no: str = CaseNo, action: str = ActionKey):
    user = user_of(request)
    case = _scoped_case(request, case_no)
    act = procedure(case.programme).actions.get(action)
    if act is None:
        raise Http404
    if not services.may(user, case, act):
        audit_record(action=f"case.{action}", actor=user, obj=case, result="denied")
        raise PermissionDenied
    if _needs_file(action):
        return _refused([_("该操作需要上传文件，请在案件页面办理。")], ["path", "action"])
    cls = _form_class(action)
    fields = set(cls.base_fields) - {"version", "on"}
    problems: list[dict[str, Any]] = []
    if len(payload.data) > MAX_DATA_KEYS:
        problems.append({"loc": ["body", "data"], "msg": _("字段过多。"), "type": "value_error"})
    for key, value in list(payload.data.items())[:MAX_DATA_KEYS]:
        if key not in fields or isinstance(cls.base_fields[key], djforms.FileField):
            problems.append({"loc": ["body", "data", key], "msg": _("该操作没有此字段。"), "type": "extra_forbidden"})
        elif _bad_value(value):
            problems.append({"loc": ["body", "data", key], "msg": _("不能包含控制字符或嵌套对象。"), "type": "value_error"})
    if problems:
        return Status(422, {"detail": problems})
    form_data = {k: v for k, v in payload.data.items() if v is not None}
    form_data |= {"version": payload.version, "on": payload.on.isoformat() if payload.on else ""}
    form = cls(form_data, {}, **({"case": case} if action in NEEDS_CASE else {}))
    if not form.is_valid():
        return Status(422, {"detail": [
            {"loc": ["body"] if k == "__all__" else ["body", k] if k in ("version", "on") else ["body", "data", k],
             "msg": str(m), "type": "value_error"}
            for k, ms in form.errors.items() for m in ms]})  # fmt: skip
    data = dict(form.cleaned_data)
    version, on = data.pop("version"), data.pop("on")
    data.pop("file", None)
    try:
        case = services.perform(actor=user, case_id=case.pk, action=action, version=version, data=data, on=on)
    except services.Forbidden:
        raise PermissionDenied from None
    except services.Stale as e:
        return Status(409, {"detail": e.messages[0], "code": "stale_version"})
    except services.Refused as e:
        return _refused(e.messages)
    # a transfer moves the case out of the caller's area: answer with what they just did, no actions left
    return case_out(Case.objects.get(pk=case.pk), user)
