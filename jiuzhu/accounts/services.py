"""Staff login policy and account lifecycle (SECURITY AUTH-LOCK, AUTH-SESS, AUTH-PWD, AUTH-2FA, AC-LIFE, AC-SOD).

Everything that decides whether someone may log in lives here, so the web pages and the JSON API apply the
same rules. Functions are keyword-only; each writes its audit event in the same transaction as its change.

``login_check`` returns a ``LoginResult``; its ``status`` is one of ``STATUSES``:

* ``ok`` — password (and second factor when required) correct; the caller may start a session.
* ``invalid`` — unknown user, wrong password or disabled account: one status and one message for all three.
* ``locked`` — too many failures for this username (known or not) within the window; refused even with the
  right password until the lock ends.
* ``throttled`` — too many attempts from this address in the last minute.
* ``totp_required`` — password correct; the role needs a TOTP code (``user`` is set).
* ``totp_invalid`` — the code was wrong, outside ±1 step, or already used.
* ``password_expired`` — credentials correct, but the password must be changed first (expired under the
  ``dengbao`` profile, or an initial/reset password); ``user`` is set and may only change the password.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import string
from dataclasses import dataclass
from typing import Any

import pyotp
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jiuzhu.core import crypto
from jiuzhu.core.audit import audit_record
from jiuzhu.core.middleware import current_request_meta
from jiuzhu.core.models import Division

from . import roles
from .models import LoginAttempt, UnknownLoginState, User

OK = "ok"
INVALID = "invalid"
LOCKED = "locked"
THROTTLED = "throttled"
TOTP_REQUIRED = "totp_required"
TOTP_INVALID = "totp_invalid"
PASSWORD_EXPIRED = "password_expired"  # noqa: S105 (a status, not a secret)
STATUSES = (OK, INVALID, LOCKED, THROTTLED, TOTP_REQUIRED, TOTP_INVALID, PASSWORD_EXPIRED)

TOTP_STEP = 30
TOTP_WINDOW = 1  # steps accepted either side of the current one
TOTP_CONTEXT = "user.totp"
TOTP_ISSUER = "jiuzhu"
IP_WINDOW = dt.timedelta(minutes=1)
ATTEMPT_RETENTION = dt.timedelta(minutes=10)


def _messages() -> dict[str, str]:
    return {
        OK: _("登录成功。"),
        INVALID: _("用户名或密码错误。"),
        LOCKED: _("登录失败次数过多，该账号已暂时锁定，请 %(minutes)s 分钟后再试。") % {"minutes": settings.LOGIN_LOCK_MIN},
        THROTTLED: _("登录尝试过于频繁，请稍后再试。"),
        TOTP_REQUIRED: _("请输入身份验证器（TOTP）上显示的 6 位动态口令。"),
        TOTP_INVALID: _("动态口令错误或已被使用，请等待下一个口令后重试。"),
        PASSWORD_EXPIRED: _("密码已过期，请先修改密码。"),
    }


# Lazy: rendered in the language of the request that shows them.
MSG_MUST_CHANGE = gettext_lazy("这是初始密码或重置后的密码，请先设置新密码。")
MSG_INITIAL_EXPIRED = gettext_lazy("初始密码已过期，请联系安全管理员重置。")
MSG_TOTP_NOT_ENROLLED = gettext_lazy("该账号须使用动态口令登录，但尚未绑定身份验证器，请联系安全管理员。")
MSG_TOTP_ENROLL = gettext_lazy("该账号须使用动态口令登录，请先绑定身份验证器。")


@dataclass(frozen=True)
class LoginResult:
    status: str
    user: User | None
    message: str

    @property
    def ok(self) -> bool:
        return self.status == OK


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _audit_login(
    *, user: User | None, username: str, ip: str, result: str, reason: str, action: str = "auth.login"
) -> None:
    detail: dict[str, Any] = {"reason": reason}
    if ip and current_request_meta().get("ip") != ip:
        detail["ip"] = ip
    audit_record(action=action, actor=user, username=username, result=result, detail=detail,
                 object_type="accounts.user" if user else "", object_id=user.pk if user else "")


# --- policy predicates -----------------------------------------------------------------------------------


def needs_totp(user: User) -> bool:
    """Admin roles need a second factor; in demo mode the demo accounts are exempt (and only they)."""
    if user.role not in roles.ADMIN_ROLES:
        return False
    return not (settings.DEMO_MODE and user.is_demo)


def can_enroll_at_login(user: User) -> bool:
    """A fresh or reset account (single-use password) may bind its authenticator right after the password
    step; an established account without TOTP must ask the security admin for a reset, so a stolen password
    alone can never bind an attacker's authenticator."""
    return needs_totp(user) and not user.totp_secret_enc and user.must_change_password


