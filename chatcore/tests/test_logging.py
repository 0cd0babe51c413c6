"""Logs: one JSON object per line, one line per request carrying its request id,
and never a password, a token or what someone asked."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.conf import settings as django_settings

from conftest import PASSWORD

SECRET_QUESTION = "Maaşım 987654 TL, parolam Gizli-Parola-42: zam ne zaman?"


@pytest.fixture
def log_lines():
    """What the configured JSON handler writes at INFO, as parsed lines. Test settings
    keep the root logger at WARNING; production logs at INFO."""
    config = dict(django_settings.LOGGING["formatters"]["json"])
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(config.pop("()")(**config))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    output = handler.stream

    def read() -> list[dict]:
        raw = output.getvalue()
        read.raw = raw
        # One object per line: json.loads fails on anything else.
        return [json.loads(line) for line in raw.splitlines()]

    try:
        yield read
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def requests_in(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["event"] == "request"]


def test_it_generates_a_request_id_and_returns_it(client, db, log_lines):
    response = client.get("/healthz")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32 and int(request_id, 16) >= 0
    [line] = requests_in(log_lines())
    assert line["request_id"] == request_id
    assert line["method"] == "GET" and line["path"] == "/healthz" and line["status"] == 200
    assert line["latency_ms"] >= 0 and line["user_id"] is None
    assert line["level"] == "info" and "timestamp" in line


def test_it_keeps_a_sane_request_id_from_the_client(client, db, log_lines):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.2_c")
    assert response["X-Request-ID"] == "lb-7f3a.2_c"
    assert requests_in(log_lines())[0]["request_id"] == "lb-7f3a.2_c"


@pytest.mark.parametrize(
    "evil",
    [
        'x"\n{"event": "forged"}',
        "a" * 65,
        "<script>alert(1)</script>",
        "id with spaces",
        "-leading-dash",
        "ü-id",
    ],
)
def test_it_replaces_a_malicious_request_id(client, db, log_lines, evil):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=evil)
    request_id = response["X-Request-ID"]
    assert request_id != evil and len(request_id) == 32
    lines = log_lines()
    assert [line["request_id"] for line in requests_in(lines)] == [request_id]
    assert "forged" not in log_lines.raw


def test_it_logs_the_user_and_the_path_without_its_query(client, alice, log_lines):
    client.force_login(alice)
    response = client.get("/api/conversations/?search=gizli-arama-metni")
    assert response.status_code == 200
    [line] = requests_in(log_lines())
    assert line["path"] == "/api/conversations/" and line["user_id"] == alice.pk
    assert "gizli-arama-metni" not in log_lines.raw


def test_a_not_found_is_one_line_not_two(client, db, log_lines):
    assert client.get("/no-such-page/").status_code == 404
    lines = log_lines()
    assert [line["event"] for line in lines] == ["request"] and lines[0]["status"] == 404


def test_every_line_of_a_chat_answer_carries_the_request_id(client, alice, company, log_lines):
    client.force_login(alice)
    response = client.post(
        "/api/chat/",
        json.dumps({"message": "Yıllık izin nereden alınır?"}),
        content_type="application/json",
        HTTP_X_REQUEST_ID="chat-req-1",
    )
    assert response.status_code == 200
    lines = log_lines()
    [answer] = [line for line in lines if line["event"] == "chat_answer"]
    assert answer["request_id"] == "chat-req-1" and answer["user_id"] == alice.pk
    assert answer["provider"] == "local" and answer["cached"] is False and answer["latency_ms"] >= 0
    assert {line["request_id"] for line in lines} == {"chat-req-1"}


def test_no_password_token_or_question_reaches_the_logs(client, alice, company, log_lines):
    response = client.post("/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    response = client.post("/api/chat/", json.dumps({"message": SECRET_QUESTION}), content_type="application/json")
    assert response.status_code == 200
    tokens = client.post(
        "/api/auth/jwt/", json.dumps({"username": "alice", "password": PASSWORD}), content_type="application/json"
    ).json()
    assert tokens["access"] and tokens["refresh"]
    client.post("/login/", {"username": "alice", "password": "wrong-" + PASSWORD})
    lines = log_lines()
    raw = log_lines.raw
    assert len(requests_in(lines)) == 4
    for secret in (
        PASSWORD,
        tokens["access"],
        tokens["refresh"],
        "987654",
        "Gizli-Parola-42",
        SECRET_QUESTION,
        "zam ne zaman",
        client.cookies["sessionid"].value,
    ):
        assert secret not in raw


@pytest.mark.django_db(transaction=True)
async def test_each_chat_socket_message_gets_its_own_request_id(alice, company, log_lines):
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from conversations.routing import websocket_urlpatterns
    from conversations.tests.test_consumers import receive_until_done

    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/chat/new/")
    comm.scope["user"] = alice
    connected, _ = await comm.connect()
    assert connected
    try:
        for question in ("Yıllık izin nereden alınır?", "Kervan projesini kim yönetiyor?"):
            await comm.send_json_to({"message": question})
            await receive_until_done(comm)
    finally:
        await comm.disconnect()
    answers = [line for line in log_lines() if line["event"] == "chat_answer"]
    assert len(answers) == 2 and all(a["user_id"] == alice.pk for a in answers)
    ids = [a["request_id"] for a in answers]
    assert all(len(i) == 32 for i in ids) and ids[0] != ids[1]
    assert "Kervan projesini" not in log_lines.raw
