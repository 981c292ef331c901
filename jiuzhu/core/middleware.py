"""Request id, client address for the audit log, and the security headers every response carries."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_meta: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("jiuzhu_request_meta", default=None)


def current_request_meta() -> dict[str, str]:
    return _meta.get() or {}


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
        token = _meta.set({"ip": request.META.get("REMOTE_ADDR", ""), "request_id": rid})
        try:
            response = self.get_response(request)
        finally:
            _meta.reset(token)
        response["X-Request-ID"] = rid
        return response


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class SecurityHeadersMiddleware:
    """CSP without inline script, no caching of pages that may show personal data (SECURITY WEB-HDR)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        if not request.path.startswith("/static/"):
            response.setdefault("Cache-Control", "no-store")
        return response
