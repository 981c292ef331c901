"""The standard-change (调标) and confirmation forms. A value is checked with the key's own encoding
(``ParamSpec.encode``); admins enter confirmed values only (H or M), never L."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from jiuzhu.policy.parameters.schema import ParamSpec

from . import services

CONFIDENCE_CHOICES = [
    ("H", _("H：已核对正式文件全文")),
    ("M", _("M：据二手来源（转载、解读、汇编）")),
]

VALUE_ERRORS = {
    "money": _("请输入以元为单位的金额（最多两位小数，不能为负数），如 620.00"),
    "ratio": _("请输入数字（最多四位小数，不能为负数），如 1.5 或 0.15"),
    "percent": _("请按百分数填写（最多两位小数，不能为负数），如 3.5 表示 3.5%"),
    "int": _("请输入不小于 0 的整数"),
    "bool": _("请选择“是”或“否”"),
    "enum": _("请从列表中选择"),
}


class SourceFields(forms.Form):
    source = forms.CharField(label=_("文件及文号"), max_length=200,
                             help_text=_("如：安政办发〔2025〕12号 关于提高城乡低保标准的通知"))  # fmt: skip
    article = forms.CharField(label=_("条款"), max_length=100, required=False)
    note = forms.CharField(label=_("说明"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    confidence = forms.ChoiceField(label=_("可信度"), choices=CONFIDENCE_CHOICES, initial="H",
                                   help_text=_("管理员录入的值均为已确认值；L（未经确认的示例值）不能录入。"))  # fmt: skip

    def clean_source(self) -> str:
        value = self.cleaned_data["source"].strip()
        if not value:
            raise forms.ValidationError(_("请填写文件名称及文号"))
        return value


class ChangeForm(SourceFields):
    scope = forms.ChoiceField(label=_("适用地区"))
    value = forms.CharField(label=_("新值"), max_length=64)
    effective_from = forms.DateField(label=_("生效日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    field_order = ["scope", "value", "effective_from", "source", "article", "note", "confidence"]

    def __init__(self, *args: Any, spec: ParamSpec, scopes: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.percent = spec.kind == "ratio" and spec.unit == "%"
        self.fields["scope"].choices = scopes  # type: ignore[attr-defined]
        if spec.kind == "bool":
            self.fields["value"] = forms.ChoiceField(label=_("新值"), choices=[("true", _("是")), ("false", _("否"))])
        elif spec.kind == "enum":
            self.fields["value"] = forms.ChoiceField(label=_("新值"), choices=[(c, c) for c in spec.choices])
        elif self.percent:
            # shown as a percentage everywhere (``ParamSpec.display``), so typed as one: 3.5 is 3.5 %, stored 0.035
            self.fields["value"].help_text = _("按百分数填写：如 3.5 表示 3.5%")
            if self.initial.get("value") not in (None, ""):
                self.initial["value"] = spec.display(self.initial["value"]).removesuffix("%")  # 0.035 → 3.5
        elif spec.unit:
            self.fields["value"].help_text = _("单位：%(unit)s") % {"unit": spec.unit}
        if spec.kind in ("money", "ratio", "int"):
            self.fields["value"].widget.attrs.update(inputmode="decimal" if spec.kind != "int" else "numeric")
        for f in self.fields.values():
            css = "form-select" if isinstance(f.widget, forms.Select) else "form-control"
            f.widget.attrs.setdefault("class", css)

    def clean_value(self) -> Any:
        text = self.cleaned_data["value"]
        try:
            if self.percent:  # 3.5 (or 3.5%) → 0.035; at most two decimals, so the ratio has at most four
                pct = Decimal(str(text).strip().removesuffix("%").strip())
                if pct != pct.quantize(Decimal("0.01")):
                    raise ValueError(text)
                text = f"{(pct / 100).normalize():f}"
            return services.parse_value(self.spec, text)
        except (ValueError, TypeError, InvalidOperation):
            raise forms.ValidationError(VALUE_ERRORS["percent" if self.percent else self.spec.kind]) from None

    def data_key(self) -> dict[str, str]:
        """The cleaned values as text: what the preview was computed for (compared when saving)."""
        d = self.cleaned_data
        return {"scope": d["scope"], "value": services.stored_text(d["value"]),
                "effective_from": d["effective_from"].isoformat(), "source": d["source"], "article": d["article"],
                "note": d["note"], "confidence": d["confidence"]}  # fmt: skip


class ConfirmForm(SourceFields):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            f.widget.attrs.setdefault("class", "form-select" if isinstance(f.widget, forms.Select) else "form-control")
