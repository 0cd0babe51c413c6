"""OpenAI chat completions through the official SDK, streamed; also any server
that speaks the same API (``base_url``)."""

from __future__ import annotations

from collections.abc import Iterator

import openai
from django.core.exceptions import ImproperlyConfigured

from .base import Options, Provider
from .http import (
    chat_stream,
    connection_error,
    error_detail,
    status_error,
    stream_lines,
    timeout_error,
)
from .tools import openai_tool_rounds

DEFAULT_MODEL = "gpt-4o-mini"


class OpenAIProvider(Provider):
    name = "openai"

    def __init__(
        self, api_key: str = "", base_url: str = "", model: str = "", timeout: float = 30.0, max_retries: int = 1
    ) -> None:
        if not api_key and not base_url:
            raise ImproperlyConfigured("The openai provider needs OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server).")
        self.model = model or DEFAULT_MODEL
        self.timeout = timeout
        self._secret = api_key
        # A compatible server may need no key, but the SDK refuses to start without one.
        self.client = openai.OpenAI(
            api_key=api_key or "none", base_url=base_url or None, timeout=timeout, max_retries=max_retries
        )

    def stream(self, messages: list[dict], options: Options) -> Iterator[str]:
        """The answer's text as it streams. With ``options.tools`` the model may call
        them: each call runs (as the asker) and its result goes back, for at most
        ``MAX_ROUNDS`` rounds; the last round offers no tools, so it must answer."""
        yield from openai_tool_rounds(messages, options, self._round)

    def _round(self, messages: list[dict], options: Options, specs: list[dict] | None, calls: dict[int, dict]) -> Iterator[str]:
        # This answer's own time budget may be tighter than the provider's.
        timeout = min(self.timeout, options.timeout)
        extra = {"tools": [{"type": "function", "function": spec} for spec in specs]} if specs else {}
        try:
            # The SDK sends the request (key, retries, status errors); the event stream is read as
            # plain JSON (``http.chat_stream``), not built into the SDK's typed chunks.
            with self.client.chat.completions.with_streaming_response.create(
                model=self.model,
                messages=messages,
                stream=True,
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                timeout=timeout,
                **extra,
            ) as response:
                lines = stream_lines(response.iter_lines(), provider=self.name, timeout=timeout)
                yield from chat_stream(lines, calls, provider=self.name, secret=self._secret)
        except openai.APIStatusError as exc:
            raise status_error(
                self.name,
                exc.status_code,
                error_detail(exc.body),
                retry_after=exc.response.headers.get("retry-after"),
                secret=self._secret,
            ) from None
        except openai.APITimeoutError:
            raise timeout_error(self.name, timeout) from None
        except openai.APIConnectionError as exc:
            raise connection_error(self.name, exc.__cause__ or exc) from None
