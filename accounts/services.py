"""Writes for users and their login sessions."""

from __future__ import annotations

from contextvars import ContextVar
from datetime import timedelta
from importlib import import_module
from typing import NoReturn

import structlog
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import Group, update_last_login
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from rest_framework.authtoken.models import Token
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from .jwt import RefreshTokenReused, SessionRefreshToken, session_id_of
from .models import LoginSession, Role, User
from .selectors import login_session_of_request

log = structlog.get_logger(__name__)

# The request being served, if any (set by ``LoginSessionMiddleware``): a password changed
# while it runs keeps the page sign-in the user changed it from, and the page says what ended.
current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)

# A login session's last_activity is written at most this often.
ACTIVITY_INTERVAL = timedelta(seconds=60)

HR_GROUP_NAME = "HR"


def user_apply_role(*, user: User) -> User:
    """Make Django's staff flags and groups follow ``user.role``: admins are
    superusers, HR may enter admin to edit documents, employees may not."""
    user.is_staff = user.role in (Role.ADMIN, Role.HR)
    user.is_superuser = user.role == Role.ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])
    hr_group = Group.objects.filter(name=HR_GROUP_NAME).first()
    if hr_group is not None:
        if user.role == Role.HR:
            user.groups.add(hr_group)
        else:
            user.groups.remove(hr_group)
    return user


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str = Role.EMPLOYEE,
    password: str | None = None,
    encoded_password: str | None = None,
    full_name: str = "",
    email: str = "",
    employee_key: str = "",
    is_active: bool = True,
) -> User:
    """Create a user with either a raw ``password`` or an already ``encoded_password``
    (a migrated legacy hash)."""
    user = User(
        username=username,
        role=role,
        full_name=full_name,
        email=email,
        employee_key=employee_key,
        is_active=is_active,
    )
    if encoded_password is not None:
        user.password = encoded_password
    elif password is not None:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user_apply_role(user=user)


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted
    # proxy rewrites REMOTE_ADDR, which is the proxy's job, not ours.
    return request.META.get("REMOTE_ADDR") or None


def login_session_start(*, user: User, request: HttpRequest, kind: str, jti: str = "") -> LoginSession:
    """Record a sign-in so the user can see and revoke the device later."""
    session_key = ""
    if kind == LoginSession.Kind.WEB:
        session_key = request.session.session_key or ""
    return LoginSession.objects.create(
        user=user,
        kind=kind,
        session_key=session_key,
        jti=jti,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
    )


def login_session_end(*, request: HttpRequest) -> None:
    """Mark the page session of this request as ended (on logout)."""
    key = request.session.session_key
    if key:
        LoginSession.objects.filter(session_key=key, revoked_at__isnull=True).update(revoked_at=timezone.now())


def login_session_touch(*, login_session: LoginSession) -> bool:
    """Record activity at most once per ``ACTIVITY_INTERVAL``: one UPDATE, and none
    while the stored value is fresh. True when a row was written."""
    now = timezone.now()
    stale = now - ACTIVITY_INTERVAL
    if login_session.last_activity >= stale:
        return False
    # The filter makes concurrent requests write once between them.
    written = LoginSession.objects.filter(pk=login_session.pk, last_activity__lt=stale).update(last_activity=now)
    if written:
        login_session.last_activity = now
    return bool(written)


