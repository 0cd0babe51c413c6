"""How every LLM provider fails, each through its own SDK or HTTP client against a local
server speaking its wire protocol: rate limits, server and client errors, a refused
connection, a server that goes quiet, a broken stream. Each failure is a ``ProviderError``
named after the provider, retryable or not, and never carries the API key."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from retrieval.llm import Options, Provider, ProviderError
from retrieval.llm.azure import AzureOpenAIProvider
from retrieval.llm.gemini import GeminiProvider
from retrieval.llm.huggingface import HuggingFaceProvider
from retrieval.llm.ollama import OllamaProvider
from retrieval.llm.openai import OpenAIProvider

from .llm_servers import MESSAGES, closed_port_url

OPTIONS = Options(question="Yıllık izin nasıl alınır?", language="tr", max_tokens=200, temperature=0.2, timeout=0.5)

# What each failing mode raises, unless a provider says otherwise: (message pattern, retryable).
FAILURES = {
    "rate_limited": (r"HTTP 429: Rate limit reached, slow down \(retry after 7 s\)", True),
    "server_error": ("HTTP 500", True),
    "unauthorized": ("HTTP 401", False),
    "malformed": ("malformed response", False),
    "wrong_shape": ("malformed response", False),
    "error_event": ("The model is overloaded", True),
    "truncated": ("ended before it was done", True),
}
QUIET = ("hang_before_headers", "hang_mid_stream")


@dataclass(frozen=True)
class Case:
    """One provider as these tests build it: the server protocol it speaks, how to point it
    at a URL with its key (a generous client timeout: the per-answer timeout in OPTIONS is the
    tighter one), and where its failures read differently from ``FAILURES``."""

    name: str
    build: Callable[[str, str], Provider]
    key: str = ""
    failures: dict[str, tuple[str, bool]] = field(default_factory=dict)

    def provider(self, url: str) -> Provider:
        return self.build(url, self.key)

    def expected(self, mode: str) -> tuple[str, bool]:
        return self.failures.get(mode, FAILURES[mode])


CASES = [
    Case(
        "openai",
        key="sk-test-4f9c2a7e",
        build=lambda url, key: OpenAIProvider(api_key=key, base_url=f"{url}/v1", timeout=5, max_retries=0),
    ),
    Case(
        "azure",
        key="az-test-8d1e5b3c",
        build=lambda url, key: AzureOpenAIProvider(
            endpoint=url, api_key=key, api_version="2024-10-21", deployment="chat-prod", timeout=5, max_retries=0
        ),
    ),
    Case(
        "gemini",
        key="AIza-test-6b2f9e1d",
        build=lambda url, key: GeminiProvider(api_key=key, base_url=url, timeout=5, max_retries=0),
    ),
    # Ollama sends no key; its error bodies are a bare string and name no retry delay.
    Case(
        "ollama",
        build=lambda url, key: OllamaProvider(base_url=url, timeout=5),
        failures={"rate_limited": ("HTTP 429", True), "server_error": ("HTTP 500: Internal error", True)},
    ),
    Case(
        "huggingface",
        key="hf_test3a7c0e9b",
        build=lambda url, key: HuggingFaceProvider(api_key=key, base_url=url, timeout=5),
        failures={"server_error": ("HTTP 500: Internal error", True)},
    ),
]


def cases_with(modes) -> list:
    return [pytest.param(case, mode, id=f"{case.name}-{mode}") for case in CASES for mode in modes]


@pytest.fixture
def serve(llm_server):
    """The provider's server answering in ``mode``."""

    def start(case: Case, mode: str):
        server = llm_server(case.name)
        server.mode = mode
        return server

    return start


@pytest.mark.parametrize(("case", "mode"), cases_with(FAILURES))
def test_each_failure_is_a_provider_error_without_the_key(serve, case, mode):
    server = serve(case, mode)
    message, retryable = case.expected(mode)
    with pytest.raises(ProviderError, match=message) as caught:
        list(case.provider(server.url).stream(MESSAGES, OPTIONS))
    assert caught.value.retryable is retryable
    assert caught.value.message.startswith(f"{case.name}: ")
    if case.key:
        assert case.key not in caught.value.message


@pytest.mark.parametrize(("case", "mode"), cases_with(QUIET))
def test_a_server_that_goes_quiet_times_out(serve, case, mode):
    server = serve(case, mode)
    started = time.monotonic()
    with pytest.raises(ProviderError, match="no response within 0.5 s") as caught:
        list(case.provider(server.url).stream(MESSAGES, OPTIONS))
    assert time.monotonic() - started < 2.5 and caught.value.retryable


@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in CASES])
def test_a_refused_connection_is_a_retryable_provider_error(case):
    with pytest.raises(ProviderError, match=f"{case.name}: cannot connect") as caught:
        list(case.provider(closed_port_url()).stream(MESSAGES, OPTIONS))
    assert caught.value.retryable
