"""Django announces every failed ``authenticate()`` (page, admin, token, JWT); the
lockout counts it. It also announces every page sign-in (``/login/`` and
``/admin/login/`` alike), which becomes a login session the user can see and
revoke on /sessions/. A saved user whose password changed, by whatever route (own
change, admin, reset, shell), is signed out everywhere else. Receivers hold no logic."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from .lockout import login_failure_record
from .models import LoginSession, User
from .services import current_request, login_session_start, user_password_changed


@receiver(user_login_failed, dispatch_uid="accounts.count_failed_login")
def count_failed_login(sender, credentials: dict, request=None, **kwargs) -> None:
    login_failure_record(username=credentials.get("username"), request=request)


@receiver(user_logged_in, dispatch_uid="accounts.record_page_sign_in")
def record_page_sign_in(sender, request=None, user=None, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        login_session_start(user=user, request=request, kind=LoginSession.Kind.WEB)


@receiver(pre_save, sender=User, dispatch_uid="accounts.note_password_change")
def note_password_change(sender, instance: User, raw: bool = False, update_fields=None, **kwargs) -> None:
    # Compared before the write replaces the stored hash; acted on once it is written.
    instance._password_changed = not raw and instance.password_is_changing(update_fields=update_fields)


@receiver(post_save, sender=User, dispatch_uid="accounts.end_sign_ins_on_password_change")
def end_sign_ins_on_password_change(sender, instance: User, raw: bool = False, **kwargs) -> None:
    if instance.__dict__.pop("_password_changed", False):
        user_password_changed(user=instance, request=current_request.get())
