"""The Ollama provider over plain HTTP against a local server speaking ``/api/chat``
(one JSON object per line)."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from retrieval.llm import Options, ProviderError
from retrieval.llm.ollama import OllamaProvider

from .llm_servers import CHUNKS, MESSAGES, closed_port_url

OPTIONS = Options(question="Yıllık izin nasıl alınır?", language="tr", max_tokens=200, temperature=0.2, timeout=0.5)


@pytest.fixture
def server(llm_server):
    return llm_server("ollama")


def provider(url: str, **options) -> OllamaProvider:
    return OllamaProvider(**{"base_url": url, "timeout": 5, **options})


def test_it_streams_the_answer_chunk_by_chunk_in_order(server):
    assert list(provider(server.url).stream(MESSAGES, OPTIONS)) == list(CHUNKS)


def test_it_sends_the_model_the_messages_and_the_limits(server):
    ollama = provider(server.url + "/")
    list(ollama.stream(MESSAGES, OPTIONS))
    [request] = server.requests
    assert request.path == "/api/chat" and "authorization" not in request.headers
    assert request.body == {"model": "llama3.2", "messages": MESSAGES, "stream": True,
                            "options": {"num_predict": 200, "temperature": 0.2}}
    assert ollama.name == "ollama" and ollama.model == "llama3.2"


@pytest.mark.parametrize(("mode", "message", "retryable"), [
    ("rate_limited", "HTTP 429", True),
    ("server_error", "HTTP 500: Internal error", True),
    ("unauthorized", "HTTP 401", False),
    ("malformed", "malformed response", False),
    ("wrong_shape", "malformed response", False),
    ("error_event", "The model is overloaded", True),
    ("truncated", "ended before it was done", True),
])
def test_each_failure_is_a_provider_error(server, mode, message, retryable):
    server.mode = mode
    with pytest.raises(ProviderError, match=message) as caught:
        list(provider(server.url).stream(MESSAGES, OPTIONS))
    assert caught.value.retryable is retryable and caught.value.message.startswith("ollama: ")


@pytest.mark.parametrize("mode", ["hang_before_headers", "hang_mid_stream"])
def test_a_server_that_goes_quiet_times_out(server, mode):
    server.mode = mode
    started = time.monotonic()
    with pytest.raises(ProviderError, match="no response within 0.5 s") as caught:
        list(provider(server.url).stream(MESSAGES, OPTIONS))
    assert time.monotonic() - started < 2.5 and caught.value.retryable


def test_a_refused_connection_is_a_provider_error():
    with pytest.raises(ProviderError, match="ollama: cannot connect"):
        list(provider(closed_port_url()).stream(MESSAGES, OPTIONS))


def test_it_needs_a_server():
    with pytest.raises(ImproperlyConfigured, match="OLLAMA_BASE_URL"):
        OllamaProvider(base_url="")


def test_settings_name_it_with_the_local_server_as_default(settings):
    config = settings.LLM_PROVIDERS["ollama"]
    assert import_string(config["BACKEND"]) is OllamaProvider
    ollama = OllamaProvider(**config["OPTIONS"])
    assert ollama.url == settings.OLLAMA_BASE_URL.rstrip("/") + "/api/chat"
    assert ollama.timeout == settings.LLM_TIMEOUT