def password_change_reason(user: User, now: dt.datetime | None = None) -> str | None:
    """Why the user must change the password before doing anything else, or None."""
    now = _now(now)
    if user.must_change_password:
        return "must_change_password"
    if settings.DEMO_MODE and user.is_demo:
        return None
    if settings.PASSWORD_PROFILE == "dengbao":  # noqa: S105
        base = user.password_changed_at or user.date_joined
        if base and now - base > dt.timedelta(days=settings.PASSWORD_MAX_AGE_DAYS):
            return "password_expired"
    return None


def inactive_days_limit() -> int:
    return int(getattr(settings, "ACCOUNT_INACTIVE_DAYS", 90))


def last_activity(user: User) -> dt.datetime | None:
    """The latest of last login, creation, password change and re-enabling: the dormancy clock's start."""
    stamps = [t for t in (user.last_login, user.date_joined, user.password_changed_at, user.enabled_at) if t]
    return max(stamps) if stamps else None


def is_dormant(user: User, now: dt.datetime | None = None) -> bool:
    """Unused for ``ACCOUNT_INACTIVE_DAYS`` (default 90) days: disabled automatically (SECURITY AC-LIFE).
    Demo accounts in demo mode never go dormant."""
    if settings.DEMO_MODE and user.is_demo:
        return False
    last = last_activity(user)
    return last is not None and _now(now) - last > dt.timedelta(days=inactive_days_limit())


def _initial_password_expired(user: User, now: dt.datetime) -> bool:
    hours = int(getattr(settings, "INITIAL_PASSWORD_VALID_HOURS", 72))
    return bool(
        user.must_change_password
        and user.password_changed_at
        and now - user.password_changed_at > dt.timedelta(hours=hours)
    )


# --- throttle and lock -----------------------------------------------------------------------------------


def _ip_throttled(ip: str, now: dt.datetime) -> bool:
    """Record this attempt and say whether the address went over its per-minute budget. Every process writes
    to and counts from the same table, so the limit holds across workers."""
    ip = (ip or "")[:64]
    with transaction.atomic():
        LoginAttempt.objects.create(ip=ip, at=now)
        count = LoginAttempt.objects.filter(ip=ip, at__gt=now - IP_WINDOW).count()
        LoginAttempt.objects.filter(at__lt=now - ATTEMPT_RETENTION).delete()
    return count > settings.LOGIN_IP_PER_MINUTE


def _lock_state(user: User | None, username: str) -> Any:
    if user is not None:
        return user
    return UnknownLoginState.objects.filter(username=username).first()


def _is_locked(state: Any, now: dt.datetime) -> bool:
    return state is not None and state.locked_until is not None and state.locked_until > now


def _register_failure(state: Any, now: dt.datetime) -> bool:
    """Count one failure; return True if this failure locked the account."""
    window = dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MIN)
    if state.first_failure_at is None or now - state.first_failure_at > window:
        state.failed_logins, state.first_failure_at = 1, now
    else:
        state.failed_logins += 1
    if state.failed_logins >= settings.LOGIN_MAX_FAILURES:
        state.locked_until = now + dt.timedelta(minutes=settings.LOGIN_LOCK_MIN)
        state.failed_logins, state.first_failure_at = 0, None
        return True
    return False


