"""``/auth/token``: exchange username + password (+ TOTP) for a bearer token, and revoke it.

The login policy — lockout, per-IP throttle, TOTP, password age, audit — is ``accounts.services.login_check``;
this only maps its verdict to HTTP. A wrong password, an unknown user and a locked account give the same 401
body, so the endpoint does not tell which accounts exist or are locked (SECURITY AUTH-LOCK)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from ..errors import UNAUTHENTICATED
from ..schemas import ErrorOut, TokenIn, TokenOut
from ..tokens import token_issue, token_revoke

router = Router(tags=["auth"])

INVALID = {"detail": "用户名或密码错误", "code": "invalid"}
SAME_AS_INVALID = {"invalid", "locked"}


@router.post("/token", auth=None, response={200: TokenOut, 401: ErrorOut, 429: ErrorOut}, summary="Get a token")
def token_create(request: HttpRequest, payload: TokenIn):
    from jiuzhu.accounts.services import login_check

    result = login_check(
        username=payload.username, password=payload.password, ip=request.META.get("REMOTE_ADDR", ""),
        totp_code=payload.totp_code or None,
    )
    status = str(getattr(result.status, "value", result.status))
    if status == "ok":
        token, row = token_issue(user=result.user, ip=request.META.get("REMOTE_ADDR", ""))
        return Status(200, {"token": token, "token_type": "Bearer", "expires_at": row.expires})
    if status == "throttled":
        return Status(429, {"detail": result.message or "请求过于频繁，请稍后再试", "code": "throttled"})
    if status in SAME_AS_INVALID:
        return Status(401, INVALID)
    return Status(401, {"detail": result.message or UNAUTHENTICATED["detail"], "code": status})


@router.delete("/token", response={204: None, 401: ErrorOut}, summary="Revoke the token used for this request")
def token_delete(request: HttpRequest):
    token_revoke(token=request.auth)  # type: ignore[attr-defined]
    return Status(204, None)
