"""The chat WebSocket opens only from a page of this site.

A browser sends ``Origin`` with every WebSocket handshake and cannot be made to lie about
it, so another site's page (another host, scheme *or port*: ``http://127.0.0.1:9999`` is a
different site from ``http://127.0.0.1:8000``) is refused. Allowed: the origin the request
itself was made to (``Host`` under ``ALLOWED_HOSTS``, the scheme as the client saw it), and
the entries of ``CSRF_TRUSTED_ORIGINS`` — the same rule Django's CSRF check applies to
forms."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
SCHEME_OF = {"ws": "http", "wss": "https", "http": "http", "https": "https"}

Origin = tuple[str, str, int]


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def parse_origin(value: str) -> Origin | None:
    """``(scheme, host, port)`` of an origin such as ``https://chat.example.com:8443``."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def request_origin(scope: dict) -> Origin | None:
    """The origin the handshake was sent to, or None when its Host is not ours."""
    host = _header(scope, b"host")
    if not host:
        return None
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return None
    # Forwarding headers reach this far only from a trusted hop (chatcore.proxies).
    forwarded_proto = (_header(scope, b"x-forwarded-proto") or "").split(",")[0].strip().lower()
    scheme = forwarded_proto if forwarded_proto in DEFAULT_PORTS else SCHEME_OF.get(scope.get("scheme", "ws"), "http")
    try:
        number = int(port) if port else DEFAULT_PORTS[scheme]
    except ValueError:
        return None
    return scheme, domain.strip("[]").lower(), number


def _trusted(origin: Origin, entry: str) -> bool:
    scheme, host, port = origin
    wildcard = "://*." in entry
    allowed = parse_origin(entry.replace("://*.", "://", 1))
    if allowed is None or allowed[0] != scheme or allowed[2] != port:
        return False
    return host == allowed[1] or (wildcard and host.endswith("." + allowed[1]))


def origin_allowed(scope: dict) -> bool:
    raw = _header(scope, b"origin")
    origin = parse_origin(raw) if raw else None
    if origin is None:
        return False
    if origin == request_origin(scope):
        return True
    return any(_trusted(origin, entry) for entry in settings.CSRF_TRUSTED_ORIGINS)


class SameOriginValidator:
    """Refuses a WebSocket handshake whose ``Origin`` is not this site (see above)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.app(scope, receive, send)
