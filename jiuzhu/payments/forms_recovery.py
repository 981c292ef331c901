"""Forms of the 追缴 pages: start a recovery from an entitlement (months, fraud and its fine, reason), approve or
reject it (another officer), make a repayment plan, record a repayment, filter the list. They check what a user
can get wrong on the form; the services (``adjustments.create_recovery``, ``approve_recovery``,
``reject_recovery``, ``plan``, ``repay``) check everything again and their refusals are added to the form as
errors. The forms on a recovery's page carry the ``version`` the page showed: the service refuses the action if
the recovery changed since."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiuzhu.web.forms import bootstrap

from .models import Recovery


def _month(raw: str) -> dt.date:
    try:
        m = dt.date.fromisoformat(f"{(raw or '').strip()}-01")
    except ValueError:
        raise forms.ValidationError(_("请按“年-月”填写，如 2026-01。")) from None
    if not 2000 <= m.year <= timezone.localdate().year + 1:
        raise forms.ValidationError(_("月份超出范围。"))
    return m


class RecoveryStartForm(forms.Form):
    first_month = forms.CharField(label=_("追缴起始月份"), widget=forms.TextInput(attrs={"type": "month"}))
    last_month = forms.CharField(label=_("追缴截止月份"), widget=forms.TextInput(attrs={"type": "month"}))
    not_entitled = forms.BooleanField(label=_("这些月份不符合享受条件（应发为零）"), required=False,
                                      help_text=_("不勾选：按现有家庭信息重新计算各月应发金额。"))  # fmt: skip
    reason = forms.CharField(label=_("追缴原因"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))
    fraud = forms.BooleanField(label=_("经认定为骗取"), required=False,
                               help_text=_("只有处理决定认定骗取的，才处以罚款。"))  # fmt: skip
    decision_no = forms.CharField(label=_("处理决定文号"), max_length=100, required=False)
    fine_multiple = forms.DecimalField(label=_("罚款倍数"), required=False, min_value=Decimal("1"),
                                       max_value=Decimal("3"), decimal_places=2, max_digits=3,
                                       help_text=_("多发金额的 1 至 3 倍"))  # fmt: skip

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        bootstrap(self)

    def clean_first_month(self) -> dt.date:
        return _month(self.cleaned_data.get("first_month", ""))

    def clean_last_month(self) -> dt.date:
        return _month(self.cleaned_data.get("last_month", ""))

    def clean_reason(self) -> str:
        reason = (self.cleaned_data.get("reason") or "").strip()
        if not reason:
            raise forms.ValidationError(_("请填写追缴原因。"))
        return reason

    def clean(self) -> dict[str, Any]:
        d = super().clean() or {}
        first, last = d.get("first_month"), d.get("last_month")
        if first and last and last < first:
            self.add_error("last_month", _("截止月份不能早于起始月份。"))
        if d.get("fraud"):
            if not (d.get("decision_no") or "").strip():
                self.add_error("decision_no", _("认定骗取须填写处理决定文号。"))
            if d.get("fine_multiple") is None and "fine_multiple" not in self.errors:
                self.add_error("fine_multiple", _("罚款倍数须在 1 至 3 倍之间。"))
        else:
            if d.get("fine_multiple") is not None:
                self.add_error("fine_multiple", _("只有认定骗取的才处以罚款。"))
            if (d.get("decision_no") or "").strip():
                self.add_error("decision_no", _("未认定骗取时不填写处理决定文号。"))
        return d


class Versioned(forms.Form):
    """The recovery's ``version`` the page was made from (hidden)."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def clean(self) -> dict[str, Any]:
        d = super().clean() or {}
        if d.get("version") is None:
            self.add_error(None, _("页面已过期，请刷新后重试。"))
        return d


class ApproveForm(Versioned):
    pass


class RejectForm(Versioned):
    reason = forms.CharField(label=_("驳回理由"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}),
                             error_messages={"required": _("请填写驳回理由。")})  # fmt: skip

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        bootstrap(self)


class PlanForm(Versioned):
    instalments = forms.IntegerField(label=_("分期数"), min_value=1, max_value=60, initial=1)
    first_due = forms.DateField(label=_("首期应还日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.initial.setdefault("first_due", timezone.localdate().isoformat())
        bootstrap(self)


class RepaymentForm(Versioned):
    receipt_no = forms.CharField(label=_("收据号"), max_length=64, error_messages={"required": _("请填写收据号。")})
    paid_on = forms.DateField(label=_("退回日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    amount = forms.DecimalField(label=_("退回金额（元）"), min_value=Decimal("0.01"), max_digits=12, decimal_places=2)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.initial.setdefault("paid_on", timezone.localdate().isoformat())
        bootstrap(self)

    def clean_paid_on(self) -> dt.date:
        d: dt.date = self.cleaned_data["paid_on"]
        if d > timezone.localdate():
            raise forms.ValidationError(_("退回日期不能晚于今天。"))
        return d


class RecoveryFilter(forms.Form):
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[("", _("全部")), *Recovery.Status.choices])

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        bootstrap(self)