def _fail(*, user: User | None, username: str, ip: str, now: dt.datetime, reason: str, status: str = INVALID) -> LoginResult:
    with transaction.atomic():
        if user is not None:
            state: Any = User.objects.select_for_update().get(pk=user.pk)
        else:
            state, _ = UnknownLoginState.objects.select_for_update().get_or_create(
                username=username, defaults={"updated_at": now}
            )
            state.updated_at = now
        if _is_locked(state, now):  # a concurrent attempt locked it meanwhile
            locked = True
        else:
            locked = _register_failure(state, now)
            fields = ["failed_logins", "first_failure_at", "locked_until"]
            state.save(update_fields=fields + ([] if user is not None else ["updated_at"]))
        if user is not None:
            user.failed_logins, user.first_failure_at, user.locked_until = (
                state.failed_logins, state.first_failure_at, state.locked_until)
        _audit_login(user=user, username=username, ip=ip, result="denied",
                     reason=reason + ("+locked" if locked else ""))
        # Old rows for names without accounts are only kept while they can still matter.
        horizon = dt.timedelta(minutes=settings.LOGIN_FAILURE_WINDOW_MIN + settings.LOGIN_LOCK_MIN)
        UnknownLoginState.objects.filter(updated_at__lt=now - horizon).delete()
    status = LOCKED if locked else status
    return LoginResult(status, None, _messages()[status])


def _deny(*, user: User | None, username: str, ip: str, status: str, reason: str, message: str | None = None,
          result_user: User | None = None) -> LoginResult:
    with transaction.atomic():
        _audit_login(user=user, username=username, ip=ip, result="denied", reason=reason)
    return LoginResult(status, result_user, message or _messages()[status])


# --- TOTP ------------------------------------------------------------------------------------------------


def totp_match_step(secret: str, code: str | None, now: dt.datetime | None = None) -> int | None:
    """The time step (unix time // 30) whose code equals ``code``, within ±1 step of now, else None."""
    code = (code or "").strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP)
    step = int(_now(now).timestamp()) // TOTP_STEP
    for s in range(step - TOTP_WINDOW, step + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.at(s * TOTP_STEP), code):
            return s
    return None


def _consume_totp(user: User, code: str | None, now: dt.datetime) -> str | None:
    """None if accepted (and the step is now used), else the reason code."""
    try:
        secret = crypto.decrypt(user.totp_secret_enc, context=TOTP_CONTEXT)
    except crypto.CryptoError:
        return "totp_secret_unreadable"
    step = totp_match_step(secret, code, now)
    if step is None:
        return "totp_wrong"
    # Conditional update: of two concurrent requests with the same code only one can win.
    if not User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step):
        return "totp_replay"
    user.totp_last_step = step
    return None


@dataclass(frozen=True)
class TotpEnrollment:
    secret: str  # base32, for typing into the authenticator app
    uri: str  # otpauth:// URI
    pending_token: str  # the secret encrypted for this user; hand back to ``totp_enroll_confirm``


def _pending_context(user: User) -> str:
    return f"{TOTP_CONTEXT}.pending:{user.pk}"


def totp_enroll_begin(*, user: User, pending_token: str | None = None) -> TotpEnrollment:
    """A new secret, or the one inside ``pending_token`` (so reloading the page keeps the same secret)."""
    secret = ""
    if pending_token:
        try:
            secret = crypto.decrypt(pending_token, context=_pending_context(user))
        except crypto.CryptoError:
            secret = ""
    secret = secret or pyotp.random_base32()
    uri = pyotp.TOTP(secret, interval=TOTP_STEP).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)
    return TotpEnrollment(secret, uri, crypto.encrypt(secret, context=_pending_context(user)))


