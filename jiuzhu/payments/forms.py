"""Forms of the payroll pages: generate a run, cancel it, upload a bank return, filter the entitlements."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiuzhu.cases.models import Programme
from jiuzhu.web import forms as web_forms
from jiuzhu.web.forms import bootstrap

from .models import ALL, MONTHLY_PROGRAMMES, Entitlement

MONTHLY_CHOICES = [(p, Programme(p).label) for p in MONTHLY_PROGRAMMES]
PROGRAMME_CHOICES = [(ALL, _("全部按月发放项目")), *MONTHLY_CHOICES]


def area_choices(user: Any) -> list[tuple[str, str]]:
    """Down to the township: a payroll is made for a county or a township; villages are paid within their
    township's run."""
    return web_forms.area_choices(user)


class GenerateForm(forms.Form):
    area = forms.ChoiceField(label=_("发放区域"))
    month = forms.CharField(label=_("发放月份"), widget=forms.TextInput(attrs={"type": "month"}),
                            help_text=_("格式：年-月，如 2026-01"))  # fmt: skip
    programme = forms.ChoiceField(label=_("救助项目"), choices=PROGRAMME_CHOICES)
    # One key per opened form: submitting the same form twice (a double click, a retry) gives the same run.
    key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args: Any, user: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        area: Any = self.fields["area"]
        area.choices = area_choices(user)
        self.initial.setdefault("area", getattr(user, "area_id", ""))
        self.initial.setdefault("month", timezone.localdate().strftime("%Y-%m"))
        self.initial.setdefault("programme", ALL)
        self.initial.setdefault("key", secrets.token_hex(16))
        bootstrap(self)

    def clean_month(self) -> dt.date:
        raw = (self.cleaned_data.get("month") or "").strip()
        try:
            month = dt.date.fromisoformat(f"{raw}-01")
        except ValueError:
            raise forms.ValidationError(_("请按“年-月”填写发放月份，如 2026-01。")) from None
        if not 2000 <= month.year <= timezone.localdate().year + 1:
            raise forms.ValidationError(_("发放月份超出范围。"))
        return month


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("作废原因"), max_length=200)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        bootstrap(self)


class ReturnForm(forms.Form):
    file = forms.FileField(label=_("银行回盘文件（CSV）"), help_text=_("列：业务参考号、金额、处理结果、失败原因、处理日期，可选收款账号"))

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["file"].widget.attrs["accept"] = ".csv,text/csv"
        bootstrap(self)


class EntitlementFilter(forms.Form):
    programme = forms.ChoiceField(label=_("救助项目"), required=False, choices=[("", _("全部")), *MONTHLY_CHOICES])
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *Entitlement.Status.choices])

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        bootstrap(self)
