"""The portal's forms. Everything typed here is untrusted: lengths are capped, ID numbers go through
``idnumber.parse``, phone numbers must be mainland mobile numbers, and free text may not carry ID, card or
phone numbers (those have their own fields and are kept encrypted; the text is stored as typed)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiuzhu.cases.models import Programme, TempType
from jiuzhu.core import idnumber
from jiuzhu.core.models import Division
from jiuzhu.core.pii_scan import find_numbers
from jiuzhu.web.forms import bootstrap

from .models import HardshipReport

PHONE_RE = re.compile(r"1[3-9]\d{9}")
TEXTAREA = forms.Textarea(attrs={"rows": 5})
APPLY_PROGRAMMES = [(v, label) for v, label in Programme.choices if v != Programme.HELP]


style = bootstrap


def clean_text(value: str) -> str:
    """NFC, no control characters except line breaks, trimmed. Markup is kept as typed (escaped on output)."""
    value = unicodedata.normalize("NFC", value or "")
    return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")).strip()


def no_numbers(value: str) -> str:
    if find_numbers(value):
        raise forms.ValidationError(_("说明中请不要填写身份证号、银行卡号或手机号码：这些信息有专门的栏目，并且加密保存。"))
    return value


def clean_phone(value: str, *, required: bool) -> str:
    raw = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", value or ""))
    if not raw and not required:
        return ""
    if not PHONE_RE.fullmatch(raw):
        raise forms.ValidationError(_("请填写11位手机号码。"))
    return raw


def clean_name(value: str) -> str:
    name = clean_text(value)
    if any(ch.isdigit() for ch in name):
        raise forms.ValidationError(_("姓名中不能有数字。"))
    return name


class PlaceMixin(forms.Form):
    """The village (or, where allowed, only the township) chosen in the second step: the township comes from
    the first step and is fixed for this form."""

    village = forms.ChoiceField(label=_("村（社区）"))
    village_required = True

    def __init__(self, *args: Any, township: Division, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.township = township
        villages: list[tuple[str, Any]] = [(v.code, v.name) for v in Division.objects.filter(parent=township, level=5).order_by("code")]
        field = self.fields["village"]
        assert isinstance(field, forms.ChoiceField)
        if self.village_required:
            field.choices = [("", _("请选择"))] + villages
        else:
            field.required = False
            field.choices = [("", _("不清楚（由乡镇核实）"))] + villages

    @property
    def area_code(self) -> str:
        return str(self.cleaned_data.get("village") or self.township.code)


class ApplyForm(PlaceMixin):
    token = forms.CharField(widget=forms.HiddenInput, max_length=200)
    programme = forms.ChoiceField(label=_("申请的救助项目"), choices=[("", _("请选择"))] + APPLY_PROGRAMMES)
    temp_type = forms.ChoiceField(label=_("临时救助类型（仅申请临时救助时填写）"), required=False,
                                  choices=[("", _("请选择"))] + list(TempType.choices),
                                  help_text=_("急难型：火灾、交通事故、突发重大疾病等导致基本生活暂时出现严重困难；支出型：医疗、教育等必需支出突然增加。"))  # fmt: skip
    applicant_name = forms.CharField(label=_("申请人姓名"), max_length=32)
    id_number = forms.CharField(label=_("申请人身份证号码"), max_length=24)
    phone = forms.CharField(label=_("联系电话（手机）"), max_length=20)
    household_size = forms.IntegerField(label=_("共同生活的家庭人口"), min_value=1, max_value=30, initial=1)
    reason = forms.CharField(label=_("申请理由（家庭困难情况）"), max_length=2000, widget=TEXTAREA,
                             help_text=_("2000字以内。请不要在这里填写身份证号、银行卡号或手机号码。"))  # fmt: skip
    commitment = forms.BooleanField(label=_("我已阅读并同意《如实申报承诺书》"))
    authorisation = forms.BooleanField(label=_("我已阅读并同意《家庭经济状况核对授权书》"))
    signer_name = forms.CharField(label=_("签名（请输入申请人姓名）"), max_length=32)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        style(self)
        self.fields["id_number"].widget.attrs.update(autocomplete="off", inputmode="text")
        self.fields["phone"].widget.attrs.update(inputmode="tel", autocomplete="tel")
        self.fields["household_size"].widget.attrs.update(inputmode="numeric")

    def clean_applicant_name(self) -> str:
        return clean_name(self.cleaned_data["applicant_name"])

    def clean_id_number(self) -> str:
        try:
            return idnumber.parse(self.cleaned_data["id_number"]).value
        except idnumber.InvalidIdNumber as e:
            raise forms.ValidationError(e.message) from e

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data["phone"], required=True)

    def clean_reason(self) -> str:
        return no_numbers(clean_text(self.cleaned_data["reason"]))

    def clean_signer_name(self) -> str:
        return clean_name(self.cleaned_data["signer_name"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("programme") == Programme.TEMPORARY and not data.get("temp_type"):
            self.add_error("temp_type", _("申请临时救助时请选择急难型或支出型。"))
        if data.get("programme") != Programme.TEMPORARY:
            data["temp_type"] = ""
        name, signer = data.get("applicant_name"), data.get("signer_name")
        if name and signer and name != signer:
            self.add_error("signer_name", _("签名须与申请人姓名一致。"))
        return data


class ReportForm(PlaceMixin):
    village_required = False
    token = forms.CharField(widget=forms.HiddenInput, max_length=200)
    person_name = forms.CharField(label=_("需要帮助的人的姓名（不清楚可不填）"), max_length=32, required=False)
    what = forms.CharField(label=_("发生了什么困难"), max_length=2000, widget=TEXTAREA,
                           help_text=_("2000字以内：家里有几口人、遇到了什么困难、住在哪个组或哪条街。请不要在这里填写身份证号、银行卡号或手机号码。"))  # fmt: skip
    relation = forms.ChoiceField(label=_("您和需要帮助的人的关系"), choices=HardshipReport.Relation.choices,
                                 initial=HardshipReport.Relation.NEIGHBOUR)  # fmt: skip
    reporter_name = forms.CharField(label=_("您的姓名（可不填）"), max_length=32, required=False)
    reporter_phone = forms.CharField(label=_("您的手机号码（可不填，便于工作人员联系您）"), max_length=20, required=False)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        style(self)
        self.fields["reporter_phone"].widget.attrs.update(inputmode="tel", autocomplete="tel")

    def clean_person_name(self) -> str:
        return clean_name(self.cleaned_data.get("person_name", ""))

    def clean_reporter_name(self) -> str:
        return clean_name(self.cleaned_data.get("reporter_name", ""))

    def clean_reporter_phone(self) -> str:
        return clean_phone(self.cleaned_data.get("reporter_phone", ""), required=False)

    def clean_what(self) -> str:
        return no_numbers(clean_text(self.cleaned_data["what"]))


class TrackForm(forms.Form):
    """Free text on purpose: a malformed number gets the same answer as a wrong one (``services.find_tracked``)."""

    case_no = forms.CharField(label=_("案件编号"), max_length=64, required=False,
                              widget=forms.TextInput(attrs={"placeholder": _("如 SQ-乡镇代码-年份-序号"),
                                                            "autocomplete": "off"}))  # fmt: skip
    code = forms.CharField(label=_("查询码"), max_length=64, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}))  # fmt: skip

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        style(self)
