"""Rate limits: one bucket per user for the API and the chat socket together
(``RATELIMIT_USER``), one per client IP address for the sign-in endpoints
(``RATELIMIT_LOGIN_IP``).

django-ratelimit counts, in fixed windows in the default cache: Redis when
``REDIS_URL`` is set, so every web process shares one count; the process's own
memory otherwise. This module names the buckets and turns a full one into the
seconds a client must wait (``Retry-After``).

It imports no models: DRF loads ``UserRateThrottle`` while it starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.utils.translation import gettext, ngettext
from django_ratelimit.core import get_usage
from prometheus_client import Counter
from rest_framework.throttling import BaseThrottle

log = structlog.get_logger(__name__)

RATE_LIMITED = Counter("chatcore_rate_limited", "Requests refused by a rate limit or a sign-in lockout.", ["scope"])

USER = "user"
LOGIN_IP = "login_ip"
LOCKOUT = "lockout"


@dataclass(frozen=True)
class Verdict:
    limited: bool
    retry_after: int = 0  # seconds until the window frees (at least 1 when limited)


ALLOWED = Verdict(limited=False)


def _count(request, *, group: str, key, rate: str) -> Verdict:
    try:
        usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    except Exception:
        # The cache is down: serve rather than refuse everyone (RATELIMIT_FAIL_OPEN says the same
        # for django-ratelimit's own failures). Logged so it does not go unnoticed.
        log.warning("ratelimit_unavailable", group=group, exc_info=True)
        return ALLOWED
    if usage is None:
        # With the limits on, no usage means the cache could not count (django-redis ignores
        # Redis errors, and RATELIMIT_FAIL_OPEN lets the request through).
        if settings.RATELIMIT_ENABLE:
            log.warning("ratelimit_unavailable", group=group)
        return ALLOWED
    if not usage["should_limit"]:
        return ALLOWED
    return Verdict(limited=True, retry_after=max(1, usage["time_left"]))


def refused(scope: str, verdict: Verdict, **fields) -> None:
    """Count and log one refused request."""
    RATE_LIMITED.labels(scope=scope).inc()
    log.info("rate_limited", scope=scope, retry_after=verdict.retry_after, **fields)


def user_hit(user_id: int) -> Verdict:
    """Count one API request or chat message by this user."""
    value = str(user_id)
    verdict = _count(None, group=USER, key=lambda group, request: value, rate=settings.RATELIMIT_USER)
    if verdict.limited:
        refused(USER, verdict, user_id=user_id)
    return verdict


def login_ip_hit(request) -> Verdict:
    """Count one sign-in attempt from the request's address (``REMOTE_ADDR``; IPv6 by /64)."""
    verdict = _count(request, group=LOGIN_IP, key="ip", rate=settings.RATELIMIT_LOGIN_IP)
    if verdict.limited:
        refused(LOGIN_IP, verdict, ip=request.META.get("REMOTE_ADDR"))
    return verdict


def wait_text(seconds: int) -> str:
    """ "in 42 seconds" / "in 3 minutes" for people, in the active language."""
    if seconds < 60:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def too_many_requests_text(seconds: int) -> str:
    return gettext("Too many requests. Try again in %(wait)s.") % {"wait": wait_text(seconds)}


class UserRateThrottle(BaseThrottle):
    """Every API request by a signed-in user (token, JWT or page session) counts against
    the bucket the chat socket also draws on. Anonymous requests pass: the only API
    endpoints open to them are the sign-in ones, limited per IP address."""

    verdict = ALLOWED

    def allow_request(self, request, view) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return True
        self.verdict = user_hit(user.pk)
        return not self.verdict.limited

    def wait(self) -> int:
        return self.verdict.retry_after
