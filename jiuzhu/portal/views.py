"""The public portal: apply, track, report a household in difficulty, village 公示/公布 lists. No account.

Every POST is CSRF-checked and counted per address (``throttle``); forms that carry files go through
``uploads.upload_view`` (body limits before anything is read). Responses are ``no-store`` (security
middleware) — the page with the tracking code is never cached, and the code is not kept anywhere.
"""

from __future__ import annotations

import time
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiuzhu.cases.models import Case
from jiuzhu.cases.services import CaseError
from jiuzhu.core.pdf import render_response

from . import services, throttle
from .forms import ApplyForm, ReportForm, TrackForm
from .uploads import MAX_BYTES, MAX_FILES, check_files, upload_view

TRACK_SESSION = "portal_track"
TRACK_MINUTES = 20


def _message(request: HttpRequest, title: str, message: str, status: int = 200, **extra: Any) -> HttpResponse:
    return render(request, "portal/message.html", {"title": title, "message": message, "status": status, **extra}, status=status)


def throttled(request: HttpRequest, kind: str) -> HttpResponse:
    lim = throttle.limit(kind)
    minutes = int(lim.window.total_seconds() // 60)
    texts = {
        "apply": _("同一网络地址 %(m)d 分钟内最多提交 %(n)d 份申请。请稍后再试，或到乡镇（街道）便民服务窗口申请。"),
        "report": _("同一网络地址 %(m)d 分钟内最多提交 %(n)d 条求助。情况紧急的，请拨打 12345 政务服务便民热线；遇到危险请拨打 110。"),
        "track": _("查询过于频繁：同一网络地址 %(m)d 分钟内最多查询 %(n)d 次。请稍后再试。"),
        "form": _("提交过于频繁：同一网络地址 %(m)d 分钟内最多提交 %(n)d 次。请稍后再试。"),
        "pdf": _("下载过于频繁：同一网络地址 %(m)d 分钟内最多下载 %(n)d 次。请稍后再试。"),
    }
    response = _message(request, _("操作过于频繁"), texts[kind] % {"m": minutes, "n": lim.count}, status=429)
    response["Retry-After"] = str(int(lim.window.total_seconds()))
    return response


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html")


def _choose_township(request: HttpRequest, *, title: str, intro: str, action: str) -> HttpResponse:
    return render(request, "portal/choose_township.html",
                  {"title": title, "intro": intro, "action": action, "groups": services.townships()})  # fmt: skip


def _duplicate(request: HttpRequest, case_no: str) -> HttpResponse:
    return _message(request, _("已经提交过了"),
                    _("这份表单已经提交成功，没有重复登记。为保护您的信息，查询码只在第一次提交后显示一次；如果没有记下，请带身份证到乡镇（街道）窗口查询。"),
                    case_no=case_no)  # fmt: skip


# ---- apply -------------------------------------------------------------------------------------------------------

@upload_view
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest) -> HttpResponse:
    town = services.township(str(request.POST.get("township") or request.GET.get("township") or ""))
    if town is None:
        return _choose_township(request, title=_("网上申请救助"), action="portal:apply",
                                intro=_("第一步：请选择您户籍或居住所在的乡镇（街道）。"))  # fmt: skip
    if request.method != "POST":
        form = ApplyForm(township=town, initial={"token": services.new_token()})
        return _apply_page(request, form)
    ip, nonce, data, refused = _submission(request, "apply")
    if refused is not None:
        return refused
    form = ApplyForm(data, township=town)
    files = request.FILES.getlist("files")
    checked, file_errors = check_files(files)
    if nonce is None:
        form.add_error(None, _("页面已过期，请检查后再提交一次。"))
    if form.is_valid() and not file_errors and nonce is not None:
        d = form.cleaned_data
        app = services.Application(
            programme=d["programme"], temp_type=d["temp_type"], area_code=form.area_code,
            applicant_name=d["applicant_name"], id_number=d["id_number"], phone=d["phone"],
            household_size=d["household_size"], reason=d["reason"], signer_name=d["signer_name"],
        )  # fmt: skip
        try:
            case, code = services.submit_application(app, checked, nonce=nonce, ip=ip)
        except services.Duplicate as e:
            return _duplicate(request, e.case_no)
        except CaseError as e:
            for m in e.messages:
                form.add_error(None, m)
        else:
            return render(request, "portal/done.html", {"case_no": case.case_no, "code": code, "kind": "apply"})
    return _apply_page(request, form, file_errors=file_errors, files_lost=bool(files))


