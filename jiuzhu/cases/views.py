"""Staff pages for cases: the work queue, the window's intake form, the case page (records, deadlines, the
actions this user may take now, the engine's needs check), one page per action, the deadline list, the
township reserve fund and the close-relative declarations.

Every case is fetched through ``restrict`` (another area's case is a 404 exactly like a missing one); every
change goes through ``services.perform``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django import forms as djforms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from jiuzhu.accounts import roles
from jiuzhu.accounts.roles import Role
from jiuzhu.core import crypto
from jiuzhu.core.audit import audit_record
from jiuzhu.core.masking import mask_name
from jiuzhu.core.models import Division
from jiuzhu.core.scoping import get_scoped_or_404

from . import assess, deadlines, selectors, services, storage
from .forms import ACTION_FORMS, NEEDS_CASE, ActionForm, IntakeForm, style
from .models import Attachment, Case, Deadline, Programme, ReserveEntry, StaffRelative
from .procedures import CLOSED_STATES, OPEN_STATES, PUBLIC_STATES, STATES, procedure

PAGE = 50


def _perms(request: HttpRequest) -> frozenset[str]:
    return roles.ROLE_PERMISSIONS.get(getattr(request.user, "role", ""), frozenset())


def _name(name: str, perms: frozenset[str]) -> str:
    return name if roles.VIEW_NAMES in perms else mask_name(name)


def _next_deadlines(cases: list[Case], today: dt.date) -> dict[int, Deadline]:
    out: dict[int, Deadline] = {}
    for d in Deadline.objects.filter(case__in=cases, met_on__isnull=True).order_by("due_on"):
        if d.case_id not in out or (d.due_on and out[d.case_id].due_on and d.due_on < out[d.case_id].due_on):  # type: ignore[operator]
            out[d.case_id] = d
    return out


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    qs = Case.objects.restrict(request.user, roles.VIEW)
    f = {k: request.GET.get(k, "") for k in ("state", "programme", "mine", "q")}
    if "state" not in request.GET and getattr(request.user, "role", "") in (Role.REVIEWER, Role.VERIFIER):
        f["state"] = "county"  # the county's reviewer and 核对 centre start from what waits for the county
    if f["state"] == "county":  # waiting for the county: review, 一事一议, or a verification to run
        qs = qs.filter(Q(state__in=["county_review", "conference"])
                       | Q(state__in=list(OPEN_STATES), verifications__completed_on__isnull=True,
                           verifications__isnull=False)).distinct()  # fmt: skip
    elif f["state"] == "closed":
        qs = qs.filter(state__in=CLOSED_STATES)
    elif f["state"] in STATES:
        qs = qs.filter(state=f["state"])
    elif f["state"] != "all":
        qs = qs.filter(state__in=OPEN_STATES)
    if f["programme"] in Programme.values:
        qs = qs.filter(programme=f["programme"])
    if f["mine"]:
        qs = qs.filter(owner_id=request.user.pk)
    if f["q"]:
        qs = qs.filter(case_no__icontains=f["q"].strip()[:32])
    page = Paginator(qs.select_related("owner").order_by("-pk"), PAGE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    nexts = _next_deadlines(list(page.object_list), today)
    perms = _perms(request)
    rows = [{"c": c, "name": _name(c.applicant_name, perms), "state": STATES.get(c.state, c.state),
             "deadline": nexts.get(c.pk), "status": deadlines.status(nexts[c.pk], today) if c.pk in nexts else ""}
            for c in page.object_list]  # fmt: skip
    return render(request, "cases/case_list.html", {
        "rows": rows, "page": page, "f": f, "programmes": Programme.choices,
        "states": [(k, v) for k, v in STATES.items()], "can_intake": getattr(request.user, "role", "") == Role.CASEWORKER,
    })  # fmt: skip


@login_required
def case_new(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.role != Role.CASEWORKER or not user.area_id:
        raise Http404
    form = IntakeForm(request.POST or None, area_prefix=user.area_id, initial={"channel": "window"})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        sigs = [(k, d["signer_name"] or d["applicant_name"]) for k in ("commitment", "authorisation") if d[f"signed_{k}"]]
        try:
            case, _code = services.intake(
                actor=request.user, programme=d["programme"], channel=d["channel"], area_code=d["area_code"],
                applicant_name=d["applicant_name"], applicant_id=d["applicant_id"], applicant_phone=d["applicant_phone"],
                household_size=d["household_size"], summary=d["summary"], temp_type=d.get("temp_type") or "",
                temp_tier=d.get("temp_tier") or 0, emergency_area_code=d.get("emergency_area_code") or "",
                signatures=sigs,
            )  # fmt: skip
        except services.CaseError as e:
            for m in e.messages:
                form.add_error(None, m)
        else:
            messages.success(request, _("已登记 %(no)s。请在案件页打印受理回执。") % {"no": case.case_no})
            return redirect("cases:detail", pk=case.pk)
    return render(request, "cases/case_new.html", {"form": form})


def _scoped_case(request: HttpRequest, pk: int) -> Case:
    return get_scoped_or_404(Case.objects.select_related("household", "owner", "first_officer"), request.user,
                             roles.VIEW, pk=pk)  # fmt: skip


@login_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _scoped_case(request, pk)
    perms = _perms(request)
    today = timezone.localdate()
    proc = procedure(case.programme)
    dls = [(d, deadlines.status(d, today)) for d in case.deadlines.order_by("started_on", "pk")]
    actions = services.available_actions(request.user, case)
    needs: dict[str, Any] = {}
    if case.state in OPEN_STATES and roles.VIEW_NAMES in perms and case.household_id:
        needs = {k: a for k, a in assess.needs_check(case, today).items() if a.ok and a.eligible}
    own = assess.run(case, today)[case.programme] if (
        case.programme != Programme.HELP and case.household_id and case.state in OPEN_STATES) else None  # fmt: skip
    labels = {a.key: a.label for a in proc.actions.values()}
    history = [{"t": t, "label": labels.get(t.action, _("提交申请") if t.action == "create" else t.action)}
               for t in case.transitions.order_by("pk")]  # fmt: skip
    docs = available_documents(case, perms)
    return render(request, "cases/case_detail.html", {
        "case": case, "name": _name(case.applicant_name, perms), "state": STATES.get(case.state, case.state),
        "public_state": PUBLIC_STATES.get(case.state, ""), "deadlines": dls, "actions": actions, "needs": needs,
        "own": own, "history": history, "proc": proc, "docs": docs,
        "notices": case.material_notices.order_by("pk"), "signatures": case.signatures.order_by("pk"),
        "attachments": case.attachments.order_by("pk"), "investigations": case.investigations.order_by("pk"),
        "verifications": case.verifications.order_by("pk"), "publicities": case.publicities.order_by("pk"),
        "objections": case.objections.order_by("pk"), "reviews": case.reviews.order_by("pk"),
        "decisions": case.decisions.order_by("pk"), "self_care": case.self_care.select_related("person").order_by("pk"),
        "conferences": case.conferences.order_by("pk"), "instalments": case.instalments.order_by("seq"),
        "transfers": case.transfers.order_by("pk"), "children": case.children.order_by("pk"),
        "materials": services.MATERIALS, "programme_labels": dict(Programme.choices),
        "duplicates": services.duplicates_of(case) if case.state in OPEN_STATES else [],
        "vobjections": _verification_objections(case),
    })  # fmt: skip


def _verification_objections(case: Case) -> list[Any]:
    from jiuzhu.verification.models import VerificationObjection

    return list(VerificationObjection.objects.filter(run__case=case).order_by("pk"))


def available_documents(case: Case, perms: frozenset[str]) -> list[tuple[str, str]]:
    """The printable notices whose facts exist, for roles that may print them (the documents module decides)."""
    from . import documents

    if roles.VIEW_NAMES not in perms:
        return []
    return [(k, documents.short_name(case, k)) for k in documents.available(case)]


def _form_for(action: str, case: Case, data: Any = None, files: Any = None) -> ActionForm:
    cls = ACTION_FORMS.get(action, ActionForm)
    kw: dict[str, Any] = {"case": case} if action in NEEDS_CASE else {}
    initial = {"version": case.version, "on": timezone.localdate()}
    if action in ("record_investigation",):
        initial["visited_on"] = timezone.localdate()
    if action in ("democratic_review", "conference_decide"):
        initial["held_on"] = timezone.localdate()
    if action == "pay_instalment":
        initial["due_on"] = timezone.localdate()
    if action in ("accept", "request_materials"):
        initial["signer_name"] = case.applicant_name
    if action == "set_tier":
        initial |= {"temp_type": case.temp_type, "temp_tier": case.temp_tier or 1, "one_matter": case.one_matter}
    if action == "triage" and case.household_id:
        initial["programmes"] = [k for k, a in assess.needs_check(case, timezone.localdate()).items() if a.ok and a.eligible]
    form = cls(data, files, initial=initial, **kw)
    if action in ("accept", "request_materials", "supply_materials"):
        have = set(case.signatures.values_list("kind", flat=True))
        for k in ("commitment", "authorisation"):
            if k in have and f"signed_{k}" in form.fields:
                form.fields[f"signed_{k}"].widget = djforms.HiddenInput()
    return form


@login_required
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    case = _scoped_case(request, pk)
    act = procedure(case.programme).actions.get(action)
    if act is None:
        raise Http404
    if not services.may(request.user, case, act):
        audit_record(action=f"case.{action}", actor=request.user, obj=case, result="denied")
        return render(request, "cases/denied.html", {"case": case, "label": act.label}, status=403)
    form = _form_for(action, case, request.POST or None, request.FILES or None)
    preview = assess.run(case, timezone.localdate())[case.programme] if action in (
        "propose", "confirm", "township_approve", "advance_pay", "conference_decide") and case.household_id else None  # fmt: skip
    status = 200
    stored: list[str] = []  # files written for this request: removed again if the action is refused
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        version, on = data.pop("version"), data.pop("on")
        try:
            with transaction.atomic():
                upload = request.FILES.get("file")
                if upload is not None:
                    if (upload.size or 0) > storage.MAX_BYTES:
                        raise storage.UploadRefused(_("文件“%(name)s”超过 10 MB。") % {"name": upload.name})
                    checked = storage.check(upload.name or "file", upload.read())
                    data["attachment"] = services.add_attachment(case=case, actor=request.user,
                                                                 kind=str(data.get("kind") or "material"), checked=checked)  # fmt: skip
                    stored.append(data["attachment"].storage_name)
                data.pop("file", None)
                services.perform(actor=request.user, case_id=case.pk, action=action, version=version, data=data, on=on)
        except services.Stale as e:
            form.add_error(None, e.messages[0])
            status = 409
        except services.Forbidden as e:
            form.add_error(None, e.messages[0])
            status = 403
        except (services.Refused, storage.UploadRefused) as e:
            for m in getattr(e, "messages", [str(e)]):
                form.add_error(None, m)
        else:
            messages.success(request, _("已办理：%(a)s") % {"a": act.label})
            return redirect("cases:detail", pk=case.pk)
        for name in stored:  # the action was refused and its rows rolled back: no file without a row
            storage.remove(name)
    return render(request, "cases/action.html", {"case": case, "act": act, "form": form, "preview": preview,
                                                 "state": STATES.get(case.state, case.state)}, status=status)  # fmt: skip


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    att = get_scoped_or_404(Attachment.objects.all(), request.user, roles.VIEW_NAMES, pk=pk)
    audit_record(action="case.attachment_download", actor=request.user, obj=att.case, detail={"attachment": att.pk})
    resp = HttpResponse(storage.load(att.storage_name), content_type=att.content_type)
    resp["Content-Disposition"] = "attachment; filename*=UTF-8''" + quote(att.filename)
    resp["Cache-Control"] = "no-store"
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


@login_required
@require_GET
def deadline_list(request: HttpRequest) -> HttpResponse:
    """Overdue and due-soon work in the user's area, by officer (the daily list; ``jiuzhu deadlines`` prints it)."""
    today = timezone.localdate()
    rows = selectors.due_items(Deadline.objects.restrict(request.user, roles.VIEW), today, soon_days=int(d) if (d := request.GET.get("days", "")).isdecimal() and len(d) < 4 else 3)
    perms = _perms(request)
    for r in rows:
        r["name"] = _name(r["case"].applicant_name, perms)
    return render(request, "cases/deadlines.html", {"rows": rows, "today": today})


