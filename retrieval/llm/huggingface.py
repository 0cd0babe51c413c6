"""Hugging Face: the hosted Inference API router or a Text Generation Inference
server, through their OpenAI-compatible Messages API (``POST /v1/chat/completions``,
Server-Sent Events ending with ``data: [DONE]``).

Plain HTTP rather than ``huggingface_hub.InferenceClient``: that client sends
through the hub's shared session, which refuses every request while
``HF_HUB_OFFLINE`` is set, and the settings set it so the local models never
reach for the Hub."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
from django.core.exceptions import ImproperlyConfigured

from .base import Options, Provider
from .http import chat_stream, post_lines
from .tools import openai_tool_rounds

DEFAULT_BASE_URL = "https://router.huggingface.co"
DEFAULT_MODEL = "meta-llama/Llama-3.1-8B-Instruct"


class HuggingFaceProvider(Provider):
    name = "huggingface"

    def __init__(self, api_key: str = "", base_url: str = "", model: str = "", timeout: float = 30.0) -> None:
        if not api_key and not base_url:
            raise ImproperlyConfigured(
                "The huggingface provider needs HUGGINGFACE_API_KEY (or HUGGINGFACE_BASE_URL for your own server)."
            )
        self.model = model or DEFAULT_MODEL
        self.timeout = timeout
        self._secret = api_key
        base = (base_url or DEFAULT_BASE_URL).rstrip("/")
        # Accept the base with or without the /v1 that OpenAI-style clients expect.
        self.url = base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx2.Client(timeout=timeout)

    def stream(self, messages: list[dict], options: Options) -> Iterator[str]:
        """As the OpenAI provider: TGI's Messages API takes the same ``tools`` and
        streams tool calls the same way."""
        yield from openai_tool_rounds(messages, options, self._round)

    def _round(self, messages: list[dict], options: Options, specs: list[dict] | None, calls: dict[int, dict]) -> Iterator[str]:
        # This answer's own time budget may be tighter than the provider's.
        timeout = min(self.timeout, options.timeout)
        payload = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
        }
        if specs:
            payload["tools"] = [{"type": "function", "function": spec} for spec in specs]
        lines = post_lines(
            self.client, self.url, provider=self.name, payload=payload, timeout=timeout, headers=self.headers, secret=self._secret
        )
        yield from chat_stream(lines, calls, provider=self.name, secret=self._secret)
