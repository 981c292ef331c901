"""Field validation shared by forms, the API and the importer, so a rule is written once.

``clean_person`` takes plain input (strings or typed values, canonical English keys) and returns model
field values, or raises ``ValidationError`` with a message per field in the active language (Chinese by
default); coded values are matched against the codes and the Chinese labels."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from jiuzhu.core import idnumber
from jiuzhu.core.divisions import is_known_address_code
from jiuzhu.core.i18n import source_labels

from .models import DisabilityCategory, LabourCapacity, Relation, Schooling, SelfCare, UrbanRural

PERSON_FIELDS = (
    "name", "id_number", "relation", "phone", "disability_category", "disability_grade", "serious_illness",
    "diagnosis", "schooling", "labour_capacity", "self_care", "hukou_area_code", "residence_area_code",
    "urban_rural", "death_date",
)  # fmt: skip
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_NAME = re.compile(r"^[\u3400-\u9fff\U00020000-\U0003134F·•A-Za-z ]{1,30}$")
_ACCOUNT = re.compile(r"^\d{8,30}$")


def _choice(value: Any, choices: Any, field: str, errors: dict[str, str], *, label: str) -> str:
    """Accept the code or the Chinese label (township spreadsheets use labels, in Chinese whatever the
    interface language)."""
    v = "" if value is None else str(value).strip()
    labels = source_labels(choices)
    for code, text in labels:
        if v in (code, text):
            return code
    errors[field] = _("%(label)s「%(value)s」无效，可选：%(options)s") % {
        "label": label, "value": v, "options": "、".join(t for _, t in labels)}
    return ""


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"1", "true", "yes", "y", "是", "有"}


def _date(value: Any, field: str, errors: dict[str, str], label: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    errors[field] = _("%(label)s「%(value)s」不是有效日期（如 2024-05-01）") % {"label": label, "value": s}
    return None


def clean_id_number(value: Any) -> idnumber.IdNumber:
    try:
        return idnumber.parse(str(value or ""), known_address=is_known_address_code)
    except idnumber.InvalidIdNumber as exc:
        raise ValidationError({"id_number": exc.message}) from exc


def clean_phone(value: Any) -> str:
    s = re.sub(r"[\s]", "", str(value or ""))
    if s and not _PHONE.match(s):
        raise ValidationError({"phone": _("联系电话「%(value)s」格式不正确") % {"value": s}})
    return s


def clean_bank_account(value: Any) -> str:
    s = re.sub(r"[\s-]", "", str(value or ""))
    if s and not _ACCOUNT.match(s):
        raise ValidationError({"bank_account": _("银行账号应为8–30位数字")})
    return s


def clean_person(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Returns cleaned values for the keys present (all keys unless ``partial``)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    keys = [k for k in PERSON_FIELDS if k in data] if partial else list(PERSON_FIELDS)
    for k in keys:
        v = data.get(k)
        if k == "name":
            s = str(v or "").strip()
            if not _NAME.match(s):
                errors[k] = _("姓名须为1–30个汉字或字母，可含间隔号“·”")
            out[k] = s
        elif k == "id_number":
            try:
                out[k] = clean_id_number(v)
            except ValidationError as exc:
                errors[k] = exc.message_dict["id_number"][0]
        elif k == "phone":
            try:
                out[k] = clean_phone(v)
            except ValidationError as exc:
                errors[k] = exc.message_dict["phone"][0]
        elif k == "relation":
            out[k] = _choice(v or Relation.HEAD, Relation, k, errors, label=_("与户主关系"))
        elif k == "disability_category":
            out[k] = "" if v in (None, "", "无") else _choice(v, DisabilityCategory, k, errors, label=_("残疾类别"))
        elif k == "disability_grade":
            if v in (None, "", "无"):
                out[k] = None
            else:
                s = str(v).strip().replace("级", "")
                grade = {"一": "1", "二": "2", "三": "3", "四": "4"}.get(s, s)
                if grade not in {"1", "2", "3", "4"}:
                    errors[k] = _("残疾等级应为1–4级")
                out[k] = int(grade) if grade in {"1", "2", "3", "4"} else None
        elif k == "serious_illness":
            out[k] = _bool(v)
        elif k == "diagnosis":
            out[k] = str(v or "").strip()[:500]
        elif k == "schooling":
            out[k] = _choice(v or Schooling.NONE, Schooling, k, errors, label=_("在学情况"))
        elif k == "labour_capacity":
            out[k] = _choice(v or LabourCapacity.FULL, LabourCapacity, k, errors, label=_("劳动能力"))
        elif k == "self_care":
            out[k] = _choice(v or SelfCare.FULL, SelfCare, k, errors, label=_("生活自理能力"))
        elif k in ("hukou_area_code", "residence_area_code"):
            s = str(v or "").strip()
            if s and not (s.isdigit() and len(s) in (6, 9, 12)):
                errors[k] = _("区划代码应为6、9或12位数字")
            out[k] = s
        elif k == "urban_rural":
            out[k] = _choice(v or UrbanRural.RURAL, UrbanRural, k, errors, label=_("城乡类别"))
        elif k == "death_date":
            out[k] = _date(v, k, errors, _("死亡日期"))
    if "disability_category" in out and "disability_grade" in out:
        if bool(out["disability_category"]) != (out["disability_grade"] is not None) and "disability_grade" not in errors:
            errors["disability_grade"] = _("残疾类别和残疾等级须同时填写或同时为空")
    if errors:
        raise ValidationError(errors)
    return out
