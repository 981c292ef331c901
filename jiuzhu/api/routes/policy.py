"""``/policy/evaluate``: the policy engine on one household given as JSON (docs/policy-input.md), the same result
as ``jiuzhu evaluate``. The body is read as JSON with decimals (never float) and validated by the engine, which
names every field at fault; the household's ``area`` must lie in the caller's area (else 404, as for stored
objects outside it)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from pydantic import BaseModel, ConfigDict

from jiuzhu.accounts import roles
from jiuzhu.core.scoping import area_visible, can
from jiuzhu.policy import divisions, inputs
from jiuzhu.policy.errors import ParameterMissing, PolicyInputError
from jiuzhu.policyadmin.management import evaluation

from ..schemas import ErrorOut, FieldError
from .common import user_of

router = Router(tags=["policy"])
BODY_LIMIT = 1_000_000  # one household; DATA_UPLOAD_MAX_MEMORY_SIZE bounds it anyway


class PolicyError(Schema):
    field: str = Field(description="JSON path of the field at fault, e.g. members[1].birth_date")
    message: str
    parameter: str | None = Field(None, description="For a missing parameter value: its key")
    area: str | None = None


class PolicyErrorsOut(Schema):
    errors: list[PolicyError]
    detail: list[FieldError] = Field(description="The same problems in the API's usual 422 shape")


class PolicyProgrammeOut(BaseModel):
    """Other keys a programme adds (``persons``: per-member amounts and reasons, approval level …) are kept."""

    model_config = ConfigDict(extra="allow")
    label: str
    status: str = Field(description="ok, or blocked: a parameter marked L must be confirmed (production mode)")
    eligible: bool | None
    amount: str | None = Field(description="Monthly amount in yuan, two places (null when blocked)")
    reasons: list[str]


class PolicyUnitOut(BaseModel):
    members: list[str]
    size: int
    excluded: list[dict[str, str]]


class PolicyResultOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    household: str
    date: str
    area: str
    area_name: str
    mode: str = Field(description="demo (values marked L are used, labelled) or production")
    unit: PolicyUnitOut
    programmes: dict[str, PolicyProgrammeOut]
    unconfirmed: list[str]
    trace: dict[str, Any] | None = Field(None, description="With trace: every variable and parameter used")


def _enum(choices: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "string", "enum": [c for c in choices if c]}


_MONEY = {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "description": "yuan, at most two decimals"}
_MEMBER = {
    "type": "object",
    "required": ["id", "relation", "birth_date"],
    "properties": {
        "id": {"type": "string"}, "relation": _enum(inputs.RELATIONS),
        "birth_date": {"type": "string", "format": "date"}, "id_number": {"type": "string"},
        "sex": _enum(inputs.SEXES), "lives_together": {"type": "boolean"}, "dependent": {"type": "boolean"},
        "schooling": _enum(inputs.SCHOOLING),
        "disability": {"type": "object", "properties": {"category": _enum(inputs.DISABILITY[1:]),
                                                        "grade": {"type": "integer", "minimum": 1, "maximum": 4}}},
        "serious_illness": {"type": "boolean"},
        "self_care_failed": {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 6},
                                       {"type": "array", "items": _enum(inputs.SELF_CARE_ITEMS)}]},
        "labour_capacity": _enum(inputs.LABOUR),
        "flags": {"type": "object", "properties": {"clergy_apart_years": {"type": "integer", "minimum": 0},
                                                   **{f: {"type": "boolean"} for f in inputs.PERSON_FLAGS}}},
        "parents": {"type": "array", "items": _enum(inputs.PARENT_STATUS), "minItems": 2, "maxItems": 2},
        "income": {"type": "object", "properties": {i: _MONEY for i in inputs.INCOME_ITEMS},
                   "description": "monthly amounts in yuan"},
        "obligor_for": {"type": "string"},
    },
}  # fmt: skip
REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {
        "title": "PolicyHouseholdIn",
        "type": "object",
        "description": "One household as in docs/policy-input.md, plus the evaluation `date` (default today), "
                       "`trace` and `programmes`. The engine validates it and reports every problem by field path (422).",
        "required": ["area", "urban_rural", "members"],
        "properties": {
            "date": {"type": "string", "format": "date"}, "trace": {"type": "boolean", "default": False},
            "programmes": {"type": "array", "items": {"type": "string"},
                           "description": "only these programmes (dibao, tekun, …); default all"},
            "id": {"type": "string"}, "area": {"type": "string", "pattern": r"^\d{2,12}$"},
            "urban_rural": {"type": "string", "enum": ["urban", "rural"]},
            "assets": {"type": "object", "properties": {"financial": _MONEY, "houses": {"type": "integer"},
                                                        "housing_area_m2": _MONEY, "vehicles": {"type": "integer"}}},
            "rigid_expenditure_12m": {"type": "object", "properties": {i: _MONEY for i in inputs.RIGID_ITEMS}},
            "temporary": {"type": "object", "properties": {"type": _enum(inputs.TEMP_TYPES[1:]),
                                                           "tier": {"type": "integer", "minimum": 1, "maximum": 3},
                                                           "one_matter": {"type": "boolean"}}},
            "current": {"type": "object", "properties": {"dibao": {"type": "boolean"}, "dibao_amount": _MONEY,
                                                         "gradual_exit_months_used": {"type": "integer"}}},
            "members": {"type": "array", "minItems": 1, "items": _MEMBER},
        },
    }}},
}  # fmt: skip


def _invalid(problems: list[tuple[str, str]], **extra: str) -> Status:
    errors = [{"field": f, "message": m, **extra} for f, m in problems]
    detail = [{"loc": ["body", *[p for p in f.replace("[", ".").replace("]", "").split(".") if p]],
               "msg": m, "type": "value_error"} for f, m in problems]  # fmt: skip
    return Status(422, {"errors": errors, "detail": detail})


@router.post(
    "/evaluate",
    response={200: PolicyResultOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: PolicyErrorsOut},
    summary="Evaluate the assistance programmes for one household",
    description=(
        "Eligibility, monthly amount and reasons (in Chinese) per programme, with every parameter cited; the same "
        "JSON as `jiuzhu evaluate`. Amounts are strings in yuan. A household whose `area` is outside yours is 404. "
        "Errors: 422 `{\"errors\": [{\"field\", \"message\"}]}`; a parameter with no value on the date is reported "
        "on `date` with `parameter` and `area`."
    ),
    openapi_extra={"requestBody": REQUEST_BODY},
    exclude_unset=True,  # no "trace": null when no trace was asked for; null eligible/amount stay
)
def policy_evaluate(request: HttpRequest):
    from jiuzhu.policy.engine import evaluate
    from jiuzhu.policyadmin.store import allow_unconfirmed, current_store

    user = user_of(request)
    if not can(user, roles.VIEW):
        raise PermissionDenied
    if len(request.body) > BODY_LIMIT:
        return _invalid([("body", "too large for one household")])
    try:
        body = evaluation.loads(request.body or b"null")
    except ValueError as e:
        return _invalid([("body", f"not valid JSON: {e}")])
    if not isinstance(body, dict):
        return _invalid([("body", "must be a JSON object: one household (docs/policy-input.md)")])
    household = dict(body)
    problems: list[tuple[str, str]] = []
    raw_date, trace = household.pop("date", None), household.pop("trace", False)
    programmes = household.pop("programmes", None)
    on = timezone.localdate()
    if raw_date is not None:
        try:
            on = evaluation.parse_date(raw_date)
        except ValueError as e:
            problems.append(("date", str(e)))
    if not isinstance(trace, bool):
        problems.append(("trace", "must be true or false"))
    if programmes is not None and (not isinstance(programmes, list) or not all(isinstance(p, str) for p in programmes)):
        problems.append(("programmes", "must be a list of programme keys"))
    area = household.get("area")
    if area is not None:  # the engine reads str(area) too
        try:
            code = divisions.normalise(str(area))
        except ValueError:
            pass  # the engine reports it with the other problems
        else:
            if not area_visible(user, code, roles.VIEW):
                raise Http404
    if problems:
        return _invalid(problems)
    try:
        return evaluate(household, current_store(), on=on, allow_unconfirmed=allow_unconfirmed(), trace=trace,
                        programmes=programmes or None)  # fmt: skip
    except PolicyInputError as e:
        return _invalid(evaluation.problems(e))
    except ParameterMissing as e:
        return _invalid(evaluation.problems(e), parameter=e.key, area=str(e.area))