@transaction.atomic
def login_session_revoke(*, login_session: LoginSession) -> None:
    """End a sign-in at once: its page session is deleted, its refresh tokens are
    blacklisted, and its access tokens stop working (they name the session)."""
    now = timezone.now()
    LoginSession.objects.filter(pk=login_session.pk, revoked_at__isnull=True).update(revoked_at=now)
    login_session.revoked_at = login_session.revoked_at or now
    if login_session.kind == LoginSession.Kind.JWT:
        # Rotation swaps ``jti`` and blacklists the predecessor in one transaction (see
        # ``jwt_rotate``), so the family's only live refresh token is the one named there.
        # Read after the UPDATE above, which waited for any rotation in flight.
        jti = LoginSession.objects.filter(pk=login_session.pk).values_list("jti", flat=True).first()
        outstanding = OutstandingToken.objects.filter(jti=jti).first() if jti else None
        if outstanding is not None:
            BlacklistedToken.objects.get_or_create(token=outstanding)
    if login_session.kind == LoginSession.Kind.WEB and login_session.session_key:
        # Gone from the store, so not even a WebSocket can be opened with it any more.
        import_module(settings.SESSION_ENGINE).SessionStore().delete(login_session.session_key)


def login_session_revoke_others(*, user: User, keep: LoginSession | None) -> int:
    """Sign out every other device of ``user``; returns how many were signed out."""
    others = LoginSession.objects.filter(user=user, revoked_at__isnull=True)
    if keep is not None:
        others = others.exclude(pk=keep.pk)
    count = 0
    for login_session in others:
        login_session_revoke(login_session=login_session)
        count += 1
    return count


def login_session_follow(*, login_session: LoginSession, session_key: str) -> None:
    """Keep a page sign-in tied to its session when Django gives the session a new key
    (``update_session_auth_hash`` does, after a password change)."""
    if LoginSession.objects.filter(session_key=session_key).exists():
        return  # a new sign-in on this device (Django's login() also renews the key) has its own
    LoginSession.objects.filter(pk=login_session.pk, revoked_at__isnull=True).update(session_key=session_key)


@transaction.atomic
def user_password_changed(*, user: User, request: HttpRequest | None = None) -> int:
    """After a new password (set by the user, by an admin, or reset), whoever knew the
    old one is signed out: every sign-in of ``user`` ends and the API token is deleted,
    except the page sign-in the user changed their own password from, which Django
    keeps too (``update_session_auth_hash``). Returns how many sign-ins ended."""
    by = getattr(request, "user", None)
    own = by is not None and by.pk == user.pk
    keep = login_session_of_request(request=request) if own else None
    ended = login_session_revoke_others(user=user, keep=keep)
    token_deleted = Token.objects.filter(user=user).delete()[0] > 0
    log.info(
        "password_changed",
        user_id=user.pk,
        sign_ins_ended=ended,
        api_token_deleted=token_deleted,
        kept_current=keep is not None,
        by_user_id=by.pk if by is not None else None,
    )
    if request is not None and (ended or token_deleted):
        messages.info(
            request, _password_changed_text(user=user, own=own, ended=ended, token_deleted=token_deleted), fail_silently=True
        )
    return ended


def _password_changed_text(*, user: User, own: bool, ended: int, token_deleted: bool) -> str:
    parts = []
    if own and ended:
        parts.append(
            ngettext("Your other sign-in was ended.", "Your %(count)d other sign-ins were ended.", ended) % {"count": ended}
        )
    elif ended:
        parts.append(
            ngettext("%(count)d sign-in of %(user)s was ended.", "%(count)d sign-ins of %(user)s were ended.", ended)
            % {"count": ended, "user": user}
        )
    if own and token_deleted:
        parts.append(gettext("Your API token was deleted; create a new one on the Sessions page."))
    elif token_deleted:
        parts.append(gettext("The API token of %(user)s was deleted.") % {"user": user})
    return " ".join(parts)


# --- JWT ------------------------------------------------------------------------