# ---- reserve fund ------------------------------------------------------------------------------------------------

class ReserveForm(djforms.Form):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        style(self)

    township = djforms.ChoiceField(label=_("乡镇（街道）"))
    kind = djforms.ChoiceField(label=_("类型"), choices=[("topup", _("县级拨付")), ("reconcile", _("对账调整"))])
    amount = djforms.DecimalField(label=_("金额（元，对账调整可为负数）"), max_digits=12, decimal_places=2)
    note = djforms.CharField(label=_("说明"), max_length=200)


@login_required
def reserve(request: HttpRequest) -> HttpResponse:
    """乡镇备用金 ledger: the township sees its own; the county tops up and reconciles."""
    user: Any = request.user
    if not getattr(user, "area_id", None) or user.role not in (Role.CASEWORKER, Role.REVIEWER, Role.SUPERVISOR, Role.AUDITOR):
        raise Http404
    towns = list(Division.objects.filter(level=4, code__startswith=user.area_id).order_by("code")[:500])
    form = None
    if user.role == Role.REVIEWER:
        form = ReserveForm(request.POST or None)
        form.fields["township"].choices = [(t.code, t.name) for t in towns]  # type: ignore[attr-defined]
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            amount: Decimal = d["amount"]
            if d["kind"] == "topup" and amount <= 0:
                form.add_error("amount", _("拨付金额须大于0。"))
            else:
                try:
                    with transaction.atomic():
                        e = services.reserve_append(township=d["township"], kind=d["kind"], amount=amount,
                                                    on=timezone.localdate(), actor=user, note=d["note"])  # fmt: skip
                        audit_record(action="case.reserve_" + d["kind"], actor=user, obj=e, detail={"amount": str(amount)})
                except services.CaseError as exc:
                    form.add_error(None, exc.messages[0])
                else:
                    messages.success(request, _("已记账"))
                    return redirect("cases:reserve")
    pick = request.GET.get("township") or (towns[0].code if towns else "")
    entries = ReserveEntry.objects.restrict(user, roles.VIEW).filter(township_code=pick).select_related("case").order_by("-seq")[:200]
    return render(request, "cases/reserve.html", {"towns": towns, "pick": pick, "entries": entries, "form": form,
                                                  "balance": services.reserve_balance(pick) if pick else None})  # fmt: skip


