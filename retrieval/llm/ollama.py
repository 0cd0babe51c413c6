"""A local Ollama server over plain HTTP: ``POST /api/chat`` with ``stream: true``
answers one JSON object per line, the last one with ``done: true``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
from django.core.exceptions import ImproperlyConfigured

from .base import Options, Provider, ProviderError
from .http import malformed, post_lines, redact
from .tools import MAX_ROUNDS

DEFAULT_MODEL = "llama3.2"


class OllamaProvider(Provider):
    name = "ollama"

    def __init__(self, base_url: str = "http://127.0.0.1:11434", model: str = "", timeout: float = 30.0) -> None:
        if not base_url:
            raise ImproperlyConfigured("The ollama provider needs OLLAMA_BASE_URL.")
        self.model = model or DEFAULT_MODEL
        self.timeout = timeout
        self.url = base_url.rstrip("/") + "/api/chat"
        self.client = httpx2.Client(timeout=timeout)

    def stream(self, messages: list[dict], options: Options) -> Iterator[str]:
        """The answer's text as it streams. With ``options.tools`` Ollama may ask for
        them (``message.tool_calls``, arguments as an object); each result goes back
        as a ``tool`` message, for at most ``MAX_ROUNDS`` rounds."""
        messages = list(messages)
        tools = options.tools
        for round_ in range(MAX_ROUNDS + 1):
            offered = tools is not None and round_ < MAX_ROUNDS
            calls: list[dict] = []
            yield from self._round(messages, options, tools.specs if offered else None, calls)
            if not calls or not offered:
                return
            messages.append({"role": "assistant", "content": "", "tool_calls": [{"function": c} for c in calls]})
            for c in calls:
                messages.append({"role": "tool", "tool_name": c["name"], "content": tools.call(c["name"], c["arguments"])})

    def _round(self, messages: list[dict], options: Options, specs: list[dict] | None, calls: list[dict]) -> Iterator[str]:
        # This answer's own time budget may be tighter than the provider's.
        timeout = min(self.timeout, options.timeout)
        payload = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "options": {"num_predict": options.max_tokens, "temperature": options.temperature},
        }
        if specs:
            payload["tools"] = [{"type": "function", "function": spec} for spec in specs]
        for line in post_lines(self.client, self.url, provider=self.name, payload=payload, timeout=timeout):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError:
                raise malformed(self.name, "invalid JSON") from None
            if not isinstance(data, dict):
                raise malformed(self.name, "not an object")
            if "error" in data:
                raise ProviderError(f"{self.name}: {redact(str(data['error']))}", retryable=True)
            message = data.get("message", {})
            if not isinstance(message, dict) or not isinstance(message.get("content", ""), str):
                raise malformed(self.name, "no message content")
            for call in message.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict):
                    calls.append({"name": str(function.get("name") or ""), "arguments": function.get("arguments")})
            if message.get("content"):
                yield message["content"]
            if data.get("done"):
                return
        raise ProviderError(f"{self.name}: the answer ended before it was done", retryable=True)
