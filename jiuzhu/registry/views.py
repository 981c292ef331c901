"""Household and person pages. Thin: parse, fetch through a scoped getter, call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jiuzhu.accounts import roles
from jiuzhu.core.masking import mask_id
from jiuzhu.core.scoping import can, get_scoped_or_404

from . import selectors, services
from .forms import (
    HouseholdCreateForm,
    HouseholdEditForm,
    LeaveForm,
    PersonEditForm,
    PersonForm,
    RevealForm,
    add_service_errors,
)
from .models import Household, HouseholdStatus, Person


def _require(request: HttpRequest, action: str) -> None:
    if not can(request.user, action):
        raise PermissionDenied


@login_required
def household_list(request: HttpRequest) -> HttpResponse:
    _require(request, roles.VIEW)
    q, village, status = selectors.list_filters(request.GET)
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    page = min(page, selectors.MAX_PAGE)
    if selectors.is_name_query(q):
        rows, has_next = selectors.households_by_name_page(request.user, q=q, village=village, status=status, page=page)
    else:
        qs = selectors.household_search(request.user, q=q, village=village, status=status)
        rows, has_next = selectors.page_of(
            qs.select_related("area").only("id", "household_no", "head_name", "member_count", "urban_rural",
                                           "status", "area__name"), page)
    prefix = request.user.area_id or ""  # type: ignore[union-attr]
    village_options = selectors.village_options_html(prefix, village) if len(prefix) >= 6 else ""
    # An ID number typed into the search box is never echoed back in full (it would sit in the page and in
    # paging links); the box shows the masked form instead.
    id_query = selectors.is_id_query(q)
    ctx = {"rows": rows, "q": "" if id_query else q, "q_masked": mask_id(q) if id_query else "", "village": village,
           "status": status, "page": page, "has_next": has_next, "village_options": village_options,
           "page_limit_reached": page == selectors.MAX_PAGE and len(rows) == selectors.PAGE_SIZE,
           "statuses": HouseholdStatus.choices}
    if request.headers.get("HX-Request"):
        return render(request, "registry/_household_rows.html", ctx)
    return render(request, "registry/household_list.html", ctx)


@login_required
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    h = get_scoped_or_404(Household.objects.select_related("area"), request.user, roles.VIEW, pk=pk)
    return render(request, "registry/household_detail.html", {
        "h": h, "members": selectors.household_members(h), "history": selectors.household_history(request.user, h)[:100],
        "village_name": h.area.full_name(), "reveal_form": RevealForm(),
    })


@login_required
def household_create(request: HttpRequest) -> HttpResponse:
    _require(request, roles.CHANGE)
    prefix = request.user.area_id or ""  # type: ignore[union-attr]
    form = HouseholdCreateForm(request.POST or None, area_prefix=prefix)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        member = form.service_data()
        for k in ("area_code", "address", "household_urban_rural", "bank_name", "bank_account"):
            member.pop(k, None)
        try:
            h = services.household_create(
                actor=request.user, area_code=d["area_code"], urban_rural=d["household_urban_rural"],
                address=d["address"], bank_name=d["bank_name"], bank_account=d["bank_account"], members=[member],
            )
        except services.DuplicatePerson as exc:
            form.add_error("id_number", exc.messages[0])
        except ValidationError as exc:
            add_service_errors(form, exc, {"urban_rural": "household_urban_rural"})
        else:
            messages.success(request, _("已登记家庭户 %(household)s") % {"household": h.household_no})
            return redirect("registry:household_detail", pk=h.pk)
    return render(request, "registry/form_page.html", {"form": form, "title": _("登记家庭户")})


@login_required
def household_edit(request: HttpRequest, pk: int) -> HttpResponse:
    h = get_scoped_or_404(Household.objects.all(), request.user, roles.CHANGE, pk=pk)
    initial = {"address": h.address, "urban_rural": h.urban_rural, "bank_name": h.bank_name, "version": h.version}
    form = HouseholdEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = dict(form.cleaned_data)
        version, reason = d.pop("version"), d.pop("reason")
        if not d.get("bank_account"):
            d.pop("bank_account", None)
        try:
            services.household_update(actor=request.user, household=h, data=d, version=version, reason=reason)
        except services.StaleEdit:
            form.add_error(None, _("该户信息已被他人修改，请重新打开后再编辑（您的输入未保存）。"))
            return render(request, "registry/form_page.html", {"form": form, "h": h, "title": _("编辑家庭户")}, status=409)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("registry:household_detail", pk=h.pk)
    return render(request, "registry/form_page.html", {"form": form, "h": h, "title": _("编辑家庭户")})


@login_required
def person_add(request: HttpRequest, pk: int) -> HttpResponse:
    h = get_scoped_or_404(Household.objects.all(), request.user, roles.CHANGE, pk=pk)
    form = PersonForm(request.POST or None, initial={"urban_rural": h.urban_rural, "relation": "10"})
    if request.method == "POST" and form.is_valid():
        try:
            services.person_add(actor=request.user, household=h, data=form.service_data(), reason="新增家庭成员")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已添加家庭成员"))
            return redirect("registry:household_detail", pk=h.pk)
    return render(request, "registry/form_page.html", {"form": form, "h": h, "title": _("添加家庭成员")})


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    p = get_scoped_or_404(Person.objects.select_related("household"), request.user, roles.VIEW, pk=pk)
    return render(request, "registry/person_detail.html", {
        "p": p, "history": selectors.person_history(request.user, p)[:100],
        "memberships": selectors.membership_history(p), "reveal_form": RevealForm(),
    })


@login_required
def person_edit(request: HttpRequest, pk: int) -> HttpResponse:
    p = get_scoped_or_404(Person.objects.select_related("household"), request.user, roles.CHANGE, pk=pk)
    initial = {f: getattr(p, f) for f in ("name", "relation", "disability_category", "serious_illness", "schooling",
                                          "labour_capacity", "self_care", "urban_rural", "hukou_area_code", "death_date")}
    initial.update(disability_grade=str(p.disability_grade or ""), version=p.version)
    form = PersonEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.person_update(actor=request.user, person=p, data=form.service_data(),
                                   version=form.cleaned_data["version"], reason=form.cleaned_data["reason"])
        except services.StaleEdit:
            form.add_error(None, _("该成员信息已被他人修改，请重新打开后再编辑（您的输入未保存）。"))
            return render(request, "registry/form_page.html", {"form": form, "p": p, "h": p.household, "title": _("编辑家庭成员")}, status=409)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("registry:person_detail", pk=p.pk)
    return render(request, "registry/form_page.html", {"form": form, "p": p, "h": p.household, "title": _("编辑家庭成员")})


@login_required
def person_leave(request: HttpRequest, pk: int) -> HttpResponse:
    p = get_scoped_or_404(Person.objects.select_related("household"), request.user, roles.CHANGE, pk=pk)
    household = p.household
    form = LeaveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.person_leave(actor=request.user, person=p, left_on=form.cleaned_data["left_on"],
                                  reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("已办理迁出"))
            return redirect("registry:household_detail", pk=household.pk) if household else redirect("registry:person_detail", pk=p.pk)
    return render(request, "registry/form_page.html", {"form": form, "p": p, "h": household, "title": _("成员迁出")})


@login_required
@require_POST
def reveal(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Show one protected value after the user gives a reason; answered as a small fragment (htmx) or JSON."""
    obj: Person | Household
    if kind == "person":
        obj = get_scoped_or_404(Person.objects.all(), request.user, roles.VIEW, pk=pk)
    else:
        obj = get_scoped_or_404(Household.objects.all(), request.user, roles.VIEW, pk=pk)
    form = RevealForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("请填写查看原因（至少2个字）"), status=400)
    try:
        value = services.sensitive_reveal(actor=request.user, obj=obj, field=form.cleaned_data["field"],
                                          reason=form.cleaned_data["reason"])
    except PermissionDenied:
        return HttpResponse(_("您没有查看完整信息的权限"), status=403)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"value": value})
    return render(request, "registry/_revealed.html", {"value": value})
