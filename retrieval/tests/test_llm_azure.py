"""The Azure OpenAI provider through ``openai.AzureOpenAI`` against a local server
speaking Azure's chat completions API (deployment in the path, ``api-key`` header)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from retrieval.llm import Options, get_provider, reset_providers
from retrieval.llm.azure import AzureOpenAIProvider

from .llm_servers import CHUNKS, MESSAGES

KEY = "az-test-8d1e5b3c"
OPTIONS = Options(question="Yıllık izin nasıl alınır?", language="tr", max_tokens=200, temperature=0.2, timeout=0.5)


@pytest.fixture
def server(llm_server):
    return llm_server("azure")


def provider(url: str, **options) -> AzureOpenAIProvider:
    return AzureOpenAIProvider(
        **{
            "endpoint": url,
            "api_key": KEY,
            "api_version": "2024-10-21",
            "deployment": "chat-prod",
            "timeout": 5,
            "max_retries": 0,
            **options,
        }
    )


def test_it_streams_the_answer_chunk_by_chunk_in_order(server):
    # The server opens with Azure's content filter results, a chunk without choices.
    assert list(provider(server.url).stream(MESSAGES, OPTIONS)) == list(CHUNKS)


def test_it_calls_the_deployment_with_the_api_key_header(server):
    azure = provider(server.url)
    list(azure.stream(MESSAGES, OPTIONS))
    [request] = server.requests
    assert request.path == "/openai/deployments/chat-prod/chat/completions?api-version=2024-10-21"
    assert request.headers["api-key"] == KEY and "authorization" not in request.headers
    assert request.body["model"] == "chat-prod" and request.body["stream"] is True
    assert request.body["messages"] == MESSAGES and request.body["max_tokens"] == 200
    assert azure.name == "azure" and azure.model == "chat-prod"


@pytest.mark.parametrize(
    ("missing", "variable"),
    [
        ("endpoint", "AZURE_OPENAI_ENDPOINT"),
        ("api_key", "AZURE_OPENAI_API_KEY"),
        ("deployment", "AZURE_OPENAI_DEPLOYMENT"),
        ("api_version", "AZURE_OPENAI_API_VERSION"),
    ],
)
def test_it_names_the_missing_setting(missing, variable):
    with pytest.raises(ImproperlyConfigured, match=variable):
        provider("http://127.0.0.1:1", **{missing: ""})


def test_settings_name_it_and_a_missing_endpoint_fails_only_when_it_is_used(settings):
    config = settings.LLM_PROVIDERS["azure"]
    assert import_string(config["BACKEND"]) is AzureOpenAIProvider
    assert config["OPTIONS"]["api_version"] == "2024-10-21"
    settings.LLM_PROVIDERS = {
        **settings.LLM_PROVIDERS,
        "azure": {**config, "OPTIONS": {**config["OPTIONS"], "endpoint": "", "deployment": ""}},
    }
    reset_providers()
    try:
        with pytest.raises(ImproperlyConfigured, match="AZURE_OPENAI_ENDPOINT"):
            get_provider("azure")
    finally:
        reset_providers()
