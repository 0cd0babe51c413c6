"""Django announces every failed ``authenticate()`` (page, admin, token, JWT); the
lockout counts it. It also announces every page sign-in (``/login/`` and
``/admin/login/`` alike), which becomes a login session the user can see and
revoke on /sessions/. Receivers hold no logic."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from .lockout import login_failure_record
from .models import LoginSession
from .services import login_session_start


@receiver(user_login_failed, dispatch_uid="accounts.count_failed_login")
def count_failed_login(sender, credentials: dict, request=None, **kwargs) -> None:
    login_failure_record(username=credentials.get("username"), request=request)


@receiver(user_logged_in, dispatch_uid="accounts.record_page_sign_in")
def record_page_sign_in(sender, request=None, user=None, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        login_session_start(user=user, request=request, kind=LoginSession.Kind.WEB)
