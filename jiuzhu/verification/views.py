"""The 核对报告 (page and PDF) and the departmental records behind it — for the 核对 role only (SECURITY
PRIV-PURP): another staff role in the area gets a refusal that is audited; outside the area a run is a 404
like a missing one. The township sees the conclusion on the case page, not here."""

from __future__ import annotations

import json
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from jiuzhu.accounts import roles
from jiuzhu.core import crypto
from jiuzhu.core.audit import audit_record
from jiuzhu.core.scoping import get_scoped_or_404

from .models import FeedRecord, VerificationRun
from .sources import SOURCES


def verifier_only(view: Any) -> Any:
    """The run for ``pk`` in the user's area (else 404 like a missing one); a role without the verification
    permission gets the refusal page (403), audited. The view receives the run instead of its key."""

    @wraps(view)
    def wrapped(request: HttpRequest, pk: int, *args: Any, **kw: Any) -> HttpResponse:
        run = get_scoped_or_404(VerificationRun.objects.select_related("case", "household", "requested_by",
                                                                       "authorisation"),
                                request.user, roles.VIEW, pk=pk)  # fmt: skip
        user: Any = request.user
        if not user.can(roles.VERIFY):
            audit_record(action="verification.detail_denied", actor=user, obj=run.case or run.household,
                         result="denied", detail={"run": run.pk, "case": run.case.case_no if run.case else ""})  # fmt: skip
            return render(request, "verification/denied.html", {"run": run}, status=403)
        return view(request, run, *args, **kw)

    return login_required(require_GET(wrapped))


def report_context(run: VerificationRun) -> dict[str, Any]:
    from jiuzhu.registry.models import Person, PersonEconomy

    labels = {f.name: str(f.verbose_name) for f in PersonEconomy._meta.fields}
    people = {str(p.pk): p for p in Person.objects.filter(household=run.household).order_by("pk")}
    members = []
    for mid, found in (run.assessment.get("members") or {}).items():
        p = people.get(mid)
        incomes = (run.assessment.get("assessed_input") or {}).get("incomes", {}).get(mid, {})
        members.append({"person": p, "name": p.name if p else mid, "found": found,
                        "assessed": [(labels.get(k, k), v) for k, v in incomes.items() if str(v) not in ("0", "0.00")],
                        "counted": mid in (run.assessment.get("assessed_input") or {}).get("members_counted", [])})  # fmt: skip
    queries = [{"q": q, "label": SOURCES[q.source].label if q.source in SOURCES else q.source}
               for q in run.queries.order_by("pk")]  # fmt: skip
    return {"run": run, "members": members, "queries": queries, "findings": run.findings.select_related("person"),
            "assets": (run.assessment.get("assessed_input") or {}).get("assets", {}),
            "engine": run.assessment.get("engine"), "sources": SOURCES}  # fmt: skip


@verifier_only
def run_report(request: HttpRequest, run: VerificationRun) -> HttpResponse:
    audit_record(action="verification.report_viewed", actor=request.user, obj=run.case or run.household,
                 detail={"run": run.pk, "case": run.case.case_no if run.case else ""})  # fmt: skip
    return render(request, "verification/report.html", report_context(run))


@verifier_only
def run_records(request: HttpRequest, run: VerificationRun, source: str) -> HttpResponse:
    """The departmental records a run used for one source, decrypted for the 核对 role; audited with the case."""
    if source not in SOURCES:
        raise Http404
    from jiuzhu.registry.models import Person

    bis = {p.id_number_bi: p for p in Person.objects.filter(household=run.household)}
    rows = []
    for r in FeedRecord.objects.filter(source=source, person_bi__in=list(bis), period__lte=run.on).order_by("person_bi", "period"):
        raw = json.loads(crypto.decrypt(r.raw_enc, context=f"feed:{source}")) if r.raw_enc else {}
        rows.append({"r": r, "person": bis.get(r.person_bi), "raw": raw})
    audit_record(action="verification.records_viewed", actor=request.user, obj=run.case or run.household,
                 detail={"run": run.pk, "source": source, "case": run.case.case_no if run.case else "", "rows": len(rows)})  # fmt: skip
    return render(request, "verification/records.html", {"run": run, "rows": rows, "label": SOURCES[source].label})


