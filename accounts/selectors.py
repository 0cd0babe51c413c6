"""Reads for login sessions and API tokens."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from .models import LoginSession, User


def login_session_list(*, user: User) -> QuerySet[LoginSession]:
    """The user's sign-ins that still work (or, for legacy ones, would), newest activity first."""
    now = timezone.now()
    return (
        LoginSession.objects.filter(user=user, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-last_activity", "-pk")
    )


def login_session_get(*, user: User, login_session_id: int) -> LoginSession | None:
    return LoginSession.objects.filter(user=user, pk=login_session_id).first()


def login_session_of_request(*, request: HttpRequest) -> LoginSession | None:
    """The page login session this request is made with, if it was recorded."""
    key = request.session.session_key
    if not key or not request.user.is_authenticated:
        return None
    return LoginSession.objects.filter(user=request.user, session_key=key, kind=LoginSession.Kind.WEB).first()


def api_token_get(*, user: User) -> Token | None:
    return Token.objects.filter(user=user).first()
