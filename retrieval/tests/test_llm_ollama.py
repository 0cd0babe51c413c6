"""The Ollama provider over plain HTTP against a local server speaking ``/api/chat``
(one JSON object per line)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from retrieval.llm import Options
from retrieval.llm.ollama import OllamaProvider

from .llm_servers import CHUNKS, MESSAGES

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
    assert request.body == {
        "model": "llama3.2",
        "messages": MESSAGES,
        "stream": True,
        "options": {"num_predict": 200, "temperature": 0.2},
    }
    assert ollama.name == "ollama" and ollama.model == "llama3.2"


def test_it_needs_a_server():
    with pytest.raises(ImproperlyConfigured, match="OLLAMA_BASE_URL"):
        OllamaProvider(base_url="")


def test_settings_name_it_with_the_local_server_as_default(settings):
    config = settings.LLM_PROVIDERS["ollama"]
    assert import_string(config["BACKEND"]) is OllamaProvider
    ollama = OllamaProvider(**config["OPTIONS"])
    assert ollama.url == settings.OLLAMA_BASE_URL.rstrip("/") + "/api/chat"
    assert ollama.timeout == settings.LLM_TIMEOUT
