"""How a model's answer reaches the reader: events handed over in batches, tokens that arrive
together joined into one frame, nothing lost or reordered."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from conversations.answering import Event
from conversations.models import Message
from conversations.workers import _joined

from .test_chat_api_asgi import _start_chat, read_to_the_end
from .test_consumers import communicator, receive_until_done

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = [f"w{n} " for n in range(400)]


class FastProvider:
    """A model that writes 400 tokens as fast as it can: more than any reader takes one by one."""

    name, model = "fast", "fast-1"

    def stream(self, messages, options):
        yield from WORDS


@pytest.fixture
def fast(use_provider):
    return use_provider("fast", FastProvider())


async def socket_tokens(user) -> list[str]:
    """Ask over the chat socket and read to the end; the text of each token frame."""
    comm = communicator(user, "/ws/chat/new/")
    assert (await comm.connect())[0]
    try:
        await comm.send_json_to({"message": "Yıllık izin talebi nereden yapılır?"})
        frames = await receive_until_done(comm, limit=1000)
    finally:
        await comm.disconnect()
    return [f.split(">", 1)[1].rsplit("</span>", 1)[0] for f in frames if f.startswith("<span hx-swap-oob")]


def test_tokens_taken_together_are_joined_and_other_events_keep_their_place():
    batch = [
        Event("token", {"text": "a"}),
        Event("token", {"text": "b"}),
        Event("notice", {"text": "!"}),
        Event("reset"),
        Event("token", {"text": "c"}),
        Event("token", {"text": "d"}),
        Event("done", {"x": 1}),
    ]
    assert [(e.kind, e.data) for e in _joined(batch)] == [
        ("token", {"text": "ab"}),
        ("notice", {"text": "!"}),
        ("reset", {}),
        ("token", {"text": "cd"}),
        ("done", {"x": 1}),
    ]


def test_an_error_or_the_end_is_never_joined_into_a_token():
    end, error = object(), RuntimeError("x")
    assert _joined([Event("token", {"text": "a"}), error, Event("token", {"text": "b"}), end]) == [
        _joined([Event("token", {"text": "a"})])[0],
        error,
        _joined([Event("token", {"text": "b"})])[0],
        end,
    ]


@pytest.mark.asyncio
async def test_a_fast_model_reaches_the_socket_whole_in_fewer_frames(alice, company, fast):
    tokens = await socket_tokens(alice)
    assert 0 < len(tokens) < len(WORDS)
    assert "".join(tokens) == "".join(WORDS)
    answer = await database_sync_to_async(Message.objects.get)(role="assistant")
    assert answer.content == "".join(WORDS) and not answer.incomplete


@pytest.mark.asyncio
async def test_a_fast_model_streams_whole_over_server_sent_events(alice, company, fast):
    app = await _start_chat(alice)
    assert (await app.receive_output(timeout=10))["type"] == "http.response.start"
    body = await read_to_the_end(app)
    blocks = [b for b in body.decode().split("\n\n") if b]
    tokens = [json.loads(b.split("data: ", 1)[1])["text"] for b in blocks if b.startswith("event: token")]
    assert 0 < len(tokens) < len(WORDS) and "".join(tokens) == "".join(WORDS)
    done = json.loads(blocks[-1].split("data: ", 1)[1])
    assert blocks[-1].startswith("event: done") and done["answer"] == "".join(WORDS)


@pytest.mark.asyncio
async def test_the_offline_answerer_streams_over_server_sent_events_through_asgi(alice, company):
    app = await _start_chat(alice)
    assert (await app.receive_output(timeout=10))["type"] == "http.response.start"
    body = await read_to_the_end(app)
    kinds = [b.split("\n")[0] for b in body.decode().split("\n\n") if b]
    assert kinds[0] == "event: started" and kinds[-2:] == ["event: sources", "event: done"]
    assert kinds.count("event: token") > 1
    answer = await database_sync_to_async(Message.objects.get)(role="assistant")
    assert answer.provider == "local" and "Talebi yöneticine gönder" in answer.content and not answer.incomplete


class PacedProvider:
    """A model that writes ten tokens 30 ms apart."""

    name, model = "paced", "paced-1"

    def stream(self, messages, options):
        import time

        for n in range(10):
            if n:
                time.sleep(0.03)
            yield f"t{n} "


@pytest.mark.asyncio
@pytest.mark.parametrize(("interval", "most", "least"), [(0, 10, 6), (250, 3, 1)])
async def test_text_goes_out_at_most_once_an_interval(settings, alice, company, use_provider, interval, most, least):
    settings.CHAT_STREAM_INTERVAL_MS = interval
    use_provider("paced", PacedProvider())
    tokens = await socket_tokens(alice)
    # The first token at once, the rest gathered per interval; never a word lost.
    assert least <= len(tokens) <= most, len(tokens)
    assert "".join(tokens) == "".join(f"t{n} " for n in range(10))


class BrokenProvider:
    name, model = "broken", "broken-1"

    def stream(self, messages, options):
        yield "Önce"
        raise KeyError("internal_table_name")


def test_an_unexpected_failure_reaches_the_client_without_its_internals(settings, client, alice, company, use_provider):
    use_provider("broken", BrokenProvider())
    settings.LLM_FALLBACK_PROVIDER = "none"
    client.force_login(alice)
    response = client.post(
        "/api/chat/",
        {"message": "Yıllık izin talebi nereden yapılır?"},
        content_type="application/json",
        headers={"accept": "text/event-stream"},
    )
    body = b"".join(response.streaming_content).decode()
    error = json.loads(body.split("event: error\ndata: ", 1)[1].split("\n", 1)[0])
    assert "internal_table_name" not in body
    assert error["message"] == "Yanıtlanırken bir sorun çıktı. Lütfen yeniden deneyin."  # the default language
    answer = Message.objects.get(role="assistant")
    assert answer.incomplete and answer.content == "Önce"
