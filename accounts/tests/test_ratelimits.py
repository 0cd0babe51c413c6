"""Rate limits: one bucket per user for the API and the chat socket, one per IP address
for the sign-in endpoints; 429 with Retry-After."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django_ratelimit.core import get_usage
from prometheus_client import REGISTRY

from conftest import PASSWORD
from conversations.models import Message
from conversations.routing import websocket_urlpatterns

ROOT = Path(__file__).resolve().parents[2]
API = "/api/documents/"


def fresh_window(*, group: str, value: str, rate: str, seconds_needed: int) -> None:
    """Windows are fixed: a test that fills one must not straddle its end."""
    usage = get_usage(None, group=group, key=lambda g, r: value, rate=rate)
    if usage["time_left"] < seconds_needed:
        time.sleep(usage["time_left"] + 1)


def refused_count(scope: str) -> float:
    return REGISTRY.get_sample_value("chatcore_rate_limited_total", {"scope": scope}) or 0.0


def assert_429(response, code: str = "throttled") -> int:
    assert response.status_code == 429, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"], body
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    return retry_after


def sign_in(client, username: str, password: str = "wrong", **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


def token(client, username: str, password: str = "wrong", path: str = "/api/auth/token/", **extra):
    return client.post(path, {"username": username, "password": password}, content_type="application/json", **extra)


# --- per user: the API and the chat socket --------------------------------------


def test_the_61st_api_request_in_a_minute_is_a_429_with_retry_after(client, alice):
    fresh_window(group="user", value=str(alice.pk), rate="60/m", seconds_needed=30)
    client.force_login(alice)
    for _ in range(60):
        assert client.get(API).status_code == 200
    before = refused_count("user")
    retry_after = assert_429(client.get(API))
    usage = get_usage(None, group="user", key=lambda g, r: str(alice.pk), rate="60/m")
    # Seconds until the window frees, not a fixed guess (read a moment after the response: a second
    # boundary may fall between the two).
    assert max(1, usage["time_left"]) <= retry_after <= max(1, usage["time_left"]) + 1
    assert refused_count("user") == before + 1


def test_a_token_client_is_limited_like_a_page_session(client, alice, settings):
    settings.RATELIMIT_USER = "2/m"
    key = token(client, "alice", PASSWORD).json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    fresh_window(group="user", value=str(alice.pk), rate="2/m", seconds_needed=10)
    assert client.get(API, **auth).status_code == 200
    assert client.get(API, **auth).status_code == 200
    assert_429(client.get(API, **auth))


def test_each_user_has_a_bucket_of_their_own(client, alice, stranger, settings):
    settings.RATELIMIT_USER = "2/m"
    fresh_window(group="user", value=str(alice.pk), rate="2/m", seconds_needed=10)
    client.force_login(alice)
    for _ in range(2):
        client.get(API)
    assert_429(client.get(API))
    client.force_login(stranger)
    assert client.get(API).status_code == 200


def test_limits_can_be_switched_off(client, alice, settings):
    settings.RATELIMIT_USER = "1/m"
    settings.RATELIMIT_ENABLE = False
    client.force_login(alice)
    assert [client.get(API).status_code for _ in range(3)] == [200, 200, 200]


def test_a_full_bucket_refuses_the_chat_api_before_anything_is_stored(client, alice, settings):
    settings.RATELIMIT_USER = "1/m"
    fresh_window(group="user", value=str(alice.pk), rate="1/m", seconds_needed=10)
    client.force_login(alice)
    client.get(API)
    assert_429(client.post("/api/chat/", {"message": "Yıllık izin?"}, content_type="application/json"))
    assert not Message.objects.exists()


def communicator(user):
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/chat/new/")
    comm.scope["user"] = user
    return comm


@pytest.mark.django_db(transaction=True)
async def test_chat_socket_messages_and_api_requests_draw_on_one_bucket(client, alice, settings, english):
    settings.RATELIMIT_USER = "3/m"
    await database_sync_to_async(fresh_window)(group="user", value=str(alice.pk), rate="3/m", seconds_needed=20)
    await database_sync_to_async(client.force_login)(alice)
    assert (await database_sync_to_async(client.get)(API)).status_code == 200
    comm = communicator(alice)
    connected, _ = await comm.connect()
    assert connected
    try:
        # Blank questions are cheap and still count: two more requests, the bucket is full.
        for _ in range(2):
            await comm.send_json_to({"message": "  "})
            assert "Write a question." in await comm.receive_from(timeout=5)
        await comm.send_json_to({"message": "Yıllık izin nasıl alınır?"})
        frame = await comm.receive_from(timeout=5)
        # The page's error slot, as for any refused message; the question is not run.
        assert 'id="composer-error"' in frame and "Too many requests. Try again in" in frame
        assert 'id="chat-state" class=""' in frame
        assert await comm.receive_nothing(timeout=0.5)
    finally:
        await comm.disconnect()
    assert not await database_sync_to_async(Message.objects.exists)()
    assert_429(await database_sync_to_async(client.get)(API))


@pytest.mark.django_db(transaction=True)
async def test_the_socket_says_so_in_turkish_by_default(alice, settings):
    settings.RATELIMIT_USER = "1/m"
    await database_sync_to_async(fresh_window)(group="user", value=str(alice.pk), rate="1/m", seconds_needed=10)
    comm = communicator(alice)
    await comm.connect()
    try:
        await comm.send_json_to({"message": "  "})
        await comm.receive_from(timeout=5)
        await comm.send_json_to({"message": "  "})
        frame = await comm.receive_from(timeout=5)
    finally:
        await comm.disconnect()
    assert "Çok fazla istek gönderildi" in frame and "saniye sonra yeniden deneyin" in frame


# --- per IP address: the sign-in endpoints -----------------------------------------


def test_the_21st_sign_in_from_one_address_is_a_429_on_the_page(client, db, english):
    fresh_window(group="login_ip", value="127.0.0.1", rate="20/m", seconds_needed=30)
    # Different usernames, so no lockout gets there first.
    for n in range(20):
        assert sign_in(client, f"guess{n}").status_code == 400
    before = refused_count("login_ip")
    response = sign_in(client, "guess20")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many sign-in attempts. Try again in" in response.content.decode()
    assert 'name="username"' in response.content.decode() and 'value="guess20"' in response.content.decode()
    assert refused_count("login_ip") == before + 1


def test_the_page_refusal_is_in_turkish_by_default(client, db, settings):
    settings.RATELIMIT_LOGIN_IP = "1/m"
    fresh_window(group="login_ip", value="127.0.0.1", rate="1/m", seconds_needed=10)
    sign_in(client, "guess")
    response = sign_in(client, "guess")
    assert response.status_code == 429
    assert "Çok fazla giriş denemesi yapıldı" in response.content.decode()


def test_the_21st_api_sign_in_from_one_address_is_a_429_in_the_error_shape(client, db):
    fresh_window(group="login_ip", value="127.0.0.1", rate="20/m", seconds_needed=30)
    for n in range(20):
        assert token(client, f"guess{n}").status_code == 401
    assert_429(token(client, "guess20"))


def test_pages_token_and_jwt_share_the_address_bucket_and_refuse_even_good_passwords(client, alice, settings):
    settings.RATELIMIT_LOGIN_IP = "3/m"
    fresh_window(group="login_ip", value="127.0.0.1", rate="3/m", seconds_needed=10)
    assert sign_in(client, "guess").status_code == 400
    assert token(client, "guess").status_code == 401
    assert token(client, "guess", path="/api/auth/jwt/").status_code == 401
    assert_429(token(client, "alice", PASSWORD))
    assert_429(token(client, "alice", PASSWORD, path="/api/auth/jwt/"))
    assert sign_in(client, "alice", PASSWORD).status_code == 429


def test_malformed_sign_in_requests_count_too(client, db, settings):
    settings.RATELIMIT_LOGIN_IP = "1/m"
    fresh_window(group="login_ip", value="127.0.0.1", rate="1/m", seconds_needed=10)
    assert client.post("/api/auth/token/", "{", content_type="application/json").status_code == 400
    assert_429(client.post("/api/auth/token/", "{", content_type="application/json"))


def test_another_address_is_not_affected(client, alice, settings):
    settings.RATELIMIT_LOGIN_IP = "1/m"
    fresh_window(group="login_ip", value="127.0.0.1", rate="1/m", seconds_needed=10)
    token(client, "guess")
    assert_429(token(client, "guess"))
    assert token(client, "alice", PASSWORD, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_the_admin_sign_in_is_limited_too(client, hr_user, settings, english):
    settings.RATELIMIT_LOGIN_IP = "1/m"
    fresh_window(group="login_ip", value="127.0.0.1", rate="1/m", seconds_needed=10)
    form = {"username": "hilal", "password": "wrong", "next": "/admin/"}
    assert client.post("/admin/login/", form).status_code == 200  # admin's form, with its error
    response = client.post("/admin/login/", {**form, "password": PASSWORD})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert "Too many sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


# --- shared through Redis --------------------------------------------------------------


SECOND_PROCESS = """
import sys
import django
django.setup()
from accounts.ratelimits import user_hit
verdicts = [user_hit(int(sys.argv[1])) for _ in range(30)]
print(sum(not v.limited for v in verdicts))
"""


@pytest.mark.redis
def test_processes_share_one_count_through_redis(client, alice, settings):
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    settings.RATELIMIT_USER = "60/m"
    # Room for a second Django to start on a busy machine within the same window.
    fresh_window(group="user", value=str(alice.pk), rate="60/m", seconds_needed=45)
    client.force_login(alice)
    for _ in range(30):
        assert client.get(API).status_code == 200
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatcore.settings.local",
        "DEBUG": "false",
        "CACHE_KEY_PREFIX": django_settings.CACHES["default"]["KEY_PREFIX"],
        "RATELIMIT_USER": "60/m",
        "LOG_LEVEL": "warning",
    }
    result = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, str(alice.pk)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    # The other process saw this one's 30 requests: 30 more fit, then the bucket is full.
    assert result.stdout.strip().splitlines()[-1] == "30"
    assert_429(client.get(API))


def test_a_malformed_rate_fails_at_start():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "RATELIMIT_USER": "sixty a minute"},
    )
    assert result.returncode != 0
    assert "RATELIMIT_USER='sixty a minute' is not a rate such as 60/m" in result.stderr
