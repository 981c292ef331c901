"""Policy admin pages: the parameter tree, one key's history, the standard change (调标) with its preview, and the
confirmation of an illustrative (L) value. Thin: parse, check, call ``services``, render."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from jiuzhu.accounts import roles
from jiuzhu.core.scoping import can
from jiuzhu.policy.parameters.store import ParamValue

from . import services
from .forms import ChangeForm, ConfirmForm
from .models import ParameterChange
from .store import allow_unconfirmed, current_store

TOKEN_SALT = "policyadmin.change-preview"  # noqa: S105 - a signing salt, not a secret
TOKEN_MAX_AGE = 2 * 3600  # a preview older than this must be run again


def _require(request: HttpRequest, action: str) -> None:
    if not can(request.user, action):
        raise PermissionDenied


def _english() -> bool:
    return (translation.get_language() or "").startswith("en")


def _date_param(text: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(text) if text else default
    except ValueError:
        return default


def _common(request: HttpRequest) -> dict[str, Any]:
    return {"can_manage": can(request.user, roles.MANAGE_POLICY), "demo": allow_unconfirmed(),
            "english": _english()}  # fmt: skip


@login_required
def parameter_tree(request: HttpRequest) -> HttpResponse:
    _require(request, roles.VIEW)
    today = timezone.localdate()
    on = _date_param(request.GET.get("on"), today)
    programmes = services.programme_keys()
    programme = request.GET.get("programme", "")
    if programme not in programmes:
        programme = ""
    only_l = request.GET.get("only_l") == "1"
    groups = services.tree(request.user, on=on, programme=programme, only_l=only_l)
    english = _english()
    ctx = {
        **_common(request), "on": on, "today": today, "programme": programme, "only_l": only_l,
        "programmes": [(p, services.programme_label(p, english=english)) for p in programmes],
        "groups": [(p, services.programme_label(p, english=english), items) for p, items in groups],
        "area_name": services.scope_name(services.user_area(request.user)),
        "l_count": sum(1 for _p, items in groups for kr in items if kr.has_l),
    }  # fmt: skip
    return render(request, "policyadmin/parameter_tree.html", ctx)


@login_required
def parameter_detail(request: HttpRequest, key: str) -> HttpResponse:
    _require(request, roles.VIEW)
    spec = services.spec_or_404(key)
    today = timezone.localdate()
    area = services.user_area(request.user)
    everywhere = request.GET.get("all") == "1"
    changeable = {c for c, _n in services.allowed_scopes(request.user)}
    rows = services.history(key, area, today, everywhere=everywhere, changeable=changeable)
    store = current_store()
    english = _english()
    ctx = {
        **_common(request), "key": key, "spec": spec, "rows": rows, "everywhere": everywhere, "today": today,
        "programme_label": services.programme_label(spec.programme, english=english),
        "used_by": [services.programme_label(p, english=english) for p in services.affected_programmes(key)],
        "current": store.resolve(key, area, today) if area else None,
        "area_name": services.scope_name(area),
        "changes": services.changes_of(key, area, everywhere=everywhere),
        "kind_labels": dict(ParameterChange.Kind.choices),
    }  # fmt: skip
    return render(request, "policyadmin/parameter_detail.html", ctx)


def _token(payload: dict[str, Any]) -> str:
    return signing.dumps(payload, salt=TOKEN_SALT, compress=True)


def _read_token(text: str) -> dict[str, Any] | None:
    try:
        payload = signing.loads(text or "", salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    return payload if isinstance(payload, dict) else None


def _first_of_next_month(d: dt.date) -> dt.date:
    return dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)


@login_required
def parameter_change(request: HttpRequest, key: str) -> HttpResponse:
    """调标: the form, then a preview of its effect on the registry, then 确认保存 (which saves only the previewed
    data, once)."""
    _require(request, roles.MANAGE_POLICY)
    spec = services.spec_or_404(key)
    scopes = services.allowed_scopes(request.user)
    today = timezone.localdate()
    store = current_store()
    source = request.POST if request.method == "POST" else request.GET
    scope = source.get("scope") or scopes[0][0]
    services.check_scope(request.user, scope)  # another city's scope: 404, like any object outside the area
    ctx: dict[str, Any] = {**_common(request), "key": key, "spec": spec, "today": today,
                           "current": store.resolve(key, scope, today), "scope_label": services.scope_name(scope)}  # fmt: skip
    if len(scopes) > 1:  # what each area may change has now (a city's own value or the province's it inherits)
        ctx["current_by_scope"] = [(code, name, store.resolve(key, code, today)) for code, name in scopes]
    if request.method != "POST":
        initial: dict[str, Any] = {"scope": scope, "effective_from": _first_of_next_month(today)}
        if ctx["current"] is not None:
            initial["value"] = services.stored_text(ctx["current"].value)
        ctx["form"] = ChangeForm(initial=initial, spec=spec, scopes=scopes)
        return render(request, "policyadmin/parameter_change.html", ctx)

    form = ChangeForm(request.POST, spec=spec, scopes=scopes)
    ctx["form"] = form
    if not form.is_valid():
        return render(request, "policyadmin/parameter_change.html", ctx)
    d = form.cleaned_data
    new = ParamValue(key=key, scope=d["scope"], effective_from=d["effective_from"], value=d["value"],
                     source=d["source"], confidence=d["confidence"], article=d["article"], note=d["note"],
                     origin="preview")  # fmt: skip
    ctx["current"] = store.resolve(key, d["scope"], d["effective_from"])
    ctx["scope_label"] = services.scope_name(d["scope"])

    if request.POST.get("action") == "save":
        payload = _read_token(request.POST.get("preview_token", ""))
        if payload is None:
            messages.warning(request, _("预览已过期或无效，已按当前输入重新预览，请核对后再确认保存。"))
        elif payload.get("d") != form.data_key():
            messages.warning(request, _("预览之后输入有改动，已按新的输入重新预览，请核对后再确认保存。"))
        else:
            done = ParameterChange.objects.filter(token=payload["t"]).first()
            if done is not None:
                messages.info(request, _("该调整已经保存过，本次重复提交未再次保存。"))
                return redirect("policyadmin:parameter_detail", key=key)
            if payload.get("b") != services.latest_change_id():
                messages.warning(request, _("预览之后参数已有其他调整，已重新预览，请核对后再确认保存。"))
            else:
                try:
                    services.save_change(actor=request.user, key=key, scope=new.scope, value=new.value,
                                         effective_from=new.effective_from, source=new.source, article=new.article,
                                         note=new.note, confidence=new.confidence, preview=payload.get("s"),
                                         token=payload["t"], previous=ctx["current"])  # fmt: skip
                except services.Duplicate:
                    messages.info(request, _("该调整已经保存过，本次重复提交未再次保存。"))
                else:
                    messages.success(request, _("已保存：%(label)s 自 %(date)s 起在%(scope)s为 %(value)s") % {
                        "label": spec.label, "date": new.effective_from.isoformat(),
                        "scope": services.scope_name(new.scope), "value": new.display})  # fmt: skip
                return redirect("policyadmin:parameter_detail", key=key)

    base = services.latest_change_id()
    summary = services.preview(key=key, scope=new.scope, new=new, store=store)
    ctx.update(preview=summary, new=new,
               preview_token=_token({"t": uuid.uuid4().hex, "b": base, "d": form.data_key(), "s": summary}))
    return render(request, "policyadmin/parameter_change.html", ctx)


@login_required
def parameter_confirm(request: HttpRequest, key: str) -> HttpResponse:
    """确认: record that an illustrative (L) value is the real one, with the document that says so (H or M)."""
    _require(request, roles.MANAGE_POLICY)
    spec = services.spec_or_404(key)
    source = request.POST if request.method == "POST" else request.GET
    scope = source.get("scope", "")
    on = _date_param(source.get("from"), dt.date.min)
    store = current_store()
    pv = next((v for v in store.values(key) if v.scope == scope and v.effective_from == on), None)
    if pv is None:
        raise Http404
    detail_url = reverse("policyadmin:parameter_detail", kwargs={"key": key})
    if pv.confidence != "L":
        messages.info(request, _("该值已确认，无需再次确认。"))
        return redirect(detail_url)
    changeable = {c for c, _n in services.allowed_scopes(request.user)}
    target = services.confirm_target(pv, services.user_area(request.user), changeable)
    if target is None:
        raise Http404
    form = ConfirmForm(request.POST or None)
    token = request.POST.get("token", "") if request.method == "POST" else uuid.uuid4().hex
    if request.method == "POST" and form.is_valid():
        try:
            token = uuid.UUID(token).hex
        except ValueError:
            raise PermissionDenied from None
        d = form.cleaned_data
        try:
            services.save_change(actor=request.user, key=key, scope=target, value=pv.value,
                                 effective_from=pv.effective_from, source=d["source"], article=d["article"],
                                 note=d["note"], confidence=d["confidence"], kind=ParameterChange.Kind.CONFIRM,
                                 token=token, previous=pv)  # fmt: skip
        except services.Duplicate:
            messages.info(request, _("该确认已经保存过，本次重复提交未再次保存。"))
        else:
            messages.success(request, _("已确认：%(label)s %(value)s（%(scope)s，自 %(date)s 起）") % {
                "label": spec.label, "value": pv.display, "scope": services.scope_name(target),
                "date": pv.effective_from.isoformat()})  # fmt: skip
        return redirect(detail_url)
    ctx = {**_common(request), "key": key, "spec": spec, "pv": pv, "target": target,
           "target_name": services.scope_name(target), "inherited": target != pv.scope, "form": form,
           "token": token}  # fmt: skip
    return render(request, "policyadmin/parameter_confirm.html", ctx)
