"""Production: everything secret comes from the environment; HTTPS assumed
(behind a TLS-terminating proxy). ``manage.py check --deploy`` is clean."""

from __future__ import annotations

import re

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import secret_key_weakness
from .environment import env

DEBUG = env.bool("DEBUG", False)
if not SECRET_KEY:  # noqa: F405
    raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DJANGO_ENV=production")
if (weakness := secret_key_weakness(SECRET_KEY)) is not None:  # noqa: F405
    raise ImproperlyConfigured(
        f"SECRET_KEY is too weak: {weakness}. Make one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)


def _proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """The header by which the TLS-terminating proxy says a request came over HTTPS.
    Trust it only behind a proxy that sets it on every request: anyone else can send it."""
    if not name:
        return None
    if not re.fullmatch(r"[A-Za-z0-9-]+", name):
        raise ImproperlyConfigured(f"SECURE_PROXY_SSL_HEADER={name!r} is not a header name (e.g. X-Forwarded-Proto)")
    return ("HTTP_" + name.upper().replace("-", "_"), "https")


SECURE_PROXY_SSL_HEADER = _proxy_ssl_header(env.str("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto").strip())
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
# Behind a proxy on the same machine every client would look like loopback: name
# Prometheus's address explicitly; until then only signed-in admins read /metrics.
METRICS_ALLOWED_IPS = env.networks("METRICS_ALLOWED_IPS", "")
