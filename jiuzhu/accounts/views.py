"""Login, logout, forced password change, authenticator binding and the security admin's account page.

All decisions are made in ``services``; these views only move the user between steps. Between the password
step and the finished login the session holds a *pending* state (``PENDING``: user id, stage, time) — never
the password — and the user is not logged in: no page that needs a login accepts a pending session."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from . import roles, services
from .forms import LoginForm, PasswordChangeForm, TotpEnrollForm, TotpForm, UserCreateForm
from .middleware import EXPIRED_FLAG, LOGIN_AT, SEEN_AT
from .models import User

PENDING = "jz_pending"
ENROLL_TOKEN = "jz_enroll_token"  # noqa: S105 (a session key name)
PENDING_SECONDS = 600
BACKEND = "django.contrib.auth.backends.ModelBackend"

STAGE_TOTP = "totp"
STAGE_ENROLL = "enroll"
STAGE_PASSWORD = "password"  # noqa: S105


def _ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or ""


def landing_url(user: Any) -> str:
    if getattr(user, "role", "") == roles.Role.SECURITY_ADMIN:
        return reverse("accounts:users")
    return settings.LOGIN_REDIRECT_URL


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return value
    return ""


def _set_pending(request: HttpRequest, user: User, stage: str, next_url: str) -> None:
    request.session.cycle_key()  # a new key once the password is proven (no fixation into the pending state)
    request.session[PENDING] = {"uid": user.pk, "stage": stage, "at": time.time(), "next": next_url}


def _pending(request: HttpRequest, stage: str) -> tuple[User | None, str]:
    p = request.session.get(PENDING)
    if not isinstance(p, dict) or p.get("stage") != stage or time.time() - float(p.get("at", 0)) > PENDING_SECONDS:
        return None, ""
    return User.objects.filter(pk=int(p.get("uid") or 0), is_active=True).first(), str(p.get("next", ""))


def _clear_pending(request: HttpRequest) -> None:
    request.session.pop(PENDING, None)
    request.session.pop(ENROLL_TOKEN, None)


def _pending_expired(request: HttpRequest) -> HttpResponse:
    _clear_pending(request)
    messages.warning(request, _("登录步骤已超时或无效，请重新登录。"))
    return redirect("accounts:login")


def _complete_login(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    _clear_pending(request)
    auth_login(request, user, backend=BACKEND)  # rotates the session key (SECURITY AUTH-SESS)
    now = time.time()
    request.session[LOGIN_AT] = now
    request.session[SEEN_AT] = now
    return redirect(next_url or landing_url(user))


def _route(request: HttpRequest, result: services.LoginResult, next_url: str) -> HttpResponse | None:
    """Move on after a login step; None means: show the step's form again with ``result.message``."""
    user = result.user
    if result.status == services.OK and user is not None:
        return _complete_login(request, user, next_url)
    if result.status == services.PASSWORD_EXPIRED and user is not None:
        _set_pending(request, user, STAGE_PASSWORD, next_url)
        messages.warning(request, result.message)
        return redirect("accounts:password_change")
    if result.status == services.TOTP_REQUIRED and user is not None:
        if user.totp_secret_enc:
            _set_pending(request, user, STAGE_TOTP, next_url)
            return redirect("accounts:login_totp")
        if services.can_enroll_at_login(user):
            _set_pending(request, user, STAGE_ENROLL, next_url)
            messages.info(request, result.message)
            return redirect("accounts:login_enroll")
    return None


def _status_for(result: services.LoginResult) -> int:
    return 429 if result.status == services.THROTTLED else 200


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated and request.method != "POST":
        return redirect(next_url or landing_url(request.user))
    if request.session.pop(EXPIRED_FLAG, False):
        messages.warning(request, _("会话已超时，请重新登录。"))
    error, status = "", 200
    if request.method == "POST":
        form = LoginForm(request.POST)
        if form.is_valid():
            _clear_pending(request)
            result = services.login_check(username=form.cleaned_data["username"],
                                          password=form.cleaned_data["password"], ip=_ip(request))
            response = _route(request, result, next_url)
            if response is not None:
                return response
            error, status = result.message, _status_for(result)
        else:
            error = _("请输入用户名和密码。")
        form = LoginForm()  # the username is not echoed: a failed attempt looks the same for every name
    else:
        form = LoginForm()
    return render(request, "accounts/login.html", {
        "form": form, "error": error, "next": next_url, "max_failures": settings.LOGIN_MAX_FAILURES,
        "lock_minutes": settings.LOGIN_LOCK_MIN}, status=status)


@csrf_protect
@never_cache
def login_totp(request: HttpRequest) -> HttpResponse:
    user, next_url = _pending(request, STAGE_TOTP)
    if user is None:
        return _pending_expired(request)
    form = TotpForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        result = services.second_factor_check(user_id=user.pk, totp_code=form.cleaned_data["code"], ip=_ip(request))
        response = _route(request, result, next_url)
        if response is not None:
            return response
        if result.status in (services.LOCKED, services.INVALID):
            _clear_pending(request)
            messages.error(request, result.message)
            return redirect("accounts:login")
        error, status = result.message, _status_for(result)
        form = TotpForm()
    return render(request, "accounts/login_totp.html", {"form": form, "error": error}, status=status)


