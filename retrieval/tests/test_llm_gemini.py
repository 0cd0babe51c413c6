"""The Gemini provider through google-genai against a local server speaking
``:streamGenerateContent?alt=sse``."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from retrieval.llm import Options, ProviderError, get_provider, reset_providers
from retrieval.llm.gemini import GeminiProvider

from .llm_servers import CHUNKS, MESSAGES, closed_port_url

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
        ("user", MESSAGES[1]["content"]), ("model", MESSAGES[2]["content"]), ("user", MESSAGES[3]["content"])]
    assert request.body["generationConfig"] == {"maxOutputTokens": 200, "temperature": 0.2}
    assert gemini.name == "gemini" and gemini.model == "gemini-2.0-flash"


@pytest.mark.parametrize(("mode", "message", "retryable"), [
    ("rate_limited", r"HTTP 429: Rate limit reached, slow down \(retry after 7 s\)", True),
    ("server_error", "HTTP 500", True),
    ("unauthorized", "HTTP 401", False),
    ("malformed", "malformed response", False),
    ("wrong_shape", "malformed response", False),
    ("error_event", "The model is overloaded", True),
    ("truncated", "ended before it was done", True),
])
def test_each_failure_is_a_provider_error_without_the_key(server, mode, message, retryable):
    server.mode = mode
    with pytest.raises(ProviderError, match=message) as caught:
        list(provider(server.url).stream(MESSAGES, OPTIONS))
    assert caught.value.retryable is retryable
    assert caught.value.message.startswith("gemini: ") and KEY not in caught.value.message


@pytest.mark.parametrize("mode", ["hang_before_headers", "hang_mid_stream"])
def test_a_server_that_goes_quiet_times_out(server, mode):
    server.mode = mode
    started = time.monotonic()
    with pytest.raises(ProviderError, match="no response within 0.5 s") as caught:
        list(provider(server.url).stream(MESSAGES, OPTIONS))
    assert time.monotonic() - started < 2.5 and caught.value.retryable


def test_a_refused_connection_is_a_provider_error():
    with pytest.raises(ProviderError, match="gemini: cannot connect"):
        list(provider(closed_port_url()).stream(MESSAGES, OPTIONS))


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
    settings.LLM_PROVIDERS = {**settings.LLM_PROVIDERS,
                              "gemini": {**config, "OPTIONS": {**config["OPTIONS"], "api_key": ""}}}
    reset_providers()
    try:
        with pytest.raises(ImproperlyConfigured, match="GEMINI_API_KEY"):
            get_provider("gemini")
    finally:
        reset_providers()
