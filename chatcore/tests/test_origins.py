"""The chat socket opens only from a page of this site: the handshake's ``Origin`` must be
the scheme, host and port the request was made to, or a ``CSRF_TRUSTED_ORIGINS`` entry.
A page on another port of the same machine is another site."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from chatcore.origins import origin_allowed


@pytest.fixture(autouse=True)
def _hosts(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "chat.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = []


def scope(host: str | None, origin: str | None, *, scheme: str = "ws", extra: tuple = ()) -> dict:
    headers = [(b"host", host.encode())] if host is not None else []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return {"type": "websocket", "scheme": scheme, "path": "/ws/chat/new/", "headers": headers + list(extra)}


# --- the request's own origin ---------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "origin", "scheme"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000", "ws"),
        ("localhost:8000", "http://localhost:8000", "ws"),
        # A default port may be written or left out, on either side.
        ("localhost", "http://localhost", "ws"),
        ("localhost", "http://localhost:80", "ws"),
        ("localhost:80", "http://localhost", "ws"),
        ("chat.example.com", "https://chat.example.com", "wss"),
        ("chat.example.com", "https://chat.example.com:443", "wss"),
        ("chat.example.com:443", "https://chat.example.com", "wss"),
        ("[::1]:8000", "http://[::1]:8000", "ws"),
        # Host names are not case-sensitive.
        ("Chat.Example.com", "https://CHAT.example.com", "wss"),
    ],
)
def test_a_page_of_the_same_origin_may_open_the_socket(host, origin, scheme):
    assert origin_allowed(scope(host, origin, scheme=scheme))


def test_a_page_on_another_port_of_the_same_host_is_refused():
    assert not origin_allowed(scope("127.0.0.1:8000", "http://127.0.0.1:9999"))
    assert not origin_allowed(scope("127.0.0.1:8000", "http://127.0.0.1"))
    assert not origin_allowed(scope("[::1]:8000", "http://[::1]:9999"))
    assert not origin_allowed(scope("chat.example.com", "https://chat.example.com:8443", scheme="wss"))


def test_a_page_of_another_scheme_is_refused():
    assert not origin_allowed(scope("127.0.0.1:8000", "https://127.0.0.1:8000"))
    assert not origin_allowed(scope("chat.example.com", "http://chat.example.com", scheme="wss"))
    assert not origin_allowed(scope("chat.example.com:443", "http://chat.example.com:443", scheme="wss"))


def test_behind_a_tls_proxy_the_scheme_is_the_one_the_browser_used():
    forwarded = ((b"x-forwarded-proto", b"https"),)
    assert origin_allowed(scope("127.0.0.1:8000", "https://127.0.0.1:8000", extra=forwarded))
    assert origin_allowed(scope("chat.example.com", "https://chat.example.com", extra=forwarded))
    # The page the browser really showed was https: a plain-http page is another site.
    assert not origin_allowed(scope("127.0.0.1:8000", "http://127.0.0.1:8000", extra=forwarded))


def test_a_page_of_another_host_is_refused():
    assert not origin_allowed(scope("127.0.0.1:8000", "http://localhost:8000"))
    assert not origin_allowed(scope("127.0.0.1:8000", "http://evil.example:8000"))
    assert not origin_allowed(scope("chat.example.com", "https://chat.example.com.evil.example", scheme="wss"))
    assert not origin_allowed(scope("chat.example.com", "https://evil.example", scheme="wss"))


def test_a_host_outside_allowed_hosts_is_refused_even_when_the_origin_matches_it():
    # A rebound DNS name pointing at this server: the page and the request agree, and are not us.
    assert not origin_allowed(scope("evil.example", "http://evil.example"))
    assert not origin_allowed(scope("evil.example:8000", "http://evil.example:8000"))
    assert not origin_allowed(scope(None, "http://127.0.0.1:8000"))


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "",
        "null",
        "garbage",
        "127.0.0.1:8000",
        "//127.0.0.1:8000",
        "http://",
        "http://:8000",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:port",
        "ftp://127.0.0.1:8000",
        "ws://127.0.0.1:8000",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "http://127.0.0.1:8000/chat/",
    ],
)
def test_a_missing_null_or_garbage_origin_is_refused(origin):
    assert not origin_allowed(scope("127.0.0.1:8000", origin))


# --- CSRF_TRUSTED_ORIGINS -------------------------------------------------------------


def test_an_exact_trusted_origin_is_allowed_and_only_it(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com"]
    # The app is reached on an internal address; the page was served under the public name.
    assert origin_allowed(scope("127.0.0.1:8000", "https://chat.example.com"))
    assert origin_allowed(scope("127.0.0.1:8000", "https://chat.example.com:443"))
    assert not origin_allowed(scope("127.0.0.1:8000", "https://chat.example.com:8443"))
    assert not origin_allowed(scope("127.0.0.1:8000", "http://chat.example.com"))
    assert not origin_allowed(scope("127.0.0.1:8000", "https://other.example.com"))
    assert not origin_allowed(scope("127.0.0.1:8000", "https://a.chat.example.com"))


def test_a_wildcard_trusted_origin_allows_the_subdomains_as_django_does(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.com"]
    assert origin_allowed(scope("127.0.0.1:8000", "https://a.example.com"))
    assert origin_allowed(scope("127.0.0.1:8000", "https://a.b.example.com"))
    # Django's CSRF check lets ``*.example.com`` match the bare domain too.
    assert origin_allowed(scope("127.0.0.1:8000", "https://example.com"))
    assert not origin_allowed(scope("127.0.0.1:8000", "https://evilexample.com"))
    assert not origin_allowed(scope("127.0.0.1:8000", "https://example.com.evil.example"))
    assert not origin_allowed(scope("127.0.0.1:8000", "http://a.example.com"))
    assert not origin_allowed(scope("127.0.0.1:8000", "https://a.example.com:8443"))


def test_a_trusted_origin_with_a_port_needs_that_port(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["http://intranet.example.com:8080"]
    assert origin_allowed(scope("127.0.0.1:8000", "http://intranet.example.com:8080"))
    assert not origin_allowed(scope("127.0.0.1:8000", "http://intranet.example.com"))


# --- through the application daphne serves ---------------------------------------------


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}".encode()


async def open_socket(cookie: bytes, origin: str) -> tuple[bool, object]:
    from chatcore.asgi import application

    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", origin.encode()), (b"cookie", cookie)]
    comm = WebsocketCommunicator(application, "/ws/chat/new/", headers=headers)
    # The socket's peer, as daphne gives it (TrustedProxyMiddleware reads it).
    comm.scope["client"] = ["127.0.0.1", 50000]
    try:
        return await comm.connect(timeout=5)
    finally:
        await comm.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_signed_in_page_of_this_site_opens_the_socket_and_one_on_another_port_cannot(alice):
    from asgiref.sync import sync_to_async

    cookie = await sync_to_async(session_cookie)(alice)
    assert await open_socket(cookie, "http://127.0.0.1:8000") == (True, None)
    connected, _ = await open_socket(cookie, "http://127.0.0.1:9999")
    assert not connected
    connected, _ = await open_socket(cookie, "https://127.0.0.1:8000")
    assert not connected
