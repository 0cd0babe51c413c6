"""Forwarding headers count only from a trusted hop (``TRUSTED_PROXIES``): forged ones
neither spread sign-ins over many addresses, nor claim the owner's address to dodge the
lockout, nor open ``/metrics``. Checked on a served daphne, started as the image starts it,
with and without a trusted proxy in front."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from accounts.models import LoginSession
from chatcore.proxies import TrustedProxyMiddleware, client_address
from chatcore.tests.test_faults import ROOT, Server
from conftest import stop_process
from conversations.tests.test_browser import database_url

pytestmark = pytest.mark.django_db(transaction=True)

NETS = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8")]
OWNER_IP = "10.20.30.40"


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        # Nobody trusted: the header means nothing, whatever it says.
        ("203.0.113.9", ["10.20.30.40"], [], "203.0.113.9"),
        ("127.0.0.1", ["10.20.30.40"], [], "127.0.0.1"),
        # A trusted proxy appended the client it saw; what the client wrote before that is ignored.
        ("127.0.0.1", ["10.20.30.40, 198.51.100.7"], NETS[:1], "198.51.100.7"),
        ("127.0.0.1", ["198.51.100.7"], NETS[:1], "198.51.100.7"),
        # Two trusted hops: the first address from the right that is not one of them.
        ("127.0.0.1", ["6.6.6.6, 198.51.100.7, 10.0.0.5"], NETS, "198.51.100.7"),
        # Several header lines are one list, in order.
        ("127.0.0.1", ["6.6.6.6", "198.51.100.7"], NETS[:1], "198.51.100.7"),
        # Garbage stops the walk: left of it is the client's own writing.
        ("127.0.0.1", ["198.51.100.7, not-an-ip"], NETS[:1], "127.0.0.1"),
        ("127.0.0.1", [], NETS[:1], "127.0.0.1"),
        ("127.0.0.1", ["[2001:db8::1]:4711"], NETS[:1], "2001:db8::1"),
        ("127.0.0.1", ["198.51.100.7:4711"], NETS[:1], "198.51.100.7"),
        ("::ffff:127.0.0.1", ["198.51.100.7"], NETS[:1], "198.51.100.7"),
    ],
)
def test_the_client_address(peer, forwarded, trusted, expected):
    assert client_address(peer, forwarded, trusted) == expected


def test_forwarding_headers_from_an_untrusted_peer_never_reach_the_app():
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    headers = [
        (b"host", b"chat.example.com"),
        (b"x-forwarded-for", b"10.20.30.40"),
        (b"X-Forwarded-Proto", b"https"),
        (b"forwarded", b"for=10.1.1.1"),
        (b"x-real-ip", b"10.1.1.1"),
    ]
    scope = {"type": "http", "client": ("203.0.113.9", 5000), "headers": headers}
    asyncio.run(TrustedProxyMiddleware(app, trusted=[])(scope, None, None))
    assert seen["client"] == ("203.0.113.9", 5000)
    assert seen["headers"] == [(b"host", b"chat.example.com")]
    asyncio.run(TrustedProxyMiddleware(app, trusted=NETS[:1])({**scope, "client": ("127.0.0.1", 5000)}, None, None))
    assert seen["client"] == ("10.20.30.40", 5000)
    assert (b"X-Forwarded-Proto", b"https") in seen["headers"]


def _post_json(url: str, body: dict, headers: dict) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _get(url: str, headers: dict) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def image_daphne_args() -> tuple[str, ...]:
    """The options the image starts daphne with (Dockerfile CMD), address and port aside."""
    cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.M)
    args = json.loads(cmd.group(1))
    assert args[0] == "daphne" and args[-1] == "chatcore.asgi:application"
    options, rest = [], iter(args[1:-1])
    for arg in rest:
        if arg in ("-b", "-p", "--bind", "--port"):
            next(rest)
        else:
            options.append(arg)
    return tuple(options)


@contextlib.contextmanager
def served(tmp_path: Path, **env: str):
    server = Server(
        log_path=tmp_path / "daphne.log",
        daphne_args=image_daphne_args(),
        DATABASE_URL=database_url(),
        METRICS_ALLOWED_IPS=OWNER_IP,
        **env,
    )
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.fixture
def owner(alice):
    # alice signed in from her own address before: that address is never locked out.
    LoginSession.objects.create(user=alice, kind=LoginSession.Kind.WEB, ip=OWNER_IP)
    return alice


def _attack(server: Server, forwarded_for) -> dict:
    """What forged headers buy: sign-ins spread over many claimed addresses, wrong passwords
    for the owner from the owner's claimed address, and /metrics from the allowed one."""
    url = server.url + "/api/auth/token/"
    spread = [
        _post_json(url, {"username": f"nobody{i}", "password": "x"}, {"X-Forwarded-For": forwarded_for(f"198.51.100.{i + 1}")})
        for i in range(25)
    ]
    claimed = {"X-Forwarded-For": forwarded_for(OWNER_IP), "X-Real-IP": OWNER_IP, "Forwarded": f"for={OWNER_IP}"}
    return {"spread": spread, "metrics": _get(server.url + "/metrics", claimed)}


def _wrong_passwords(server: Server, headers: dict, times: int = 8) -> list[int]:
    return [
        _post_json(server.url + "/api/auth/token/", {"username": "alice", "password": "wrong"}, headers) for _ in range(times)
    ]


def test_without_a_trusted_proxy_no_forged_header_counts(tmp_path, owner):
    with served(tmp_path, RATELIMIT_LOGIN_IP="20/m") as server:
        result = _attack(server, lambda address: address)
        assert 429 in result["spread"] and result["spread"].index(429) <= 20, result["spread"]
        assert result["metrics"] == 404
    with served(tmp_path, RATELIMIT_LOGIN_IP="1000/m") as server:
        statuses = _wrong_passwords(server, {"X-Forwarded-For": OWNER_IP, "X-Real-IP": OWNER_IP})
        assert 429 in statuses, statuses


def test_behind_a_trusted_proxy_only_the_address_it_appended_counts(tmp_path, owner):
    # The proxy (here: this test, from 127.0.0.1) appends the address it was reached from;
    # whatever the client put before it is the client's own writing.
    with served(tmp_path, TRUSTED_PROXIES="127.0.0.1", RATELIMIT_LOGIN_IP="20/m") as server:
        result = _attack(server, lambda address: f"{address}, 203.0.113.50")
        assert 429 in result["spread"] and result["spread"].index(429) <= 20, result["spread"]
        assert result["metrics"] == 404
        # The real client is the allowed address: /metrics answers.
        assert _get(server.url + "/metrics", {"X-Forwarded-For": f"6.6.6.6, {OWNER_IP}"}) == 200
        # Each address the proxy names is its own bucket: 25 real clients are not one.
        spread = [
            _post_json(
                server.url + "/api/auth/token/",
                {"username": f"other{i}", "password": "x"},
                {"X-Forwarded-For": f"192.0.2.{i + 1}"},
            )
            for i in range(25)
        ]
        assert 429 not in spread, spread
    with served(tmp_path, TRUSTED_PROXIES="127.0.0.1", RATELIMIT_LOGIN_IP="1000/m") as server:
        # Claiming the owner's address in front of the proxy's entry: locked out like anyone.
        assert 429 in _wrong_passwords(server, {"X-Forwarded-For": f"{OWNER_IP}, 203.0.113.50"})
        # The owner's address as the proxy saw it: never locked out.
        assert 429 not in _wrong_passwords(server, {"X-Forwarded-For": OWNER_IP})
        assert "203.0.113.50" in server.log()
