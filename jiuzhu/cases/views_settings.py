"""Configuration pages of the procedures:

* ``/cases/settings/`` — per-area procedure settings (审核确认权限下放, the 先行救助 paperwork limit, the 特困
  spot-check share) for a policy admin, within the admin's own area; inherited down the division tree.
* ``/cases/workdays/`` — the holiday-schedule supplement for years the chinesecalendar package does not know
  (a whole year's State Council notice as CSV, validated before anything is stored) for the system admin,
  with the years known and a warning when next year is not.

Both audited in the same transaction as the change."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiuzhu.accounts import roles
from jiuzhu.accounts.roles import Role
from jiuzhu.core.audit import audit_record
from jiuzhu.core.models import Division, WorkdayOverride

from .forms import style
from .models import ProcedureSetting


class SettingForm(forms.Form):
    area_code = forms.ChoiceField(label=gettext_lazy("地区"))
    delegated = forms.BooleanField(label=gettext_lazy("审核确认权限下放至乡镇（总时限20个工作日）"), required=False)
    paperwork_wd = forms.IntegerField(label=gettext_lazy("先行救助后补齐手续时限（工作日）"), min_value=1, max_value=30)
    tekun_check_pct = forms.IntegerField(label=gettext_lazy("特困县级入户抽查比例（%，不低于30）"), min_value=30, max_value=100)
    source = forms.CharField(label=gettext_lazy("依据文件（文号）"), max_length=200)

    def __init__(self, *args: Any, area: str = "", **kw: Any) -> None:
        super().__init__(*args, **kw)
        qs = Division.objects.filter(code__startswith=area, level__lte=3).order_by("code")[:500]
        self.fields["area_code"].choices = [(d.code, f"{d.code} {d.name}") for d in qs]  # type: ignore[attr-defined]
        style(self)


@login_required
def procedure_settings(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not user.can(roles.MANAGE_POLICY):
        raise Http404
    area = user.area_id or ""
    form = SettingForm(request.POST or None, area=area, initial={"paperwork_wd": 5, "tekun_check_pct": 30})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if not d["area_code"].startswith(area):
            raise Http404
        with transaction.atomic():
            row, created = ProcedureSetting.objects.update_or_create(area_code=d["area_code"], defaults={
                "delegated": d["delegated"], "paperwork_wd": d["paperwork_wd"],
                "tekun_check_pct": d["tekun_check_pct"], "source": d["source"]})  # fmt: skip
            audit_record(action="case.procedure_setting", actor=user, object_type="cases.proceduresetting",
                         object_id=row.pk, object_area=row.area_code,
                         detail={k: d[k] for k in ("area_code", "delegated", "paperwork_wd", "tekun_check_pct", "source")})  # fmt: skip
        messages.success(request, _("已保存；新受理和之后办理的案件按新设置计算时限。"))
        return redirect("cases:settings")
    rows = ProcedureSetting.objects.filter(area_code__startswith=area).order_by("area_code")
    names = dict(Division.objects.filter(code__in=[r.area_code for r in rows]).values_list("code", "name"))
    return render(request, "cases/settings.html", {"rows": rows, "names": names, "form": form})


class WorkdaysForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("节假日安排（CSV：date,is_workday,name,source；一年一次导入全年）"))

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        style(self)


@login_required
def workdays(request: HttpRequest) -> HttpResponse:
    from jiuzhu.core.management.commands.workdays_import import ImportRowsError, read_rows, save_rows
    from jiuzhu.core.workdays import PACKAGE_YEARS, Calendar

    user: Any = request.user
    if user.role != Role.SYSTEM_ADMIN or not user.is_active:
        raise Http404
    form = WorkdaysForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > 200_000:
            errors.append(_("文件过大：一年的节假日安排不超过几十行。"))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "workdays.csv"
                path.write_bytes(upload.read())
                try:
                    rows = read_rows(path)
                except ImportRowsError as exc:
                    errors = exc.errors[:200]
                except (UnicodeDecodeError, ValueError):
                    errors.append(_("文件不是 UTF-8 编码的 CSV。"))
                else:
                    with transaction.atomic():
                        created, updated, unchanged = save_rows(rows)
                        if created or updated:
                            audit_record(action="core.workdays.import", actor=user, object_type="core.workdayoverride",
                                         detail={"created": created, "updated": updated, "file": (upload.name or "")[-100:]})  # fmt: skip
                    messages.success(request, _("节假日补充表：新增 %(c)d 条，更新 %(u)d 条，未变 %(n)d 条") % {
                        "c": created, "u": updated, "n": unchanged})  # fmt: skip
                    return redirect("cases:workdays")
    cal = Calendar.load()
    next_year = timezone.localdate().year + 1
    overrides = list(WorkdayOverride.objects.order_by("date"))
    years = sorted({o.date.year for o in overrides})
    return render(request, "cases/workdays.html", {
        "form": form, "errors": errors, "rows": overrides, "override_years": years,
        "package_years": f"{PACKAGE_YEARS.start}–{PACKAGE_YEARS.stop - 1}", "next_year": next_year,
        "next_known": cal.knows(timezone.localdate().replace(year=next_year, month=1, day=1)),
    })  # fmt: skip
