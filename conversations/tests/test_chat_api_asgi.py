"""The chat API through the ASGI application daphne serves: Server-Sent Events leave as the
answer is written (Django's ASGI handler would otherwise read the whole stream first)."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from rest_framework.authtoken.models import Token

from chatcore.asgi import application
from conversations.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


class GatedProvider:
    """Writes its first words, then waits until the test has seen them before it goes on."""

    name, model = "gated", "gated-1"

    def __init__(self) -> None:
        self.release = threading.Event()

    def stream(self, messages, options):
        yield "Önce"
        if not self.release.wait(10):
            raise RuntimeError("the test never saw the first words")
        yield " sonra."


@pytest.fixture
def gated(use_provider):
    provider = use_provider("gated", GatedProvider())
    yield provider
    provider.release.set()


async def _start_chat(user) -> ApplicationCommunicator:
    token = await database_sync_to_async(lambda: Token.objects.create(user=user).key)()
    body = json.dumps({"message": "Yıllık izin nasıl alınır?"}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/chat/",
        "raw_path": b"/api/chat/",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"accept", b"text/event-stream"),
            (b"authorization", f"Token {token}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    app = ApplicationCommunicator(application, scope)
    await app.send_input({"type": "http.request", "body": body, "more_body": False})
    return app


async def _read_until(app: ApplicationCommunicator, text: str) -> bytes:
    received = b""
    while text.encode() not in received:
        message = await app.receive_output(timeout=5)
        assert message["type"] == "http.response.body" and message.get("more_body"), message
        received += message.get("body", b"")
    return received


async def read_to_the_end(app: ApplicationCommunicator, received: bytes = b"") -> bytes:
    """The rest of a streamed body, to its last message."""
    while True:
        message = await app.receive_output(timeout=10)
        received += message.get("body", b"")
        if not message.get("more_body"):
            return received


async def test_the_answer_streams_as_it_is_written(alice, company, gated):
    app = await _start_chat(alice)
    start = await app.receive_output(timeout=10)
    assert start["type"] == "http.response.start" and start["status"] == 200
    assert dict(start["headers"])[b"Content-Type"] == b"text/event-stream; charset=utf-8"
    # The first words arrive while the provider is still waiting: nothing is held back.
    received = await _read_until(app, "Önce")
    assert b" sonra." not in received
    gated.release.set()
    received = await read_to_the_end(app, received)
    events = [block.split("\n")[0] for block in received.decode().split("\n\n") if block]
    assert events[0] == "event: started" and events[-2:] == ["event: sources", "event: done"]
    answer = await database_sync_to_async(Message.objects.get)(role="assistant")
    assert answer.content == "Önce sonra." and not answer.incomplete and answer.provider == "gated"


async def test_a_client_that_goes_away_mid_answer_leaves_the_partial_answer_stored(alice, company, gated):
    app = await _start_chat(alice)
    assert (await app.receive_output(timeout=10))["type"] == "http.response.start"
    await _read_until(app, "Önce")
    await app.send_input({"type": "http.disconnect"})
    # The app runs on this loop: give it the moment to see the client gone (and stop the answer)
    # before the model goes on, or the whole answer may be written first.
    await asyncio.sleep(0.5)
    gated.release.set()
    await app.wait(timeout=10)
    messages = await database_sync_to_async(lambda: list(Message.objects.order_by("id")))()
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].incomplete and messages[1].content.startswith("Önce")