def _submission(request: HttpRequest, kind: str) -> tuple[str, str | None, Any, HttpResponse | None]:
    """What every public form POST checks first: a form token already used → the case it made; over the
    limits → 429 (a refused request writes nothing, not even its count). Returns the client address, the
    token's nonce (None when missing or expired), the POST data (with a fresh token if it had none) and the
    response to send instead, if any."""
    ip = throttle.client_ip(request)
    nonce = services.read_token(str(request.POST.get("token", "")))
    if nonce is not None:
        done = services.used(nonce)
        if done is not None:
            return ip, nonce, None, _duplicate(request, done)
    if throttle.over(ip, kind):
        return ip, nonce, None, throttled(request, kind)
    if not throttle.allow(ip, "form"):
        return ip, nonce, None, throttled(request, "form")
    data = request.POST.copy()
    if nonce is None:
        data["token"] = services.new_token()
    return ip, nonce, data, None


def _apply_page(request: HttpRequest, form: ApplyForm, **extra: Any) -> HttpResponse:
    return render(request, "portal/apply.html", {"form": form, "town": form.township, "max_files": MAX_FILES,
                                                 "max_mb": MAX_BYTES // 2**20, **extra})  # fmt: skip


# ---- report ------------------------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    town = services.township(str(request.POST.get("township") or request.GET.get("township") or ""))
    if town is None:
        return _choose_township(request, title=_("报告困难（求助）"), action="portal:report",
                                intro=_("第一步：请选择需要帮助的人所在的乡镇（街道）。"))  # fmt: skip
    if request.method != "POST":
        return render(request, "portal/report.html",
                      {"form": ReportForm(township=town, initial={"token": services.new_token()}), "town": town})  # fmt: skip
    ip, nonce, data, refused = _submission(request, "report")
    if refused is not None:
        return refused
    form = ReportForm(data, township=town)
    if nonce is None:
        form.add_error(None, _("页面已过期，请检查后再提交一次。"))
    if form.is_valid() and nonce is not None:
        d = form.cleaned_data
        try:
            case, code = services.submit_report(
                area_code=form.area_code, person_name=d["person_name"], what=d["what"], relation=d["relation"],
                reporter_name=d["reporter_name"], reporter_phone=d["reporter_phone"], nonce=nonce, ip=ip,
            )  # fmt: skip
        except services.Duplicate as e:
            return _duplicate(request, e.case_no)
        except CaseError as e:
            for m in e.messages:
                form.add_error(None, m)
        else:
            return render(request, "portal/done.html", {"case_no": case.case_no, "code": code, "kind": "report"})
    return render(request, "portal/report.html", {"form": form, "town": town})


# ---- track -------------------------------------------------------------------------------------------------------

def _grant(request: HttpRequest, cases: list[Case]) -> None:
    """The upload form on the results needs no second entry of the code: the session may add files to these
    cases for a short while."""
    request.session[TRACK_SESSION] = {"cases": [c.pk for c in cases], "until": time.time() + TRACK_MINUTES * 60}


def _granted(request: HttpRequest) -> list[Case]:
    g = request.session.get(TRACK_SESSION) or {}
    if not g or float(g.get("until", 0)) < time.time():
        request.session.pop(TRACK_SESSION, None)
        return []
    order = [int(pk) for pk in g.get("cases", [])]
    found = {c.pk: c for c in Case.objects.filter(pk__in=order)}
    return [found[pk] for pk in order if pk in found]


def _results(request: HttpRequest, cases: list[Case], **extra: Any) -> HttpResponse:
    return render(request, "portal/track.html", {
        "form": TrackForm(), "results": [services.public_view(c) for c in cases], "minutes": TRACK_MINUTES,
        "max_files": MAX_FILES, "max_mb": MAX_BYTES // 2**20, **extra,
    })  # fmt: skip


@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "portal/track.html", {"form": TrackForm()})
    if not throttle.allow(throttle.client_ip(request), "track"):
        return throttled(request, "track")
    form = TrackForm(request.POST)
    form.is_valid()  # every field optional: the lookup below answers malformed input like a wrong code
    d = getattr(form, "cleaned_data", {})
    cases = services.find_tracked(str(d.get("case_no") or ""), str(d.get("code") or ""))
    if cases is None:
        request.session.pop(TRACK_SESSION, None)
        # one answer, one status for every failure, and nothing of the input echoed back
        return render(request, "portal/track.html", {"form": TrackForm(), "failed": True})
    _grant(request, cases)
    return _results(request, cases)


@upload_view
@require_POST
def track_upload(request: HttpRequest) -> HttpResponse:
    if not throttle.allow(throttle.client_ip(request), "form"):
        return throttled(request, "form")
    cases = _granted(request)
    pk = str(request.POST.get("case", ""))
    case = next((c for c in cases if str(c.pk) == pk), None)
    if case is None:
        return render(request, "portal/track.html", {"form": TrackForm(), "expired": True})
    files = request.FILES.getlist("files")
    checked, errors = check_files(files)
    if not files:
        errors = [_("请选择要上传的文件。")]
    elif not case.material_notices.filter(supplied_on__isnull=True).exists():
        errors = [_("这个案件目前没有需要补正的材料。")]
    if errors:
        return _results(request, cases, upload_case=case.pk, upload_errors=errors)
    services.add_supplement(case, checked)
    return _results(request, cases, upload_case=case.pk, uploaded=len(checked))


@require_POST
def track_end(request: HttpRequest) -> HttpResponse:
    request.session.pop(TRACK_SESSION, None)
    return redirect("portal:track")


# ---- publicity boards --------------------------------------------------------------------------------------------

@require_GET
def publicity(request: HttpRequest) -> HttpResponse:
    town = services.township(str(request.GET.get("township") or ""))
    if town is None:
        return _choose_township(request, title=_("公示公布名单"), action="portal:publicity",
                                intro=_("请选择乡镇（街道），再选择村（社区）。"))  # fmt: skip
    villages = town.children.filter(level=5).order_by("code")
    return render(request, "portal/publicity_villages.html", {"town": town, "villages": villages})


def _village_or_404(code: str) -> Any:
    vil = services.village(code)
    if vil is None or vil.parent is None:
        raise Http404
    return vil


@require_GET
def publicity_village(request: HttpRequest, code: str) -> HttpResponse:
    vil = _village_or_404(code)
    today = timezone.localdate()
    rows = services.board(vil.code, vil.name, today)
    return render(request, "portal/publicity.html", {
        "village": vil, "town": vil.parent, "today": today, "rows": rows, "title": services.board_title(vil.name),
        "objection": services.OBJECTION_TEXT, "authority": services.authority(vil.parent),
    })  # fmt: skip


@require_GET
def publicity_pdf(request: HttpRequest, code: str) -> HttpResponse:
    vil = _village_or_404(code)
    if not throttle.allow(throttle.client_ip(request), "pdf"):
        return throttled(request, "pdf")
    today = timezone.localdate()
    doc = services.board_doc(vil, today, services.board(vil.code, vil.name, today))
    return render_response(doc, f"{vil.name}公示公布名单-{today:%Y%m%d}.pdf")
