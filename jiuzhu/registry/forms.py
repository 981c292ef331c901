"""Page forms. They only shape input; every rule lives in ``validation.py`` and ``services.py``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from jiuzhu.core.models import Division
from jiuzhu.web.forms import bootstrap

from .models import DisabilityCategory, LabourCapacity, Relation, Schooling, SelfCare, UrbanRural


class BootstrapMixin:
    """Bootstrap classes on every widget, so templates stay loops over fields."""

    def _style(self) -> None:
        bootstrap(self)  # type: ignore[arg-type]


class PersonForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=30)
    id_number = forms.CharField(label=_("身份证号"), max_length=20, required=False,
                                help_text=_("18位；修改时留空表示不变"))
    relation = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False, help_text=_("修改时留空表示不变"))
    disability_category = forms.ChoiceField(label=_("残疾类别"), choices=DisabilityCategory.choices, required=False)
    disability_grade = forms.ChoiceField(label=_("残疾等级"), choices=[("", _("无")), ("1", _("一级")), ("2", _("二级")),
                                                                 ("3", _("三级")), ("4", _("四级"))], required=False)
    serious_illness = forms.BooleanField(label=_("患重病"), required=False)
    schooling = forms.ChoiceField(label=_("在学情况"), choices=Schooling.choices)
    labour_capacity = forms.ChoiceField(label=_("劳动能力"), choices=LabourCapacity.choices)
    self_care = forms.ChoiceField(label=_("生活自理能力"), choices=SelfCare.choices)
    urban_rural = forms.ChoiceField(label=_("城乡类别"), choices=UrbanRural.choices)
    hukou_area_code = forms.CharField(label=_("户籍地区划代码"), max_length=12, required=False)
    death_date = forms.DateField(label=_("死亡日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if not editing:
            self.fields["id_number"].required = True
            self.fields["id_number"].help_text = _("18位，最后一位可为X")
            self.fields["phone"].help_text = ""
            del self.fields["death_date"]
        self._style()

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("reason", None)
        data.pop("version", None)
        if self.editing:
            for key in ("id_number", "phone"):
                if not data.get(key):
                    data.pop(key, None)
        return data


class PersonEditForm(PersonForm):
    reason = forms.CharField(label=_("变更原因"), max_length=200)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, editing=True, **kwargs)


class HouseholdCreateForm(PersonForm):
    """The household and its head in one form; more members are added on the household page."""

    area_code = forms.ChoiceField(label=_("村（社区）"))
    address = forms.CharField(label=_("居住地址"), max_length=200, required=False)
    household_urban_rural = forms.ChoiceField(label=_("户城乡类别"), choices=UrbanRural.choices)
    bank_name = forms.CharField(label=_("开户银行"), max_length=64, required=False)
    bank_account = forms.CharField(label=_("银行账号"), max_length=40, required=False)

    def __init__(self, *args: Any, area_prefix: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        villages = Division.objects.filter(level=Division.Level.VILLAGE, code__startswith=area_prefix,
                                           valid_to__isnull=True).select_related("parent")[:2000]
        self.fields["area_code"].choices = [(v.code, f"{v.parent.name if v.parent else ''} {v.name}") for v in villages]  # type: ignore[attr-defined]
        self.fields["relation"].initial = Relation.HEAD
        self._style()


class HouseholdEditForm(BootstrapMixin, forms.Form):
    address = forms.CharField(label=_("居住地址"), max_length=200, required=False)
    urban_rural = forms.ChoiceField(label=_("城乡类别"), choices=UrbanRural.choices)
    bank_name = forms.CharField(label=_("开户银行"), max_length=64, required=False)
    bank_account = forms.CharField(label=_("银行账号"), max_length=40, required=False, help_text=_("留空表示不变"))
    reason = forms.CharField(label=_("变更原因"), max_length=200)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._style()


class LeaveForm(BootstrapMixin, forms.Form):
    """A member leaves the household (moved out, married out, died …); the person record and history stay."""

    left_on = forms.DateField(label=_("离开日期"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("原因"), max_length=200)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._style()


class RevealForm(forms.Form):
    field = forms.ChoiceField(choices=[("id_number", _("身份证号")), ("phone", _("联系电话")), ("diagnosis", _("诊断")),
                                       ("bank_account", _("银行账号"))])
    reason = forms.CharField(label=_("查看原因"), max_length=200, min_length=2)


def add_service_errors(form: forms.Form, exc: ValidationError, prefix_map: dict[str, str] | None = None) -> None:
    """Attach a service ValidationError to the form fields it names (or to the form as a whole)."""
    for key, messages in exc.message_dict.items():
        field = key.split(".")[-1] if key.startswith("members.") else key
        field = (prefix_map or {}).get(field, field)
        for m in messages:
            form.add_error(field if field in form.fields else None, m)
