"""The Gemini provider through google-genai against a local server speaking
``:streamGenerateContent?alt=sse``."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from retrieval.llm import Options, get_provider, reset_providers
from retrieval.llm.gemini import GeminiProvider

from .llm_servers import CHUNKS, MESSAGES

KEY = "AIza-test-6b2f9e1d"
OPTIONS = Options(question="Yıllık izin nasıl alınır?", language="tr", max_tokens=200, temperature=0.2, timeout=0.5)


@pytest.fixture
def server(llm_server):
    return llm_server("gemini")


def provider(url: str, **options) -> GeminiProvider:
    return GeminiProvider(**{"api_key": KEY, "base_url": url, "timeout": 5, "max_retries": 0, **options})


def test_it_streams_the_answer_chunk_by_chunk_in_order(server):
    assert list(provider(server.url).stream(MESSAGES, OPTIONS)) == list(CHUNKS)


def test_the_system_message_becomes_the_instruction_and_the_turns_user_and_model(server):
    gemini = provider(server.url)
    list(gemini.stream(MESSAGES, OPTIONS))
    [request] = server.requests
    assert request.path.endswith("/models/gemini-2.0-flash:streamGenerateContent?alt=sse")
    assert request.headers["x-goog-api-key"] == KEY and KEY not in request.path
    assert request.body["systemInstruction"]["parts"] == [{"text": MESSAGES[0]["content"]}]
    assert [(c["role"], c["parts"][0]["text"]) for c in request.body["contents"]] == [
        ("user", MESSAGES[1]["content"]),
        ("model", MESSAGES[2]["content"]),
        ("user", MESSAGES[3]["content"]),
    ]
    assert request.body["generationConfig"] == {"maxOutputTokens": 200, "temperature": 0.2}
    assert gemini.name == "gemini" and gemini.model == "gemini-2.0-flash"


def test_a_rate_limit_is_retried_once_without_waiting_long(server):
    server.mode = ["rate_limited", "ok"]
    started = time.monotonic()
    assert "".join(provider(server.url, max_retries=1).stream(MESSAGES, OPTIONS)) == "".join(CHUNKS)
    assert len(server.requests) == 2 and time.monotonic() - started < 3


def test_it_needs_a_key():
    with pytest.raises(ImproperlyConfigured, match="GEMINI_API_KEY"):
        GeminiProvider(base_url="http://127.0.0.1:1")


def test_settings_name_it_and_a_missing_key_fails_only_when_it_is_used(settings):
    config = settings.LLM_PROVIDERS["gemini"]
    assert import_string(config["BACKEND"]) is GeminiProvider
    assert GeminiProvider(**{**config["OPTIONS"], "api_key": KEY}).timeout == settings.LLM_TIMEOUT
    settings.LLM_PROVIDERS = {**settings.LLM_PROVIDERS, "gemini": {**config, "OPTIONS": {**config["OPTIONS"], "api_key": ""}}}
    reset_providers()
    try:
        with pytest.raises(ImproperlyConfigured, match="GEMINI_API_KEY"):
            get_provider("gemini")
    finally:
        reset_providers()
