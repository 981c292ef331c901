"""One error shape per status, whatever raised it.

* 401 ``{"detail", "code"}`` with ``WWW-Authenticate: Bearer``
* 403 ``{"detail", "code": "forbidden"}`` — the object is visible but the role may not do this
* 404 ``{"detail": "Not Found", "code": "not_found"}`` — missing and outside-the-area look the same (AC-IDOR)
* 409 ``{"detail", "code": "stale_version"}`` — optimistic lock (PAY-LOCK)
* 422 ``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`` — pydantic and service validation alike
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError

from jiuzhu.registry.services import StaleEdit

NOT_FOUND = {"detail": "Not Found", "code": "not_found"}
UNAUTHENTICATED = {"detail": "未登录或令牌无效/已过期", "code": "unauthenticated"}
FORBIDDEN = {"detail": "无权执行此操作", "code": "forbidden"}
STALE = {"detail": "记录已被他人修改，请重新读取后再提交", "code": "stale_version"}


def _loc(key: str) -> list[str | int]:
    if key == "__all__":
        return ["body"]
    return ["body", *(int(p) if p.isdigit() else p for p in key.split("."))]


def django_validation_details(exc: DjangoValidationError) -> list[dict[str, Any]]:
    if hasattr(exc, "error_dict"):
        return [
            {"loc": _loc(key), "msg": msg, "type": "value_error"}
            for key, msgs in exc.message_dict.items()
            for msg in msgs
        ]
    return [{"loc": ["body"], "msg": msg, "type": "value_error"} for msg in exc.messages]


def install(api: NinjaAPI) -> None:
    def on_404(request: HttpRequest, exc: Any) -> HttpResponse:
        return api.create_response(request, NOT_FOUND, status=404)

    def on_auth(request: HttpRequest, exc: Any) -> HttpResponse:
        response = api.create_response(request, UNAUTHENTICATED, status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response

    def on_forbidden(request: HttpRequest, exc: Any) -> HttpResponse:
        return api.create_response(request, FORBIDDEN, status=403)

    def on_stale(request: HttpRequest, exc: Any) -> HttpResponse:
        return api.create_response(request, STALE, status=409)

    def on_django_invalid(request: HttpRequest, exc: Any) -> HttpResponse:
        return api.create_response(request, {"detail": django_validation_details(exc)}, status=422)

    def on_ninja_invalid(request: HttpRequest, exc: Any) -> HttpResponse:
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors
        ]
        return api.create_response(request, {"detail": detail}, status=422)

    api.add_exception_handler(Http404, on_404)
    api.add_exception_handler(AuthenticationError, on_auth)
    api.add_exception_handler(PermissionDenied, on_forbidden)
    api.add_exception_handler(StaleEdit, on_stale)
    api.add_exception_handler(DjangoValidationError, on_django_invalid)
    api.add_exception_handler(NinjaValidationError, on_ninja_invalid)
