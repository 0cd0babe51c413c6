"""The answer pipeline with the openai provider pointed at a local server: a provider
that fails or goes quiet gives the offline answer with a notice and loses nothing;
one that works streams its answer token by token and is stored as its own."""

from __future__ import annotations

import json
import logging
import time

import pytest

from conversations.models import Message
from retrieval.llm import reset_providers
from retrieval.llm.prompts import SYSTEM
from retrieval.tests.llm_servers import CHUNKS, LLMServer

from .sse import sse_events

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "Yıllık izin talebi nereden yapılır?"


@pytest.fixture
def openai_server(settings):
    with LLMServer("openai") as server:
        settings.LLM_PROVIDER = "openai"
        settings.LLM_TIMEOUT = 0.5
        settings.LLM_PROVIDERS = {
            **settings.LLM_PROVIDERS,
            "openai": {
                "BACKEND": "retrieval.llm.openai.OpenAIProvider",
                "OPTIONS": {"api_key": "sk-test", "base_url": f"{server.url}/v1", "timeout": 5, "max_retries": 0},
            },
        }
        reset_providers()
        yield server
    reset_providers()


def ask_streaming(client):
    response = client.post(
        "/api/chat/", json.dumps({"message": QUESTION}), content_type="application/json", HTTP_ACCEPT="text/event-stream"
    )
    assert response.status_code == 200
    return sse_events(response)


def test_a_streamed_answer_arrives_token_by_token_and_is_stored_as_the_providers(client, alice, company, openai_server):
    client.force_login(alice)
    events = ask_streaming(client)
    assert [data["text"] for kind, data in events if kind == "token"] == list(CHUNKS)
    assert "notice" not in [kind for kind, _ in events]
    done = events[-1][1]
    assert done["provider"] == "openai" and done["model"] == "gpt-4o-mini" and done["answer"] == "".join(CHUNKS)
    stored = Message.objects.get(id=done["message_id"])
    assert stored.provider == "openai" and stored.content == "".join(CHUNKS) and not stored.incomplete
    assert stored.used_documents[0]["key"] == "PR1"
    [request] = openai_server.requests
    messages = request.body["messages"]
    assert request.body["model"] == "gpt-4o-mini" and request.body["stream"] is True
    assert messages[0]["role"] == "system" and messages[0]["content"].startswith(SYSTEM["tr"])
    assert "The asker is" in messages[0]["content"]
    assert messages[-1]["role"] == "user" and messages[-1]["content"].endswith(f"Question: {QUESTION}")
    assert '"key": "PR1"' in messages[-1]["content"]


@pytest.mark.parametrize("mode", ["server_error", "hang_before_headers", "hang_mid_stream"])
def test_a_failing_provider_gives_the_offline_answer_with_a_notice_and_loses_nothing(
    client, alice, company, openai_server, caplog, mode
):
    openai_server.mode = mode
    client.force_login(alice)
    with caplog.at_level(logging.WARNING):
        events = ask_streaming(client)
    # From the moment the provider was asked: the 0.5 s timeout and the offline answer, not the server's 10 s.
    assert time.monotonic() - openai_server.requests[0].at < 4
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "started" and "notice" in kinds and kinds[-2:] == ["sources", "done"]
    # Whatever the failed provider streamed is withdrawn; the tokens after the reset are the answer.
    after_reset = kinds.index("reset")
    withdrawn = [data["text"] for kind, data in events[:after_reset] if kind == "token"]
    assert withdrawn == ([CHUNKS[0]] if mode == "hang_mid_stream" else [])
    done = events[-1][1]
    assert "".join(data["text"] for kind, data in events[after_reset:] if kind == "token") == done["answer"]
    assert done["provider"] == "local" and "[1]" in done["answer"]
    assert Message.objects.filter(role="user").get().content == QUESTION
    stored = Message.objects.get(role="assistant")
    assert stored.id == done["message_id"] and stored.provider == "local" and stored.content == done["answer"]
    assert not stored.incomplete and CHUNKS[0] not in stored.content
    failures = [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "provider_failed"]
    assert len(failures) == 1 and failures[0]["provider"] == "openai" and failures[0]["retryable"] is True
    assert "sk-test" not in failures[0]["error"]


def test_a_model_that_looks_the_answer_up_cites_what_the_tool_found(client, alice, company, openai_server):
    """A tool-call round trip through ``POST /api/chat/``: the question finds no passage, so
    the model asks ``find_documents`` (as alice, so no salary), then answers citing the
    document the tool returned, numbered as the tool said."""
    openai_server.mode = ["tool_call", "ok"]
    openai_server.wire.chunks = ("Ayşe Yılmaz ", "knows Kafka [1].")
    client.force_login(alice)
    response = client.post(
        "/api/chat/", json.dumps({"message": "Mentorluk programına kim katılmalı?"}), content_type="application/json"
    )
    data = response.json()
    assert response.status_code == 200 and data["provider"] == "openai"
    assert data["answer"] == "Ayşe Yılmaz knows Kafka [1]."
    assert [s["key"] for s in data["sources"]] == ["E1"] and data["sources"][0]["n"] == 1
    stored = Message.objects.get(id=data["message_id"])
    assert stored.used_documents == [{"n": 1, "key": "E1", "score": 1.0}] and not stored.cached
    first, second = openai_server.requests
    assert [t["function"]["name"] for t in first.body["tools"]] == ["find_documents"]
    assert "The asker is" in first.body["messages"][0]["content"]
    tool_message = json.loads(second.body["messages"][-1]["content"])
    assert tool_message["documents"][0]["key"] == "E1" and "salary" not in tool_message["documents"][0]["fields"]