# ---- close-relative declarations (近亲属备案) --------------------------------------------------------------------

class RelativeForm(djforms.Form):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        style(self)

    declarant_name = djforms.CharField(label=_("申报人"), max_length=64)
    declarant_post = djforms.CharField(label=_("职务（经办人员、村/居委会成员）"), max_length=64)
    relative_name = djforms.CharField(label=_("近亲属姓名"), max_length=64)
    relation = djforms.ChoiceField(label=_("关系"), choices=[(x, x) for x in (
        "配偶", "父母", "子女", "兄弟姐妹", "祖父母", "外祖父母", "孙子女", "外孙子女")])  # fmt: skip
    relative_id = djforms.CharField(label=_("近亲属身份证号"), max_length=22)

    def clean_relative_id(self) -> str:
        from jiuzhu.core import idnumber

        try:
            return idnumber.parse(self.cleaned_data["relative_id"]).value
        except idnumber.InvalidIdNumber as e:
            raise djforms.ValidationError(str(e)) from e


@login_required
def relatives(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if user.role not in (Role.CASEWORKER, Role.REVIEWER, Role.AUDITOR, Role.SUPERVISOR):
        raise Http404
    form = RelativeForm(request.POST or None) if user.role in (Role.CASEWORKER, Role.REVIEWER) else None
    if form is not None and request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        from jiuzhu.core.masking import mask_id

        with transaction.atomic():
            r = StaffRelative.objects.create(area_code=user.area_id, declarant_name=d["declarant_name"],
                                             declarant_post=d["declarant_post"], relative_name=d["relative_name"],
                                             relation=d["relation"],
                                             relative_id_bi=crypto.blind_index(d["relative_id"], purpose="id_number"),
                                             relative_id_masked=mask_id(d["relative_id"]), declared_on=timezone.localdate(),
                                             declarant=user)  # fmt: skip
            audit_record(action="case.relative_declared", actor=user, obj=r)
        messages.success(request, _("已备案"))
        return redirect("cases:relatives")
    rows = StaffRelative.objects.restrict(user, roles.VIEW).order_by("-pk")[:500]
    return render(request, "cases/relatives.html", {"rows": rows, "form": form})


def township_queue_q(user: Any) -> Q:
    return Q(township_code__startswith=user.area_id or "-")