def _enroll_page(request: HttpRequest, user: User, *, at_login: bool) -> tuple[HttpResponse | None, Any]:
    """Show or confirm an authenticator binding. Returns (response, None) to finish, or (None, context)."""
    enrollment = services.totp_enroll_begin(user=user, pending_token=request.session.get(ENROLL_TOKEN))
    request.session[ENROLL_TOKEN] = enrollment.pending_token
    form_class = TotpForm if at_login else TotpEnrollForm
    form = form_class(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        if not at_login and not user.check_password(form.cleaned_data.get("password") or ""):
            error = _("当前密码不正确。")
        elif services.totp_enroll_confirm(user=user, pending_token=enrollment.pending_token,
                                          code=form.cleaned_data["code"]):
            request.session.pop(ENROLL_TOKEN, None)
            return HttpResponse(), None  # the caller decides where to go
        else:
            error = _("动态口令不正确，请核对手机时间后输入当前显示的 6 位数字。")
        form = form_class()
    return None, {"form": form, "error": error, "enrollment": enrollment, "at_login": at_login,
                  "user_label": user.username}


@csrf_protect
@never_cache
def login_enroll(request: HttpRequest) -> HttpResponse:
    """First login of a fresh admin-role account: bind the authenticator, then go on."""
    user, next_url = _pending(request, STAGE_ENROLL)
    if user is None:
        return _pending_expired(request)
    done, context = _enroll_page(request, user, at_login=True)
    if done is not None:
        result = services.resume_login(user_id=user.pk, ip=_ip(request))
        response = _route(request, result, next_url)
        if response is not None:
            messages.success(request, _("身份验证器已绑定。"))
            return response
        _clear_pending(request)
        messages.error(request, result.message)
        return redirect("accounts:login")
    return render(request, "accounts/totp_enroll.html", context)


@login_required
@csrf_protect
@never_cache
def totp_setup(request: HttpRequest) -> HttpResponse:
    """A logged-in user binds (or re-binds) an authenticator; needs the current password."""
    done, context = _enroll_page(request, request.user, at_login=False)  # type: ignore[arg-type]
    if done is not None:
        messages.success(request, _("身份验证器已绑定，今后登录须输入动态口令。"))
        return redirect(landing_url(request.user))
    return render(request, "accounts/totp_enroll.html", context)


@sensitive_post_parameters("old_password", "new_password", "new_password2")
@csrf_protect
@never_cache
def password_change_view(request: HttpRequest) -> HttpResponse:
    """Voluntary change (logged in) or the forced change after ``password_expired`` (pending state)."""
    pending_user, next_url = _pending(request, STAGE_PASSWORD)
    if request.user.is_authenticated:
        user, forced = request.user, False
    elif pending_user is not None:
        user, forced = pending_user, True
    else:
        return redirect(f"{settings.LOGIN_URL}?next={reverse('accounts:password_change')}")
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(user=user, old_password=form.cleaned_data["old_password"],  # type: ignore[arg-type]
                                     new_password=form.cleaned_data["new_password"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("密码已修改。"))
            if forced:
                result = services.resume_login(user_id=user.pk, ip=_ip(request))
                response = _route(request, result, next_url)
                if response is not None:
                    return response
                _clear_pending(request)
                messages.error(request, result.message)
                return redirect("accounts:login")
            update_session_auth_hash(request, user)  # keep this session; the user's other sessions end
            return redirect(landing_url(user))
    return render(request, "accounts/password_change.html", {
        "form": form, "forced": forced, "help_texts": password_validators_help_texts()})


@require_POST
@csrf_protect
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.record_logout(user=request.user)
    auth_logout(request)  # flushes the session row: the old cookie is worthless afterwards
    messages.info(request, _("您已安全退出。"))
    return redirect("accounts:login")


# --- security admin: accounts in their area ------------------------------------------------------------


def _require_manager(request: HttpRequest) -> User:
    user = request.user
    if not (user.is_authenticated and user.can(roles.MANAGE_USERS)):  # type: ignore[union-attr]
        raise PermissionDenied
    return user  # type: ignore[return-value]


@login_required
@never_cache
def user_list(request: HttpRequest, *, form: UserCreateForm | None = None, status: int = 200) -> HttpResponse:
    actor = _require_manager(request)
    qs = services.users_managed_by(actor)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(full_name__icontains=q) | Q(area__code__startswith=q))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    form = form or UserCreateForm(role_choices=services.manageable_roles(), initial={"area_code": actor.area_id})
    return render(request, "accounts/users.html", {
        "page": page, "q": q, "form": form, "actor": actor, "request_time": timezone.now()}, status=status)


def _show_secret(request: HttpRequest, target: User, password: str, created: bool) -> HttpResponse:
    return render(request, "accounts/user_secret.html", {"target": target, "password": password, "created": created})


@login_required
@require_POST
@csrf_protect
def user_create_view(request: HttpRequest) -> HttpResponse:
    actor = _require_manager(request)
    form = UserCreateForm(request.POST, role_choices=services.manageable_roles())
    if form.is_valid():
        try:
            target, password = services.user_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return _show_secret(request, target, password, created=True)
    return user_list(request, form=form, status=400)


@login_required
@require_POST
@csrf_protect
def user_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    actor = _require_manager(request)
    target = get_object_or_404(services.users_managed_by(actor), pk=pk)  # outside the area: 404
    if action == "disable":
        services.user_disable(actor=actor, user=target)
        messages.success(request, _("已停用账号 %(username)s，其会话已全部结束。") % {"username": target.username})
    elif action == "enable":
        services.user_enable(actor=actor, user=target)
        messages.success(request, _("已启用账号 %(username)s。") % {"username": target.username})
    elif action == "unlock":
        services.user_unlock(actor=actor, user=target)
        messages.success(request, _("已解除账号 %(username)s 的登录锁定。") % {"username": target.username})
    elif action == "reset":
        password = services.user_reset(actor=actor, user=target)
        return _show_secret(request, target, password, created=False)
    return redirect("accounts:users")
