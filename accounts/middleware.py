"""Page sessions follow their login session."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from .models import LoginSession
from .services import login_session_touch


class LoginSessionMiddleware:
    """Signs out a page session whose login session was revoked (on another device, or
    by an admin) on its very next request, pages and session-authenticated API alike,
    and records activity at most once a minute. Sessions that were never recorded
    (e.g. made by a test's ``force_login``) are left alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.session.session_key
        if key and request.user.is_authenticated:
            login_session = (
                LoginSession.objects.filter(session_key=key, kind=LoginSession.Kind.WEB)
                .only("pk", "user_id", "revoked_at", "expires_at", "last_activity")
                .first()
            )
            if login_session is not None and login_session.user_id == request.user.pk:
                if login_session.is_active:
                    login_session_touch(login_session=login_session)
                else:
                    logout(request)
        return self.get_response(request)
