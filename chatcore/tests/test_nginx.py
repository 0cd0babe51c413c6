"""The shipped proxy configuration (deploy/nginx.conf), run by a real nginx in front of a
served app started as the image starts it: a client talking to nginx directly cannot choose
its address with forged headers, the TLS-terminating proxy in front of nginx is believed
for its last entry only, and /metrics is never reachable through it.

Addresses: nginx listens on 127.0.0.1; the TLS-terminating proxy (the compose network's
gateway in production) is played from 127.0.0.1, a client reaching nginx directly from
127.0.0.2 and 127.0.0.3 (all of 127/8 is loopback)."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from accounts.models import LoginSession, Role
from accounts.services import user_create
from chatcore.tests.test_faults import ROOT
from chatcore.tests.test_proxies import served
from conftest import PASSWORD, free_port, stop_process

pytestmark = pytest.mark.django_db(transaction=True)

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
IN_CI = os.environ.get("CI", "").lower() == "true"
OWNER_IP = "10.20.30.40"
GATEWAY = "172.31.240.1"


def shipped_config(*, upstream_port: int, listen_port: int) -> str:
    """deploy/nginx.conf with only what ties it to docker-compose swapped: Docker's DNS, the
    `web` replicas and the network gateway (here the loopback address the test plays it from)."""
    text = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    swaps = [
        (r"^resolver .*;$", ""),
        (r"^\s*zone chatcore_web .*;$", ""),
        (r"server web:8000 resolve;", f"server 127.0.0.1:{upstream_port};"),
        (r"listen 80;", f"listen 127.0.0.1:{listen_port};"),
    ]
    for pattern, replacement in swaps:
        text, count = re.subn(pattern, replacement, text, flags=re.M)
        assert count == 1, f"deploy/nginx.conf no longer has {pattern!r}"
    assert GATEWAY in text
    return text.replace(GATEWAY, "127.0.0.1")


class Nginx:
    def __init__(self, tmp_path: Path, *, upstream_port: int) -> None:
        self.port = free_port()
        for name in ("body", "proxy", "logs"):
            (tmp_path / name).mkdir()
            (tmp_path / name).chmod(0o777)
        (tmp_path / "site.conf").write_text(shipped_config(upstream_port=upstream_port, listen_port=self.port))
        (tmp_path / "nginx.conf").write_text(f"""
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    include {tmp_path}/site.conf;
}}
""")
        self.error_log = tmp_path / "logs" / "error.log"
        test = subprocess.run([NGINX, "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True)
        assert test.returncode == 0, test.stderr
        self.process = subprocess.Popen(
            [NGINX, "-c", str(tmp_path / "nginx.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 10
        while self.status("GET", "/nginx-health") != 200:
            assert time.monotonic() < deadline and self.process.poll() is None, "nginx did not start"
            time.sleep(0.1)

    def status(
        self, method: str, path: str, *, source: str = "127.0.0.1", headers: dict | None = None, body: dict | None = None
    ) -> int:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20, source_address=(source, 0))
            data = json.dumps(body).encode() if body is not None else None
            connection.request(
                method,
                path,
                body=data,
                headers={"Host": "localhost", **({"Content-Type": "application/json"} if data else {}), **(headers or {})},
            )
            response = connection.getresponse()
            response.read()
            connection.close()
            return response.status
        except OSError:
            return 0

    def sign_in(self, username: str, password: str = "wrong", **kwargs) -> int:
        return self.status("POST", "/api/auth/token/", body={"username": username, "password": password}, **kwargs)


@pytest.fixture
def behind_nginx(tmp_path, alice):
    if not os.path.exists(NGINX):
        if IN_CI:
            pytest.fail("nginx is not installed (make test installs Debian's nginx-light)")
        pytest.skip("nginx is not installed")
    for name in ("bob", "carol"):
        user_create(username=name, role=Role.EMPLOYEE, password=PASSWORD)
    for name in ("alice", "bob", "carol"):
        # Each signed in from their own address before: there they are never locked out.
        LoginSession.objects.create(user_id=type(alice).objects.get(username=name).pk, kind=LoginSession.Kind.WEB, ip=OWNER_IP)
    (tmp_path / "app").mkdir()
    with served(tmp_path / "app", TRUSTED_PROXIES="127.0.0.1", RATELIMIT_LOGIN_IP="20/m") as server:
        nginx = Nginx(tmp_path, upstream_port=server.port)
        try:
            yield nginx
        finally:
            stop_process(nginx.process)


def test_the_shipped_proxy_believes_no_forged_header(behind_nginx):
    nginx = behind_nginx
    # A client straight at nginx, a new forged address each time: still one address, limited.
    spread = [
        nginx.sign_in(
            f"nobody{i}",
            source="127.0.0.2",
            headers={"X-Forwarded-For": f"198.51.100.{i + 1}", "X-Real-IP": f"198.51.100.{i + 1}"},
        )
        for i in range(25)
    ]
    assert 429 in spread and spread.index(429) <= 20, spread
    # Real clients behind the TLS proxy are told apart by what it appends, not what they wrote.
    clients = [nginx.sign_in(f"other{i}", headers={"X-Forwarded-For": f"{OWNER_IP}, 192.0.2.{i + 1}"}) for i in range(25)]
    assert 429 not in clients, clients
    # /metrics, whoever claims to be whom.
    for source, forwarded in (("127.0.0.2", OWNER_IP), ("127.0.0.1", OWNER_IP), ("127.0.0.1", "127.0.0.1")):
        assert nginx.status("GET", "/metrics", source=source, headers={"X-Forwarded-For": forwarded}) == 404
    # The owner, from their own address as the TLS proxy saw it, is never locked out ...
    owner = [nginx.sign_in("alice", headers={"X-Forwarded-For": OWNER_IP}) for _ in range(8)]
    assert 429 not in owner, owner
    assert nginx.sign_in("alice", password=PASSWORD, headers={"X-Forwarded-For": OWNER_IP}) == 200
    # ... but claiming that address gets an attacker nothing: straight at nginx ...
    direct = [nginx.sign_in("bob", source="127.0.0.3", headers={"X-Forwarded-For": OWNER_IP}) for _ in range(8)]
    assert 429 in direct, direct
    # ... nor through the TLS proxy, in front of the entry it appends.
    forged = [nginx.sign_in("carol", headers={"X-Forwarded-For": f"{OWNER_IP}, 203.0.113.50"}) for _ in range(8)]
    assert 429 in forged, forged
