"""Session idle and absolute limits (SECURITY AUTH-SESS): 30 min idle (15 for admin roles), 12 h absolute."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

LOGIN_AT = "jz_login_at"
SEEN_AT = "jz_seen_at"


class SessionPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            login_at = request.session.get(LOGIN_AT, now)
            seen_at = request.session.get(SEEN_AT, now)
            idle_min = settings.SESSION_IDLE_ADMIN_MIN if getattr(user, "is_admin_role", False) else settings.SESSION_IDLE_MIN
            if now - seen_at > idle_min * 60 or now - login_at > settings.SESSION_ABSOLUTE_HOURS * 3600:
                logout(request)
                request.session["jz_expired"] = True
            else:
                request.session[LOGIN_AT] = login_at
                request.session[SEEN_AT] = now
        return self.get_response(request)
