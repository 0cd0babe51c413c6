"""The OpenAI provider through the official SDK against a local server speaking the
chat completions API."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from retrieval.llm import Options, get_provider, reset_providers
from retrieval.llm.openai import OpenAIProvider

from .llm_servers import CHUNKS, MESSAGES

KEY = "sk-test-4f9c2a7e"
OPTIONS = Options(question="Yıllık izin nasıl alınır?", language="tr", max_tokens=200, temperature=0.2, timeout=0.5)


@pytest.fixture
def server(llm_server):
    return llm_server("openai")


def provider(url: str, **options) -> OpenAIProvider:
    # A generous client timeout: the per-answer timeout in OPTIONS is the tighter one.
    return OpenAIProvider(**{"api_key": KEY, "base_url": f"{url}/v1", "timeout": 5, "max_retries": 0, **options})


def test_it_streams_the_answer_chunk_by_chunk_in_order(server):
    assert list(provider(server.url).stream(MESSAGES, OPTIONS)) == list(CHUNKS)


async def test_it_streams_asynchronously(server):
    assert [token async for token in provider(server.url).astream(MESSAGES, OPTIONS)] == list(CHUNKS)


def test_it_sends_the_model_the_messages_and_the_key(server):
    list(provider(server.url).stream(MESSAGES, OPTIONS))
    [request] = server.requests
    assert request.method == "POST" and request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body["model"] == "gpt-4o-mini" and request.body["stream"] is True
    assert request.body["messages"] == MESSAGES
    assert request.body["max_tokens"] == 200 and request.body["temperature"] == 0.2


def test_the_model_can_be_chosen(server):
    custom = provider(server.url, model="gpt-4.1")
    list(custom.stream(MESSAGES, OPTIONS))
    assert custom.name == "openai" and custom.model == "gpt-4.1"
    assert server.requests[0].body["model"] == "gpt-4.1"


def test_a_server_error_is_retried_once(server):
    server.mode = ["server_error", "ok"]
    assert "".join(provider(server.url, max_retries=1).stream(MESSAGES, OPTIONS)) == "".join(CHUNKS)
    assert len(server.requests) == 2


def test_it_needs_a_key_or_a_compatible_server():
    with pytest.raises(ImproperlyConfigured, match="OPENAI_API_KEY"):
        OpenAIProvider()
    assert OpenAIProvider(base_url="http://127.0.0.1:1/v1").model == "gpt-4o-mini"


def test_settings_name_it_and_a_missing_key_fails_only_when_it_is_used(settings):
    config = settings.LLM_PROVIDERS["openai"]
    assert import_string(config["BACKEND"]) is OpenAIProvider
    assert OpenAIProvider(**{**config["OPTIONS"], "api_key": KEY}).timeout == settings.LLM_TIMEOUT
    settings.LLM_PROVIDERS = {
        **settings.LLM_PROVIDERS,
        "openai": {**config, "OPTIONS": {**config["OPTIONS"], "api_key": "", "base_url": ""}},
    }
    reset_providers()
    try:
        with pytest.raises(ImproperlyConfigured, match="OPENAI_API_KEY"):
            get_provider("openai")
    finally:
        reset_providers()
