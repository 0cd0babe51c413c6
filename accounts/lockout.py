"""Sign-in attempts: the per-IP limit and the per-username lockout, for the sign-in
page, the admin's sign-in and the API's token and JWT endpoints alike.

The lockout rule (README, "Limits and abuse"):

- ``FAILURES`` failed sign-ins for one username within ``WINDOW`` seconds, from any
  address, lock that username for ``FIRST`` seconds; each further lockout within a day
  of the previous one doubles that, never beyond ``MAX``.
- While it is locked, attempts for that username are refused (429, ``Retry-After``)
  without the password being checked, and failures do not count: nobody can lengthen
  a lockout by hammering it. Each lockout starts a fresh count.
- Except from an address the user signed in from within ``TRUSTED_IP_DAYS`` (a recorded
  login session): there the password is checked as usual, so the owner is never locked
  out by someone else.
- Other usernames are not affected.

State lives in the default cache (Redis when configured), keyed by a hash of the
username, so it holds no usernames and nothing outlives a day.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import math
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

import structlog
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle

from .models import LoginSession, User
from .ratelimits import LOCKOUT, LOGIN_IP, Verdict, login_ip_hit, refused, wait_text
from .services import client_ip

log = structlog.get_logger(__name__)

LEVEL_SECONDS = 24 * 60 * 60


def _rule(name: str) -> int:
    return settings.LOGIN_LOCKOUT[name]


def normalize_username(username: object) -> str:
    """As the sign-in forms hand it to ``authenticate()``: stripped, NFKC."""
    if not isinstance(username, str):
        return ""
    return unicodedata.normalize("NFKC", username.strip())


def _key(part: str, username: str) -> str:
    digest = hashlib.sha256(username.encode("utf-8")).hexdigest()[:40]
    return f"login-lockout:{part}:{digest}"


def _count(key: str, ttl: int) -> int | None:
    """The new count, or None when the cache cannot count (Redis down: its errors are ignored)."""
    if cache.add(key, 1, ttl):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, ttl)
        return 1


def lockout_remaining(*, username: str) -> int:
    """Seconds until ``username`` is unlocked; 0 when it is not locked."""
    until = cache.get(_key("until", normalize_username(username)))
    if until is None:
        return 0
    return max(0, math.ceil(until - time.time()))


def signed_in_from(*, username: str, ip: str | None) -> bool:
    """Whether ``username`` signed in successfully from ``ip`` within ``TRUSTED_IP_DAYS``."""
    try:
        ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    since = timezone.now() - timedelta(days=_rule("TRUSTED_IP_DAYS"))
    return LoginSession.objects.filter(user__username=username, ip=ip, created_at__gte=since).exists()


def login_failure_record(*, username: object, request: HttpRequest | None = None) -> None:
    """Count a failed sign-in for ``username``; the ``FAILURES``-th within the window locks it."""
    username = normalize_username(username)
    if not username or lockout_remaining(username=username):
        return
    failures = _count(_key("failures", username), _rule("WINDOW"))
    if failures is None:
        log.warning("login_lockout_unavailable")
        return
    if failures < _rule("FAILURES"):
        return
    level = (cache.get(_key("level", username)) or 0) + 1
    seconds = min(_rule("FIRST") * 2 ** (level - 1), _rule("MAX"))
    # Of several failures arriving together, one starts the lockout.
    if not cache.add(_key("until", username), time.time() + seconds, seconds):
        return
    cache.set(_key("level", username), level, LEVEL_SECONDS)
    cache.delete(_key("failures", username))
    log.warning(
        "login_locked_out",
        user_id=User.objects.filter(username=username).values_list("pk", flat=True).first(),
        ip=client_ip(request) if request is not None else None,
        failures=failures,
        seconds=seconds,
        lockouts_today=level,
    )


def lockout_check(*, request: HttpRequest, username: object) -> int:
    """Seconds this attempt must wait because its username is locked (0: go ahead)."""
    username = normalize_username(username)
    if not username:
        return 0
    seconds = lockout_remaining(username=username)
    if not seconds or signed_in_from(username=username, ip=client_ip(request)):
        return 0
    refused(LOCKOUT, Verdict(limited=True, retry_after=seconds), ip=client_ip(request))
    return seconds


@dataclass(frozen=True)
class Refusal:
    scope: str  # LOGIN_IP or LOCKOUT
    retry_after: int

    @property
    def message(self) -> str:
        if self.scope == LOCKOUT:
            text = gettext("Too many failed sign-ins for this account. Try again in %(wait)s.")
        else:
            text = gettext("Too many sign-in attempts. Try again in %(wait)s.")
        return text % {"wait": wait_text(self.retry_after)}


def login_attempt_refusal(*, request: HttpRequest, username: object) -> Refusal | None:
    """Count the attempt against its address, then refuse it if the address is over its
    limit or the username is locked."""
    verdict = login_ip_hit(request)
    if verdict.limited:
        return Refusal(LOGIN_IP, verdict.retry_after)
    seconds = lockout_check(request=request, username=username)
    return Refusal(LOCKOUT, seconds) if seconds else None


# --- Doors ------------------------------------------------------------------------


def login_attempts_limited(view):
    """For sign-in pages: a refused POST gets our sign-in page again, 429 with
    ``Retry-After``, and the view (and so the password check) does not run."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST":
            username = request.POST.get("username", "")
            refusal = login_attempt_refusal(request=request, username=username)
            if refusal is not None:
                form = AuthenticationForm(request, initial={"username": normalize_username(username)})
                next_url = request.POST.get("next") or request.GET.get("next", "")
                response = render(
                    request, "accounts/login.html", {"form": form, "next": next_url, "refusal": refusal.message}, status=429
                )
                response["Retry-After"] = str(refusal.retry_after)
                return response
        return view(request, *args, **kwargs)

    return wrapper


class LoginLocked(exceptions.Throttled):
    default_detail = "Too many failed sign-ins for this account."
    default_code = "login_locked"
    # In English like the endpoint's other messages; DRF's own wording is translated.
    extra_detail_singular = "Try again in {wait} second."
    extra_detail_plural = "Try again in {wait} seconds."


class LoginThrottle(BaseThrottle):
    """For the API's sign-in endpoints: every POST counts against its address
    (``throttled``), and a locked username is refused (``login_locked``); both 429 with
    ``Retry-After`` in the API's error shape."""

    verdict = Verdict(limited=False)

    def allow_request(self, request, view) -> bool:
        self.verdict = login_ip_hit(request)
        if self.verdict.limited:
            return False
        data = request.data
        seconds = lockout_check(request=request, username=data.get("username") if isinstance(data, dict) else "")
        if seconds:
            raise LoginLocked(wait=seconds)
        return True

    def wait(self) -> int:
        return self.verdict.retry_after
