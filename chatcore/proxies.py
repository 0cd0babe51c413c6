"""Which hops in front of the app are trusted, decided in one place for HTTP and WebSocket.

The address a request comes from is the socket's peer. Only when that peer is one of
``TRUSTED_PROXIES`` does ``X-Forwarded-For`` count, and then it is read from the right:
each trusted hop appended the address it was reached from, so the first entry from the
right that is not itself a trusted hop is the client. Entries to the left of it were
written by the client and mean nothing. From any other peer the forwarding headers are
dropped before Django or Channels sees the request, so neither the rate limits, the
lockout, ``/metrics``, the sign-in log nor ``SECURE_PROXY_SSL_HEADER`` can be fooled.

Run daphne without ``--proxy-headers``: it would take the leftmost entry, the one the
client chose, before this middleware could look."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Headers only a trusted hop may set; dropped from every other peer.
FORWARDING_HEADERS = frozenset(
    {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port", b"x-real-ip", b"forwarded"}
)


def parse_address(value: str) -> Address | None:
    """An address from a header entry: ``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80``, ``::1``."""
    value = value.strip().strip('"')
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(address: Address | None, trusted: Sequence[Network]) -> bool:
    return address is not None and any(address.version == n.version and address in n for n in trusted)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str | None:
    """The client's address, given the socket peer, the ``X-Forwarded-For`` header values
    in the order received, and the trusted hops."""
    peer_address = parse_address(peer or "")
    if not is_trusted(peer_address, trusted):
        return str(peer_address) if peer_address is not None else peer
    entries = [entry for value in forwarded_for for entry in value.split(",")]
    for entry in reversed(entries):
        address = parse_address(entry)
        if address is None:
            # A hop we trust would not write garbage: whatever is left of it is the client's.
            break
        if not is_trusted(address, trusted):
            return str(address)
    # Nothing usable beyond the trusted hops: the nearest hop is all we know.
    return str(peer_address)


class TrustedProxyMiddleware:
    """ASGI middleware in front of everything: sets ``scope["client"]`` to the client's
    address (so ``REMOTE_ADDR`` and the WebSocket's client are it) and keeps forwarding
    headers only from trusted hops."""

    def __init__(self, app: Any, trusted: Sequence[Network] | None = None) -> None:
        self.app = app
        self._trusted = trusted

    @property
    def trusted(self) -> Sequence[Network]:
        return self._trusted if self._trusted is not None else settings.TRUSTED_PROXIES

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if scope["type"] in ("http", "websocket"):
            scope = self.rewrite(scope)
        return await self.app(scope, receive, send)

    def rewrite(self, scope: dict) -> dict:
        trusted = self.trusted
        client = scope.get("client") or (None, 0)
        peer, port = client[0], client[1] if len(client) > 1 else 0
        headers = scope.get("headers") or []
        if is_trusted(parse_address(peer or ""), trusted):
            forwarded = [value.decode("latin-1") for name, value in headers if name.lower() == b"x-forwarded-for"]
            address = client_address(peer, forwarded, trusted)
            return {**scope, "client": (address, port) if address else None}
        kept = [(name, value) for name, value in headers if name.lower() not in FORWARDING_HEADERS]
        if len(kept) == len(headers):
            return scope
        return {**scope, "headers": kept}
