"""Writes for users and their login sessions."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from .models import LoginSession, Role, User

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
