"""Page sessions follow their login session."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from .models import LoginSession
from .services import current_request, login_session_follow, login_session_touch


class LoginSessionMiddleware:
    """Signs out a page session whose login session was revoked (on another device, or
    by an admin) on its very next request, pages and session-authenticated API alike,
    and records activity at most once a minute. Sessions that were never recorded
    (e.g. made by a test's ``force_login``) are left alone.

    It also makes the request known to a password change made while it runs (which
    keeps the user's own sign-in), and keeps the login session tied to its page session
    when the session gets a new key (Django's ``update_session_auth_hash``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.session.session_key
        login_session = None
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
                    login_session = None
            else:
                login_session = None
        token = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        if login_session is not None:
            new_key = request.session.session_key
            if new_key and new_key != key and getattr(request.user, "pk", None) == login_session.user_id:
                login_session_follow(login_session=login_session, session_key=new_key)
        return response