def totp_enroll_confirm(*, user: User, pending_token: str, code: str, now: dt.datetime | None = None) -> bool:
    """Bind the authenticator if ``code`` matches the pending secret. The matching step counts as used."""
    now = _now(now)
    try:
        secret = crypto.decrypt(pending_token, context=_pending_context(user))
    except crypto.CryptoError:
        secret = ""
    step = totp_match_step(secret, code, now) if secret else None
    with transaction.atomic():
        if step is None:
            audit_record(action="auth.totp_enroll", actor=user, obj=user, result="denied", detail={"reason": "totp_wrong"})
            return False
        user.totp_secret_enc = crypto.encrypt(secret, context=TOTP_CONTEXT)
        user.totp_last_step = step
        user.save(update_fields=["totp_secret_enc", "totp_last_step"])
        audit_record(action="auth.totp_enroll", actor=user, obj=user, result="ok", detail={"reason": "enrolled"})
    return True


# --- login -----------------------------------------------------------------------------------------------


def login_check(
    *, username: str, password: str, ip: str, totp_code: str | None = None, now: dt.datetime | None = None
) -> LoginResult:
    """Decide one login attempt (see the module docstring for the statuses). Does not create a session."""
    now = _now(now)
    username = (username or "").strip()[:150]
    password = password or ""
    if _ip_throttled(ip, now):
        return _deny(user=None, username=username, ip=ip, status=THROTTLED, reason="ip_throttled")
    user = User.objects.filter(username=username).first() if username else None
    if _is_locked(_lock_state(user, username), now):
        return _deny(user=user, username=username, ip=ip, status=LOCKED, reason="locked")
    if user is None:
        make_password(password)  # the same hasher work as a real check, so timing does not tell
        return _fail(user=None, username=username, ip=ip, now=now, reason="unknown_user")
    if not user.check_password(password):
        return _fail(user=user, username=username, ip=ip, now=now, reason="bad_password")
    refusal = _refusal(user)
    if refusal:
        return _fail(user=user, username=username, ip=ip, now=now, reason=refusal)
    if is_dormant(user, now):
        _disable_dormant(user, now)
        return _fail(user=user, username=username, ip=ip, now=now, reason="dormant")
    return _after_password(user=user, username=username, ip=ip, now=now, totp_code=totp_code)


def second_factor_check(*, user_id: int, totp_code: str, ip: str, now: dt.datetime | None = None) -> LoginResult:
    """Step two of a login whose password step returned ``totp_required`` (the caller keeps ``user_id`` in
    server-side state; it is never taken from the client)."""
    now = _now(now)
    user = User.objects.filter(pk=user_id).first()
    username = user.username if user else ""
    if _ip_throttled(ip, now):
        return _deny(user=user, username=username, ip=ip, status=THROTTLED, reason="ip_throttled")
    if user is None or _refusal(user):
        return _deny(user=user, username=username, ip=ip, status=INVALID,
                     reason=(_refusal(user) if user else None) or "unknown_user")
    if _is_locked(user, now):
        return _deny(user=user, username=username, ip=ip, status=LOCKED, reason="locked")
    return _after_password(user=user, username=username, ip=ip, now=now, totp_code=totp_code or "")