class TokenRefused(Exception):
    """A refresh token that gives nothing; the API answers 401 with ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _token_pair(refresh: SessionRefreshToken) -> dict[str, str]:
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


@transaction.atomic
def jwt_login(*, user: User, request: HttpRequest) -> dict[str, str]:
    """Start a JWT family: a new login session and its first access and refresh tokens."""
    login_session = login_session_start(user=user, request=request, kind=LoginSession.Kind.JWT)
    refresh = SessionRefreshToken.for_login_session(login_session)
    login_session.jti = refresh.jti
    login_session.expires_at = datetime_from_epoch(refresh["exp"])
    login_session.save(update_fields=["jti", "expires_at"])
    update_last_login(None, user)
    return _token_pair(refresh)


def jwt_rotate(*, refresh: str, request: HttpRequest) -> dict[str, str]:
    """Exchange a refresh token for a new pair; the old one is blacklisted. Presenting
    a rotated token again ends the whole family (whoever holds the newest token too)."""
    try:
        old = SessionRefreshToken(refresh)
    except RefreshTokenReused as exc:
        _family_reused(payload=exc.payload, request=request)
    except TokenError:
        raise TokenRefused("token_not_valid", "The refresh token is invalid or expired.") from None
    login_session = _live_jwt_session(old)
    new = old.rotated()
    with transaction.atomic():
        # Compare-and-swap on the family's newest token id: of two requests that rotate
        # the same token at once, exactly one wins; the other is a reuse.
        swapped = LoginSession.objects.filter(pk=login_session.pk, jti=old.jti, revoked_at__isnull=True).update(
            jti=new.jti, expires_at=datetime_from_epoch(new["exp"]), last_activity=timezone.now()
        )
        if swapped:
            old.blacklist()
            new.outstand()
    if not swapped:
        _family_reused(payload=old.payload, request=request)
    return _token_pair(new)


def jwt_logout(*, user: User, refresh: str) -> None:
    """End the family of ``refresh``, a token of ``user``. An already rotated token
    still names its family, so it is accepted here."""
    try:
        payload = SessionRefreshToken(refresh).payload
    except RefreshTokenReused as exc:
        payload = exc.payload
    except TokenError:
        raise TokenRefused("token_not_valid", "The refresh token is invalid or expired.") from None
    login_session = LoginSession.objects.filter(pk=session_id_of(payload), user=user, kind=LoginSession.Kind.JWT).first()
    if login_session is None:
        # Someone else's token, or one from before login families: not a token of this caller.
        raise TokenRefused("token_not_valid", "The refresh token is invalid or expired.")
    login_session_revoke(login_session=login_session)


def _live_jwt_session(token: SessionRefreshToken) -> LoginSession:
    login_session = (
        LoginSession.objects.select_related("user").filter(pk=token.login_session_id, kind=LoginSession.Kind.JWT).first()
    )
    if login_session is None or str(login_session.user_id) != token.user_id:
        raise TokenRefused("token_not_valid", "The refresh token is invalid or expired.")
    if not login_session.is_active:
        raise TokenRefused("token_revoked", "This sign-in has ended or was revoked; sign in again.")
    if not login_session.user.is_active:
        raise TokenRefused("user_inactive", "This account is disabled.")
    return login_session


def _family_reused(*, payload: dict, request: HttpRequest) -> NoReturn:
    """A rotated refresh token came back: whoever sent it may have stolen it, and so may
    whoever holds the newest one. End the family and say so in the security log."""
    login_session = LoginSession.objects.filter(
        pk=session_id_of(payload), kind=LoginSession.Kind.JWT, revoked_at__isnull=True
    ).first()
    if login_session is None:
        # The family already ended (revoked, signed out, or an earlier reuse).
        raise TokenRefused("token_revoked", "This sign-in has ended or was revoked; sign in again.")
    login_session_revoke(login_session=login_session)
    log.warning(
        "jwt_refresh_reuse",
        user_id=login_session.user_id,
        session_id=login_session.pk,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
    )
    raise TokenRefused("token_reused", "This refresh token was already used; every token of this sign-in is now revoked.")


# --- DRF API tokens -------------------------------------------------------------


@transaction.atomic
def api_token_create(*, user: User) -> Token:
    """A new API token for ``user``, replacing the one they had (DRF keeps one per user)."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


def api_token_revoke(*, user: User) -> None:
    Token.objects.filter(user=user).delete()
