"""Request and response shapes. Write bodies forbid unknown keys (SECURITY AC-MASS): anything not listed —
``area_code`` on an update, ``household_no``, ``household_id``, ``status`` of a person, ``created_by``, ``id`` —
is a 422, never silently applied. ``version`` is the optimistic-lock precondition, not a value to set.

Responses carry masked values only (SECURITY AC-FIELD); full values come from the reveal endpoints."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, field_validator

RelationCode = Literal["02", "10", "20", "30", "40", "50", "60", "70", "80", "99"]
DisabilityCode = Literal["", "1", "2", "3", "4", "5", "6", "7"]
SchoolingCode = Literal["none", "preschool", "primary", "junior", "senior", "tertiary", "postgraduate"]
CapacityCode = Literal["full", "partial", "none"]
UrbanRuralCode = Literal["urban", "rural"]
HouseholdStatusCode = Literal["active", "archived"]
AREA_PATTERN = r"^(\d{6}|\d{9}|\d{12})?$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # no control characters (PostgreSQL refuses NUL)
MAX_VERSION = 2**31 - 1
_CONTROL = re.compile(TEXT_PATTERN)


class Strict(Schema):
    """Unknown keys are an error, and so is a control character in any text."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if isinstance(value, str) and not _CONTROL.match(value):
            raise ValueError("text must not contain control characters")
        return value


# --- errors -----------------------------------------------------------------------------------------------
class ErrorOut(Schema):
    detail: str
    code: str


class FieldError(Schema):
    loc: list[str | int]
    msg: str
    type: str = ""


class ValidationErrorOut(Schema):
    detail: list[FieldError]


# --- auth -------------------------------------------------------------------------------------------------
class TokenIn(Strict):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=256)
    totp_code: str | None = Field(None, max_length=12)


class TokenOut(Schema):
    token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    expires_at: dt.datetime


class MeOut(Schema):
    id: int
    username: str
    full_name: str
    role: str
    role_label: str
    area_code: str
    area_name: str
    permissions: list[str]
    token_expires_at: dt.datetime


# --- persons ----------------------------------------------------------------------------------------------
class PersonOut(Schema):
    id: int
    household_id: int | None
    household_no: str
    area_code: str
    name: str = Field(description="Full name for roles with view_names, otherwise masked (张*三).")
    id_number_masked: str
    sex: str
    age: int
    birth_date: dt.date | None = Field(description="Only for roles that may reveal the ID number; else null.")
    relation: str
    phone_masked: str
    hukou_area_code: str
    residence_area_code: str
    urban_rural: str
    disability_category: str
    disability_grade: int | None
    serious_illness: bool
    schooling: str
    labour_capacity: str
    self_care: str
    death_date: dt.date | None
    version: int
    updated_at: dt.datetime


class PersonPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[PersonOut]


class MemberIn(Strict):
    """One person as submitted; validated again by ``registry.validation.clean_person``."""

    name: str = Field(min_length=1, max_length=30)
    id_number: str = Field(min_length=15, max_length=24)
    relation: RelationCode = "02"
    phone: str = Field("", max_length=20)
    disability_category: DisabilityCode = ""
    disability_grade: int | None = Field(None, ge=1, le=4)
    serious_illness: bool = False
    diagnosis: str = Field("", max_length=500)
    schooling: SchoolingCode = "none"
    labour_capacity: CapacityCode = "full"
    self_care: CapacityCode = "full"
    hukou_area_code: str = Field("", pattern=AREA_PATTERN)
    residence_area_code: str = Field("", pattern=AREA_PATTERN)
    urban_rural: UrbanRuralCode | None = Field(None, description="Defaults to the household's.")
    death_date: dt.date | None = None


class PersonCreateIn(MemberIn):
    reason: str = Field("新增成员", min_length=1, max_length=200)
    joined_on: dt.date | None = None


class PersonPatchIn(Strict):
    """Send only the fields to change, plus the ``version`` you read and a ``reason``.
    ``null`` is accepted only where the value may be empty (disability_grade, death_date)."""

    version: int = Field(ge=1, le=MAX_VERSION)
    reason: str = Field(min_length=1, max_length=200)
    name: str = Field(None, min_length=1, max_length=30)
    id_number: str = Field(None, min_length=15, max_length=24)
    relation: RelationCode = Field(None)
    phone: str = Field(None, max_length=20)
    disability_category: DisabilityCode = Field(None)
    disability_grade: int | None = Field(None, ge=1, le=4)
    serious_illness: bool = Field(None)
    diagnosis: str = Field(None, max_length=500)
    schooling: SchoolingCode = Field(None)
    labour_capacity: CapacityCode = Field(None)
    self_care: CapacityCode = Field(None)
    hukou_area_code: str = Field(None, pattern=AREA_PATTERN)
    residence_area_code: str = Field(None, pattern=AREA_PATTERN)
    urban_rural: UrbanRuralCode = Field(None)
    death_date: dt.date | None = None


class PersonRevealIn(Strict):
    field: Literal["id_number", "phone", "diagnosis"]
    reason: str = Field(min_length=2, max_length=200)


class HouseholdRevealIn(Strict):
    field: Literal["bank_account"]
    reason: str = Field(min_length=2, max_length=200)


class RevealOut(Schema):
    field: str
    value: str


# --- households -------------------------------------------------------------------------------------------
class HouseholdOut(Schema):
    id: int
    household_no: str
    area_code: str
    address: str
    urban_rural: str
    hukou_area_code: str
    head_name: str = Field(description="Masked for roles without view_names.")
    member_count: int
    bank_name: str
    bank_account_masked: str
    status: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class HouseholdDetailOut(HouseholdOut):
    members: list[PersonOut]


class HouseholdPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[HouseholdOut]


class HouseholdCreateIn(Strict):
    area_code: str = Field(pattern=r"^\d{12}$", description="12-digit village (村/社区) code inside your area.")
    urban_rural: UrbanRuralCode
    address: str = Field("", max_length=200)
    bank_name: str = Field("", max_length=64)
    bank_account: str = Field("", max_length=40)
    members: list[MemberIn] = Field(min_length=1, max_length=50)
    reason: str = Field("新登记", min_length=1, max_length=200)
    joined_on: dt.date | None = None


class HouseholdPatchIn(Strict):
    version: int = Field(ge=1, le=MAX_VERSION)
    reason: str = Field(min_length=1, max_length=200)
    address: str = Field(None, max_length=200)
    urban_rural: UrbanRuralCode = Field(None)
    bank_name: str = Field(None, max_length=64)
    bank_account: str = Field(None, max_length=40)
    status: HouseholdStatusCode = Field(None)


def changes(payload: Strict, *, drop: tuple[str, ...] = ("version", "reason")) -> dict[str, Any]:
    """The keys the client actually sent, minus the control fields."""
    data = payload.model_dump(mode="json", exclude_unset=True)
    return {k: v for k, v in data.items() if k not in drop}
