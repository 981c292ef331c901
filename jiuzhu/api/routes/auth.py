"""``/auth/token``: exchange username + password (+ TOTP) for a bearer token, and revoke it.

The login policy — lockout, per-IP throttle, TOTP, password age, audit — is ``accounts.services.login_check``;
this only maps its verdict to HTTP. A wrong password, an unknown user, a disabled and a locked account give
the same 401 body, so the endpoint does not tell which accounts exist or are locked (SECURITY AUTH-LOCK)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from jiuzhu.accounts import services as accounts

from ..errors import UNAUTHENTICATED
from ..schemas import ErrorOut, TokenIn, TokenOut
from ..tokens import token_issue, token_revoke

router = Router(tags=["auth"])

BAD_CREDENTIALS = {"detail": "用户名或密码错误。", "code": accounts.INVALID}
SAME_AS_BAD_CREDENTIALS = {accounts.INVALID, accounts.LOCKED}


@router.post("/token", auth=None, response={200: TokenOut, 401: ErrorOut, 429: ErrorOut}, summary="Get a token")
def token_create(request: HttpRequest, response: HttpResponse, payload: TokenIn):
    ip = request.META.get("REMOTE_ADDR", "")
    result = accounts.login_check(
        username=payload.username, password=payload.password, ip=ip, totp_code=payload.totp_code or None
    )
    if result.status == accounts.OK:
        token, row = token_issue(user=result.user, ip=ip)
        return Status(200, {"token": token, "token_type": "Bearer", "expires_at": row.expires})
    if result.status == accounts.THROTTLED:
        response["Retry-After"] = "60"
        return Status(429, {"detail": result.message, "code": accounts.THROTTLED})
    if result.status in SAME_AS_BAD_CREDENTIALS:
        return Status(401, BAD_CREDENTIALS)
    return Status(401, {"detail": result.message or UNAUTHENTICATED["detail"], "code": result.status})


@router.delete("/token", response={204: None, 401: ErrorOut}, summary="Revoke the token used for this request")
def token_delete(request: HttpRequest):
    token_revoke(token=request.auth)  # type: ignore[attr-defined]
    return Status(204, None)
