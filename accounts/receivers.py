"""Django announces every failed ``authenticate()`` (page, admin, token, JWT); the
lockout counts it. Receivers hold no logic."""

from __future__ import annotations

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from .lockout import login_failure_record


@receiver(user_login_failed, dispatch_uid="accounts.count_failed_login")
def count_failed_login(sender, credentials: dict, request=None, **kwargs) -> None:
    login_failure_record(username=credentials.get("username"), request=request)
