"""The Hugging Face provider over plain HTTP against a local server speaking Text
Generation Inference's Messages API (OpenAI-style Server-Sent Events)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from retrieval.llm import Options, get_provider, reset_providers
from retrieval.llm.huggingface import HuggingFaceProvider

from .llm_servers import CHUNKS, MESSAGES

KEY = "hf_test3a7c0e9b"
OPTIONS = Options(question="Yıllık izin nasıl alınır?", language="tr", max_tokens=200, temperature=0.2, timeout=0.5)


@pytest.fixture
def server(llm_server):
    return llm_server("huggingface")


def provider(url: str, **options) -> HuggingFaceProvider:
    return HuggingFaceProvider(**{"api_key": KEY, "base_url": url, "timeout": 5, **options})


def test_it_streams_the_answer_chunk_by_chunk_in_order(server):
    assert list(provider(server.url).stream(MESSAGES, OPTIONS)) == list(CHUNKS)


def test_it_sends_the_model_the_messages_and_the_token(server):
    hf = provider(server.url)
    list(hf.stream(MESSAGES, OPTIONS))
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body == {
        "model": "meta-llama/Llama-3.1-8B-Instruct",
        "messages": MESSAGES,
        "stream": True,
        "max_tokens": 200,
        "temperature": 0.2,
    }
    assert hf.name == "huggingface" and hf.model == "meta-llama/Llama-3.1-8B-Instruct"


def test_a_base_url_with_v1_and_a_server_without_a_token_work_too(server):
    list(provider(server.url + "/v1/", api_key="").stream(MESSAGES, OPTIONS))
    [request] = server.requests
    assert request.path == "/v1/chat/completions" and "authorization" not in request.headers


def test_without_a_base_url_it_calls_the_hosted_router():
    assert provider("").url == "https://router.huggingface.co/v1/chat/completions"


def test_it_needs_a_token_or_a_server():
    with pytest.raises(ImproperlyConfigured, match="HUGGINGFACE_API_KEY"):
        HuggingFaceProvider()


def test_settings_name_it_and_a_missing_token_fails_only_when_it_is_used(settings):
    config = settings.LLM_PROVIDERS["huggingface"]
    assert import_string(config["BACKEND"]) is HuggingFaceProvider
    assert HuggingFaceProvider(**{**config["OPTIONS"], "api_key": KEY}).timeout == settings.LLM_TIMEOUT
    settings.LLM_PROVIDERS = {
        **settings.LLM_PROVIDERS,
        "huggingface": {**config, "OPTIONS": {**config["OPTIONS"], "api_key": "", "base_url": ""}},
    }
    reset_providers()
    try:
        with pytest.raises(ImproperlyConfigured, match="HUGGINGFACE_API_KEY"):
            get_provider("huggingface")
    finally:
        reset_providers()
