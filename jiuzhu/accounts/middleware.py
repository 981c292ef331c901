"""Session idle and absolute limits (SECURITY AUTH-SESS): 30 min idle (15 for admin roles), 12 h absolute.

The login view stamps ``LOGIN_AT`` and ``SEEN_AT`` (unix seconds) into the session; every authenticated request
refreshes ``SEEN_AT``. A session over either limit is ended on the server (``logout`` flushes the row) and the
request continues as anonymous, so every page that needs a login (``login_required``) sends the browser to the
login page, which explains why (``EXPIRED_FLAG``); API calls get the API's own 401. For htmx requests the
redirect becomes ``HX-Redirect`` so the login page replaces the whole window, not a fragment. The request is not
cut short here, so the inner middleware (security headers, CSP) still applies to that response."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

LOGIN_AT = "jz_login_at"
SEEN_AT = "jz_seen_at"
EXPIRED_FLAG = "jz_expired"
# ``SEEN_AT`` is rewritten at most this often, so read-only pages do not write the session row on every
# request. The idle clock can therefore start up to this many seconds early: the limit errs on the strict side.
SEEN_RESOLUTION = 15


def idle_limit_seconds(user: object) -> int:
    admin = getattr(user, "is_admin_role", False)
    return (settings.SESSION_IDLE_ADMIN_MIN if admin else settings.SESSION_IDLE_MIN) * 60


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            login_at = request.session.get(LOGIN_AT, now)
            seen_at = request.session.get(SEEN_AT, now)
            if now - seen_at > idle_limit_seconds(user) or now - login_at > settings.SESSION_ABSOLUTE_HOURS * 3600:
                from .services import record_logout

                record_logout(user=user, reason="session_expired")
                logout(request)
                request.session[EXPIRED_FLAG] = True
                response = self.get_response(request)
                if request.headers.get("HX-Request") and response.status_code in (301, 302):
                    response["HX-Redirect"] = response["Location"]
                    del response["Location"]
                    response.status_code = 204
                return response
            if LOGIN_AT not in request.session:
                request.session[LOGIN_AT] = login_at
            if SEEN_AT not in request.session or now - seen_at >= SEEN_RESOLUTION:
                request.session[SEEN_AT] = now
        return self.get_response(request)