def _after_password(*, user: User, username: str, ip: str, now: dt.datetime, totp_code: str | None) -> LoginResult:
    if _initial_password_expired(user, now):
        return _deny(user=user, username=username, ip=ip, status=INVALID, reason="initial_password_expired",
                     message=str(MSG_INITIAL_EXPIRED))
    if needs_totp(user):
        if not user.totp_secret_enc:
            enroll = can_enroll_at_login(user)
            return _deny(user=user, username=username, ip=ip, status=TOTP_REQUIRED, reason="totp_not_enrolled",
                         message=str(MSG_TOTP_ENROLL if enroll else MSG_TOTP_NOT_ENROLLED), result_user=user)
        if not totp_code:
            return _deny(user=user, username=username, ip=ip, status=TOTP_REQUIRED, reason="totp_required",
                         result_user=user)
        problem = _consume_totp(user, totp_code, now)
        if problem:
            return _fail(user=user, username=username, ip=ip, now=now, reason=problem, status=TOTP_INVALID)
    change = password_change_reason(user, now)
    with transaction.atomic():
        # Re-read under a row lock: failures that arrived while this password was being hashed may have
        # locked the account, and a success must not clear such a lock.
        if _is_locked(User.objects.select_for_update().only("locked_until").get(pk=user.pk), now):
            _audit_login(user=user, username=username, ip=ip, result="denied", reason="locked")
            return LoginResult(LOCKED, None, _messages()[LOCKED])
        User.objects.filter(pk=user.pk).update(failed_logins=0, first_failure_at=None, locked_until=None)
        user.failed_logins, user.first_failure_at, user.locked_until = 0, None, None
        if change:
            _audit_login(user=user, username=username, ip=ip, result="denied", reason=change)
        else:
            User.objects.filter(pk=user.pk).update(last_login=now)
            user.last_login = now
            _audit_login(user=user, username=username, ip=ip, result="ok", reason="ok")
    if change:
        msg = str(MSG_MUST_CHANGE) if change == "must_change_password" else _messages()[PASSWORD_EXPIRED]
        return LoginResult(PASSWORD_EXPIRED, user, msg)
    return LoginResult(OK, user, _messages()[OK])


def _refusal(user: User) -> str | None:
    """Why a correct password still cannot log this account in (reported as ``invalid``)."""
    if not user.is_active:
        return "inactive"
    if user.is_demo and not settings.DEMO_MODE:
        return "demo_account_outside_demo_mode"  # no default accounts outside demo mode (SECURITY AC-LIFE)
    return None


def resume_login(*, user_id: int, ip: str, now: dt.datetime | None = None) -> LoginResult:
    """Finish a login whose password (and second factor, when required) were already verified in the same
    server-side pending state: after binding the authenticator at first login, or after the forced password
    change. The caller must only call this from such a state; ``user_id`` never comes from the client."""
    now = _now(now)
    user = User.objects.filter(pk=user_id).first()
    if user is None or _refusal(user) or (needs_totp(user) and not user.totp_secret_enc):
        return _deny(user=user, username=user.username if user else "", ip=ip, status=INVALID,
                     reason=(_refusal(user) if user else None) or "resume_refused")
    if _is_locked(user, now):
        return _deny(user=user, username=user.username, ip=ip, status=LOCKED, reason="locked")
    change = password_change_reason(user, now)
    with transaction.atomic():
        if change:
            _audit_login(user=user, username=user.username, ip=ip, result="denied", reason=change)
        else:
            User.objects.filter(pk=user.pk).update(last_login=now, failed_logins=0, first_failure_at=None)
            _audit_login(user=user, username=user.username, ip=ip, result="ok", reason="ok_resumed")
    if change:
        return LoginResult(PASSWORD_EXPIRED, user, str(MSG_MUST_CHANGE) if change == "must_change_password"
                           else _messages()[PASSWORD_EXPIRED])
    return LoginResult(OK, user, _messages()[OK])


def record_logout(*, user: Any, reason: str = "logout") -> None:
    with transaction.atomic():
        audit_record(action="auth.logout", actor=user if getattr(user, "pk", None) else None,
                     result="ok", detail={"reason": reason})


# --- passwords -------------------------------------------------------------------------------------------


def generate_initial_password(length: int = 16) -> str:
    """Random, satisfies both profiles (four classes; length ≥ 12)."""
    alphabet = string.ascii_letters + string.digits + "@#%+=-_"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(max(length, 12)))
        if (any(c.islower() for c in pw) and any(c.isupper() for c in pw) and any(c.isdigit() for c in pw)
                and any(not c.isalnum() for c in pw)):
            return pw


