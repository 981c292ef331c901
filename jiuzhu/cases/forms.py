"""Forms: the window's intake form and one form per action (``ACTION_FORMS``; an action without an entry gets
``ActionForm``: an optional note). Every action form carries the case version it was opened on."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jiuzhu.core import idnumber
from jiuzhu.core.models import Division
from jiuzhu.web.forms import bootstrap

from .models import Programme, Signature, TempType
from .services import EXTENSION_REASONS, MATERIALS, NO_PUBLICITY_REASONS

TEXTAREA = forms.Textarea(attrs={"rows": 3})
DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})  # the browser's date field wants ISO


style = bootstrap


class ActionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    on = forms.DateField(label=_("办理日期"), required=False, widget=DATE,
                         help_text=_("默认今天；补录纸质办理的日期时可填更早的日期。"))  # fmt: skip
    reason = forms.CharField(label=_("说明"), required=False, max_length=2000, widget=TEXTAREA)

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        style(self)

    def clean_on(self) -> Any:
        on = self.cleaned_data.get("on") or timezone.localdate()
        if on > timezone.localdate():
            raise forms.ValidationError(_("办理日期不能晚于今天。"))
        return on


class ReasonRequired(ActionForm):
    reason = forms.CharField(label=_("原因"), max_length=2000, widget=TEXTAREA)


class SignFields(ActionForm):
    signer_name = forms.CharField(label=_("签署人"), required=False, max_length=64)
    signed_commitment = forms.BooleanField(label=_("已签署如实申报承诺书"), required=False)
    signed_authorisation = forms.BooleanField(label=_("已签署家庭经济状况核对授权书"), required=False)


class MaterialsForm(SignFields):
    items = forms.MultipleChoiceField(label=_("需补正的材料（一次告知全部）"), choices=list(MATERIALS.items()),
                                      widget=forms.CheckboxSelectMultiple)  # fmt: skip
    note = forms.CharField(label=_("补充说明"), required=False, max_length=1000, widget=TEXTAREA)


class SignForm(ActionForm):
    kind = forms.ChoiceField(label=_("文书"), choices=Signature.Kind.choices)
    signer_name = forms.CharField(label=_("签署人"), max_length=64)
    signer_role = forms.ChoiceField(label=_("签署人身份"), choices=[("applicant", _("申请人")), ("member", _("家庭成员")),
                                                               ("supporter", _("法定赡养、抚养、扶养义务人"))])  # fmt: skip
    file = forms.FileField(label=_("签字扫描件（可选）"), required=False)


class AttachForm(ActionForm):
    kind = forms.CharField(label=_("材料名称"), max_length=32)
    file = forms.FileField(label=_("文件（PDF、JPG、PNG，10 MB 以内）"))


class LinkForm(ActionForm):
    household_no = forms.CharField(label=_("户编号"), max_length=24)


class TransferForm(ActionForm):
    to_area = forms.ChoiceField(label=_("移交至乡镇（街道）"))
    reason = forms.CharField(label=_("移交原因"), max_length=2000, widget=TEXTAREA)
    feedback = forms.CharField(label=_("向申请人反馈"), required=False, max_length=1000, widget=TEXTAREA)

    def __init__(self, *args: Any, case: Any = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        prefix = case.township_code[:4] if case else ""
        self.fields["to_area"].choices = [  # type: ignore[attr-defined]
            (d.code, d.full_name()) for d in Division.objects.filter(level=4, code__startswith=prefix).exclude(
                code=getattr(case, "township_code", "")).order_by("code")[:500]]  # fmt: skip


class InvestigationForm(ActionForm):
    visited_on = forms.DateField(label=_("调查日期"), widget=DATE)
    mode = forms.ChoiceField(label=_("方式"), choices=[("onsite", _("入户")), ("remote", _("电话/视频（重大突发事件期间）"))])
    investigators = forms.CharField(label=_("调查人员（2人以上，用顿号分隔）"), max_length=200)
    present_members = forms.CharField(label=_("在场家庭成员"), required=False, max_length=200)
    housing = forms.CharField(label=_("居住情况"), required=False, max_length=4000, widget=TEXTAREA)
    income = forms.CharField(label=_("收入与就业情况"), required=False, max_length=4000, widget=TEXTAREA)
    health = forms.CharField(label=_("健康与残疾情况"), required=False, max_length=4000, widget=TEXTAREA)
    neighbours = forms.CharField(label=_("邻里走访情况"), required=False, max_length=4000, widget=TEXTAREA)
    other = forms.CharField(label=_("其他情况"), required=False, max_length=4000, widget=TEXTAREA)
    conclusion = forms.CharField(label=_("调查结论"), required=False, max_length=4000, widget=TEXTAREA)
    signed = forms.BooleanField(label=_("调查表已由调查人员和在场家庭成员签字"), required=False)


class ExcludeForm(ActionForm):
    exclusion = forms.ChoiceField(label=_("不予公示的原因"), choices=list(NO_PUBLICITY_REASONS.items()))


class TierForm(ActionForm):
    temp_type = forms.ChoiceField(label=_("临时救助类型"), choices=TempType.choices)
    temp_tier = forms.TypedChoiceField(label=_("救助档次"), coerce=int, choices=[(1, _("第1档")), (2, _("第2档")), (3, _("第3档"))])
    one_matter = forms.BooleanField(label=_("提交县级一事一议（重大疑难个案）"), required=False)


class ContestForm(ActionForm):
    finding = forms.ChoiceField(label=_("对哪一项核对结果有异议"), required=False)
    content = forms.CharField(label=_("异议内容和理由"), max_length=4000, widget=TEXTAREA)
    file = forms.FileField(label=_("证据材料（可选，PDF、JPG、PNG）"), required=False)
    kind = forms.CharField(widget=forms.HiddenInput, required=False, initial="核对异议证据")

    def __init__(self, *args: Any, case: Any = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        from jiuzhu.verification.models import VerificationRun
        from jiuzhu.verification.sources import FINDING_KINDS

        run = VerificationRun.objects.filter(case=case).exclude(status="refused").order_by("-pk").first() if case else None
        # the township sees which item is contested, not the departmental figures
        self.fields["finding"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (str(f.pk), f"{FINDING_KINDS.get(f.kind, (f.kind,))[0]}（{f.get_severity_display()}）")
            for f in (run.findings.all() if run else [])]  # fmt: skip


class RecheckForm(ActionForm):
    objection = forms.ChoiceField(label=_("核对异议"))
    outcome = forms.ChoiceField(label=_("复查结论"), choices=[("upheld", _("异议成立（重新核对时不再采用该项记录）")),
                                                           ("dismissed", _("异议不成立"))])  # fmt: skip
    result = forms.CharField(label=_("复查情况"), max_length=4000, widget=TEXTAREA)

    def __init__(self, *args: Any, case: Any = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        from jiuzhu.verification.models import VerificationObjection

        qs = VerificationObjection.objects.filter(run__case=case, status="open").order_by("pk") if case else []
        self.fields["objection"].choices = [(str(o.pk), f"{o.submitted_on:%Y-%m-%d} {o.content[:40]}") for o in qs]  # type: ignore[attr-defined]


class ExtendForm(ActionForm):
    extension = forms.ChoiceField(label=_("法定情形"), choices=list(EXTENSION_REASONS.items()))


class ProposeForm(ActionForm):
    opinion = forms.CharField(label=_("初审意见"), max_length=2000, widget=TEXTAREA)


class ObjectionForm(ActionForm):
    content = forms.CharField(label=_("异议内容"), max_length=4000, widget=TEXTAREA)
    raised_by = forms.CharField(label=_("反映人（可匿名）"), required=False, max_length=64)


class ReviewForm(ActionForm):
    held_on = forms.DateField(label=_("评议日期"), widget=DATE)
    participants = forms.CharField(label=_("参加人员"), max_length=2000, widget=TEXTAREA)
    minutes = forms.CharField(label=_("评议记录"), max_length=8000, widget=TEXTAREA)
    votes_for = forms.IntegerField(label=_("同意票数"), min_value=0, max_value=999)
    votes_against = forms.IntegerField(label=_("不同意票数"), min_value=0, max_value=999)


class SelfCareForm(ActionForm):
    person = forms.ChoiceField(label=_("被评估人"))
    eating = forms.BooleanField(label=_("自主吃饭"), required=False)
    dressing = forms.BooleanField(label=_("自主穿衣"), required=False)
    transfer = forms.BooleanField(label=_("自主上下床"), required=False)
    toileting = forms.BooleanField(label=_("自主如厕"), required=False)
    walking = forms.BooleanField(label=_("室内行走"), required=False)
    bathing = forms.BooleanField(label=_("自主洗澡"), required=False)
    assessor = forms.CharField(label=_("评估人/评估机构"), max_length=64)

    def __init__(self, *args: Any, case: Any = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        from jiuzhu.core.masking import mask_name

        members = case.household.members.order_by("pk") if case is not None and case.household_id else []
        self.fields["person"].choices = [(str(p.pk), f"{mask_name(p.name)}（{p.birth_date:%Y}）") for p in members]  # type: ignore[attr-defined]


class MoneyForm(ActionForm):
    amount = forms.DecimalField(label=_("金额（元）"), max_digits=12, decimal_places=2, min_value=0)


class InstalmentForm(MoneyForm):
    due_on = forms.DateField(label=_("发放日期"), widget=DATE)


class ConferenceForm(MoneyForm):
    held_on = forms.DateField(label=_("会议日期"), widget=DATE)
    participants = forms.CharField(label=_("参会单位和人员"), max_length=2000, widget=TEXTAREA)
    minutes = forms.CharField(label=_("会议纪要"), max_length=8000, widget=TEXTAREA)


class ReferForm(ActionForm):
    to_body = forms.CharField(label=_("转介至（慈善组织或部门）"), max_length=100)
    reason = forms.CharField(label=_("转介原因"), max_length=2000, widget=TEXTAREA)


class TriageForm(ActionForm):
    programmes = forms.MultipleChoiceField(label=_("受理的救助项目"), widget=forms.CheckboxSelectMultiple,
                                           choices=[c for c in Programme.choices if c[0] != Programme.HELP])  # fmt: skip
    temp_type = forms.ChoiceField(label=_("临时救助类型"), required=False, choices=[("", "—"), *TempType.choices])
    temp_tier = forms.IntegerField(label=_("临时救助档次"), required=False, min_value=1, max_value=3)


ACTION_FORMS: dict[str, type[ActionForm]] = {
    "accept": SignFields, "request_materials": MaterialsForm, "supply_materials": ActionForm, "sign": SignForm,
    "attach": AttachForm, "link_household": LinkForm, "transfer": TransferForm, "terminate": ReasonRequired,
    "record_investigation": InvestigationForm, "extend": ExtendForm, "exclude_publicity": ExcludeForm, "contest_verification": ContestForm,
    "recheck_verification": RecheckForm, "set_tier": TierForm,
    "record_complaint": ReasonRequired, "propose": ProposeForm,
    "record_objection": ObjectionForm, "democratic_review": ReviewForm, "reject": ReasonRequired,
    "return_to_township": ReasonRequired, "assess_self_care": SelfCareForm, "advance_pay": MoneyForm,
    "complete_paperwork": ReasonRequired, "conference_decide": ConferenceForm, "pay_instalment": InstalmentForm,
    "refer_out": ReferForm, "triage": TriageForm,
}  # fmt: skip
NEEDS_CASE = {"transfer", "assess_self_care", "contest_verification", "recheck_verification"}


class IntakeForm(forms.Form):
    """The window: any request, for any programme, or a request for help whose programme is not known yet."""

    programme = forms.ChoiceField(label=_("申请事项"), choices=Programme.choices)
    channel = forms.ChoiceField(label=_("受理渠道"), choices=[("window", _("窗口受理")), ("hotline", _("12345/12349热线")),
                                                           ("department", _("部门转办")), ("outreach", _("主动发现"))])  # fmt: skip
    area_code = forms.ChoiceField(label=_("村（社区）"))
    applicant_name = forms.CharField(label=_("申请人（或求助对象）姓名"), max_length=64)
    applicant_id = forms.CharField(label=_("身份证号"), required=False, max_length=22)
    applicant_phone = forms.CharField(label=_("联系电话"), required=False, max_length=20)
    household_size = forms.IntegerField(label=_("家庭人口"), min_value=1, max_value=30, initial=1)
    summary = forms.CharField(label=_("申请事由 / 求助情况"), max_length=2000, widget=TEXTAREA)
    temp_type = forms.ChoiceField(label=_("临时救助类型"), required=False, choices=[("", "—"), *TempType.choices])
    temp_tier = forms.IntegerField(label=_("临时救助档次"), required=False, min_value=1, max_value=3)
    emergency_area_code = forms.CharField(label=_("急难发生地（区划代码，可选）"), required=False, max_length=12)
    signer_name = forms.CharField(label=_("签署人"), required=False, max_length=64)
    signed_commitment = forms.BooleanField(label=_("已签署如实申报承诺书"), required=False)
    signed_authorisation = forms.BooleanField(label=_("已签署家庭经济状况核对授权书"), required=False)

    def __init__(self, *args: Any, area_prefix: str = "", **kw: Any) -> None:
        super().__init__(*args, **kw)
        qs = Division.objects.filter(level__in=(4, 5), code__startswith=area_prefix).order_by("code")[:2000]
        self.fields["area_code"].choices = [(d.code, ("" if d.level == 4 else "　") + d.name) for d in qs]  # type: ignore[attr-defined]
        style(self)

    def clean_applicant_id(self) -> str:
        raw = self.cleaned_data.get("applicant_id", "")
        if not raw:
            return ""
        try:
            return idnumber.parse(raw).value
        except idnumber.InvalidIdNumber as e:
            raise forms.ValidationError(str(e)) from e

    def clean_applicant_phone(self) -> str:
        v = self.cleaned_data.get("applicant_phone", "").strip()
        if v and not (v.isdigit() and 7 <= len(v) <= 12):
            raise forms.ValidationError(_("电话号码应为7至12位数字。"))
        return v

    def clean(self) -> dict[str, Any]:
        d = super().clean() or {}
        if d.get("programme") == Programme.TEMPORARY and not d.get("temp_type"):
            self.add_error("temp_type", _("请选择临时救助类型。"))
        if d.get("programme") not in (None, Programme.HELP) and not d.get("applicant_id"):
            self.add_error("applicant_id", _("申请救助须填写申请人身份证号。"))
        return d