def _member_label(m: dict[str, Any]) -> str:
    found, parts = m["found"], [m["name"]]
    if not m["counted"]:
        parts.append(_("（不计入）"))
    if found.get("death"):
        parts.append(_("（已故 %(d)s）") % {"d": found["death"]})
    if found.get("registration"):
        parts.append(_("（户口已迁出）") if found["registration"] == "moved_out" else _("（户口已注销）"))
    return "".join(parts)


def _wage_cell(found: dict[str, Any]) -> str:
    if found.get("wage_stopped_since"):
        return _("%(d)s 后中断") % {"d": found["wage_stopped_since"]}
    if found.get("wage") is None:
        return "—"
    return f"{found['wage']} / {found.get('wage_gross') or '—'}"


@verifier_only
def run_pdf(request: HttpRequest, run: VerificationRun) -> HttpResponse:
    from jiuzhu.core import pdf

    ctx = report_context(run)
    blocks: list[Any] = [pdf.Fields([
        (_("户编号"), run.household.household_no), (_("核对日期"), f"{run.on:%Y-%m-%d}"),
        (_("核对状态"), run.get_status_display()), (_("核对结论"), run.get_conclusion_display()),
        (_("授权"), _("已签署核对授权书（%(d)s）") % {"d": f"{run.authorisation.signed_on:%Y-%m-%d}"} if run.authorisation else _("动态管理复核")),
        (_("核对人员"), getattr(run.requested_by, "display_name", "") or "—"),
    ])]  # fmt: skip
    blocks += [pdf.Heading(_("查询的部门数据")), pdf.Table(
        [_("来源"), _("状态"), _("人数"), _("记录数"), _("依据授权")],
        [[x["label"], x["q"].get_status_display(), str(x["q"].persons), str(x["q"].records),
          x["q"].authorisation_ref or "—"] for x in ctx["queries"]])]  # fmt: skip
    blocks += [pdf.Heading(_("与申报不一致的情况"))]
    blocks += [pdf.Para(f.text) for f in ctx["findings"]] or [pdf.Para(_("未发现与申报不一致。"))]
    blocks += [pdf.Heading(_("成员核对情况")), pdf.Table(
        [_("成员"), _("工资（税后估算/税前）"), _("养老金等"), _("住房"), _("车辆"), _("金融资产"), _("核定收入（元/月）")],
        [[_member_label(m), _wage_cell(m["found"]), f"{m['found'].get('pension_other') or '—'} / {m['found'].get('pension_basic') or '—'}",
          str(m["found"].get("houses") or 0), str(m["found"].get("vehicles") or 0), str(m["found"].get("financial") or 0),
          "；".join(f"{k} {v}" for k, v in m["assessed"]) or _("无收入")] for m in ctx["members"]])]  # fmt: skip
    assets = ctx["assets"]
    blocks += [pdf.Heading(_("核定的家庭财产")), pdf.Fields([
        (_("金融资产（元）"), str(assets.get("financial", "0"))), (_("住房（套）"), str(assets.get("houses", 0))),
        (_("住房面积（平方米）"), str(assets.get("housing_area_m2", "0"))), (_("非豁免机动车（辆）"), str(assets.get("vehicles", 0))),
    ])]  # fmt: skip
    engine = ctx["engine"] or {}
    if engine:
        blocks += [pdf.Heading(_("政策测算"))] + [pdf.Para(r) for r in engine.get("reasons", [])[:12]]
    doc = pdf.Doc(title=_("家庭经济状况核对报告"), authority=_("县级家庭经济状况核对机构"),
                  case_no=run.case.case_no if run.case else run.household.household_no,
                  verification_code=pdf.make_verification_code("verification", str(run.pk)), issued_on=timezone.localdate(),
                  blocks=blocks, signature_lines=[_("核对人员"), _("审核人")], seal=True)  # fmt: skip
    audit_record(action="verification.report_printed", actor=request.user, obj=run.case or run.household,
                 detail={"run": run.pk})  # fmt: skip
    return pdf.render_response(doc, f"核对报告-{run.pk}.pdf")