def password_change(
    *, user: User, old_password: str, new_password: str, now: dt.datetime | None = None
) -> None:
    """Raises ValidationError (message in the active language) if the old password is wrong or the new one
    breaks the profile. Other sessions of the user stop working (Django's session hash follows the password hash)."""
    now = _now(now)
    if not user.check_password(old_password or ""):
        with transaction.atomic():
            audit_record(action="auth.password_change", actor=user, obj=user, result="denied",
                         detail={"reason": "bad_old_password"})
        raise ValidationError({"old_password": _("当前密码不正确。")})
    if new_password == old_password:
        raise ValidationError({"new_password": _("新密码不能与当前密码相同。")})
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from exc
    with transaction.atomic():
        user.set_password(new_password)
        user.password_changed_at = now
        user.must_change_password = False
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
        audit_record(action="auth.password_change", actor=user, obj=user, result="ok", detail={"reason": "changed"})


# --- account lifecycle (security admin) ------------------------------------------------------------------


def _require_manager(actor: Any, area_code: str) -> None:
    if not (getattr(actor, "is_authenticated", False) and getattr(actor, "is_active", False)
            and roles.role_has(getattr(actor, "role", ""), roles.MANAGE_USERS) and actor.area_id
            and (area_code or "").startswith(actor.area_id)):
        raise PermissionDenied(_("无权管理该辖区的账号。"))


def manageable_roles() -> list[tuple[str, str]]:
    """Roles a security admin may grant: every role except security admin (三权分立; security admins are
    created on the server with ``jiuzhu create-user``)."""
    return [(r.value, str(r.label)) for r in roles.Role if r != roles.Role.SECURITY_ADMIN]


def users_managed_by(actor: Any) -> Any:
    if not roles.role_has(getattr(actor, "role", ""), roles.MANAGE_USERS) or not getattr(actor, "area_id", None):
        return User.objects.none()
    return User.objects.filter(area__code__startswith=actor.area_id).select_related("area").order_by("username")


def _require_manageable_target(actor: Any, user: User) -> None:
    _require_manager(actor, user.area_id or "")
    if user.pk == actor.pk or user.role == roles.Role.SECURITY_ADMIN:
        raise PermissionDenied(_("不能管理本人或其他安全管理员的账号。"))


def user_create(
    *, actor: Any, username: str, role: str, area_code: str, full_name: str = "", now: dt.datetime | None = None
) -> tuple[User, str]:
    """Create a staff account in the actor's own area; returns the user and the one-time initial password
    (must be changed at first login, expires after ``INITIAL_PASSWORD_VALID_HOURS``)."""
    now = _now(now)
    _require_manager(actor, area_code)
    if role not in roles.Role.values:
        raise ValidationError({"role": _("未知角色。")})
    if role == roles.Role.SECURITY_ADMIN:
        raise PermissionDenied(_("安全管理员账号只能在服务器上用 create-user 命令创建。"))
    user, password = _create_user(username=username, role=role, area_code=area_code, full_name=full_name, now=now)
    with transaction.atomic():
        audit_record(action="accounts.user_create", actor=actor, obj=user, object_area=area_code,
                     detail={"username": user.username, "role": role, "area": area_code})
    return user, password


def _create_user(*, username: str, role: str, area_code: str, full_name: str, now: dt.datetime) -> tuple[User, str]:
    username = (username or "").strip()
    errors: dict[str, Any] = {}
    try:
        User.username_validator(username)
    except ValidationError as exc:
        errors["username"] = exc.messages
    if not username:
        errors["username"] = [_("请填写用户名。")]
    elif User.objects.filter(username=username).exists():
        errors["username"] = [_("该用户名已存在。")]
    if not Division.objects.filter(code=area_code).exists():
        errors["area_code"] = [_("区划代码不存在。")]
    if errors:
        raise ValidationError(errors)
    password = generate_initial_password()
    with transaction.atomic():
        user = User(username=username, role=role, area_id=area_code, full_name=full_name or "",
                    must_change_password=True, password_changed_at=now)
        user.set_password(password)
        user.save()
        UnknownLoginState.objects.filter(username=username).delete()
    return user, password


def create_user_unchecked(
    *, username: str, role: str, area_code: str, full_name: str = "", now: dt.datetime | None = None
) -> tuple[User, str]:
    """For the server-side ``create-user`` command (operator on the host): any role, audited."""
    now = _now(now)
    if role not in roles.Role.values:
        raise ValidationError({"role": _("未知角色。")})
    user, password = _create_user(username=username, role=role, area_code=area_code, full_name=full_name, now=now)
    with transaction.atomic():
        audit_record(action="accounts.user_create", obj=user, object_area=area_code, username="(command)",
                     detail={"username": user.username, "role": role, "area": area_code, "via": "command"})
    return user, password


def _disable_dormant(user: User, now: dt.datetime) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        kill_sessions(user)
        audit_record(action="accounts.user_disable", obj=user, object_area=user.area_id or "", username="(system)",
                     detail={"username": user.username, "reason": "dormant", "days": inactive_days_limit()})


def disable_dormant_users(*, now: dt.datetime | None = None) -> list[str]:
    """Disable every active account unused for ``ACCOUNT_INACTIVE_DAYS`` days (run daily from cron or a
    systemd timer: ``jiuzhu disable-dormant-users``; the login check applies the same rule on its own)."""
    now = _now(now)
    done = []
    for user in User.objects.filter(is_active=True).iterator():
        if is_dormant(user, now):
            _disable_dormant(user, now)
            done.append(user.username)
    return done


def kill_sessions(user: User) -> int:
    """Delete every server-side session of ``user``. Returns how many."""
    uid = str(user.pk)
    doomed = []
    for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        data = s.get_decoded()
        if str(data.get("_auth_user_id", "")) == uid or str(data.get("jz_pending", {}).get("uid", "")) == uid:
            doomed.append(s.session_key)
    Session.objects.filter(session_key__in=doomed).delete()
    return len(doomed)


def user_disable(*, actor: Any, user: User) -> None:
    """Disable the account and end its sessions at once (SECURITY AC-LIFE)."""
    _require_manageable_target(actor, user)
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        n = kill_sessions(user)
        audit_record(action="accounts.user_disable", actor=actor, obj=user, object_area=user.area_id or "",
                     detail={"username": user.username, "sessions_ended": n})


def user_enable(*, actor: Any, user: User) -> None:
    _require_manageable_target(actor, user)
    with transaction.atomic():
        user.is_active = True
        user.enabled_at = timezone.now()
        user.save(update_fields=["is_active", "enabled_at"])
        audit_record(action="accounts.user_enable", actor=actor, obj=user, object_area=user.area_id or "",
                     detail={"username": user.username})


def user_reset(*, actor: Any, user: User, now: dt.datetime | None = None) -> str:
    """New one-time password, authenticator unbound, lock cleared, sessions ended. Returns the password."""
    now = _now(now)
    _require_manageable_target(actor, user)
    password = generate_initial_password()
    with transaction.atomic():
        user.set_password(password)
        user.must_change_password = True
        user.password_changed_at = now
        user.totp_secret_enc = ""
        user.failed_logins, user.first_failure_at, user.locked_until = 0, None, None
        user.save(update_fields=["password", "must_change_password", "password_changed_at", "totp_secret_enc",
                                 "failed_logins", "first_failure_at", "locked_until"])
        n = kill_sessions(user)
        audit_record(action="accounts.user_reset", actor=actor, obj=user, object_area=user.area_id or "",
                     detail={"username": user.username, "sessions_ended": n})
    return password


def user_unlock(*, actor: Any, user: User) -> None:
    _require_manageable_target(actor, user)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=0, first_failure_at=None, locked_until=None)
        audit_record(action="accounts.user_unlock", actor=actor, obj=user, object_area=user.area_id or "",
                     detail={"username": user.username})
