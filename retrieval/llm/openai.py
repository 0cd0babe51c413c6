"""OpenAI chat completions through the official SDK, streamed; also any server
that speaks the same API (``base_url``)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
from django.core.exceptions import ImproperlyConfigured

from .base import Options, Provider, ProviderError
from .http import connection_error, error_detail, malformed, redact, status_error, timeout_error
from .tools import openai_tool_rounds

DEFAULT_MODEL = "gpt-4o-mini"


class OpenAIProvider(Provider):
    name = "openai"

    def __init__(self, api_key: str = "", base_url: str = "", model: str = "", timeout: float = 30.0,
                 max_retries: int = 1) -> None:
        if not api_key and not base_url:
            raise ImproperlyConfigured(
                "The openai provider needs OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server).")
        self.model = model or DEFAULT_MODEL
        self.timeout = timeout
        self._secret = api_key
        # A compatible server may need no key, but the SDK refuses to start without one.
        self.client = openai.OpenAI(api_key=api_key or "none", base_url=base_url or None, timeout=timeout,
                                    max_retries=max_retries)

    def stream(self, messages: list[dict], options: Options) -> Iterator[str]:
        """The answer's text as it streams. With ``options.tools`` the model may call
        them: each call runs (as the asker) and its result goes back, for at most
        ``MAX_ROUNDS`` rounds; the last round offers no tools, so it must answer."""
        yield from openai_tool_rounds(messages, options, self._round)

    def _round(self, messages: list[dict], options: Options, specs: list[dict] | None,
               calls: dict[int, dict]) -> Iterator[str]:
        # This answer's own time budget may be tighter than the provider's.
        timeout = min(self.timeout, options.timeout)
        extra = {"tools": [{"type": "function", "function": spec} for spec in specs]} if specs else {}
        finished = False
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=messages, stream=True, max_tokens=options.max_tokens,
                temperature=options.temperature, timeout=timeout, **extra,
            )
            with response:
                for chunk in response:
                    text, done = self._delta(chunk, calls)
                    finished = finished or done
                    if text:
                        yield text
        except openai.APIStatusError as exc:
            raise status_error(self.name, exc.status_code, error_detail(exc.body),
                               retry_after=exc.response.headers.get("retry-after"), secret=self._secret) from None
        except openai.APITimeoutError:
            raise timeout_error(self.name, timeout) from None
        except openai.APIConnectionError as exc:
            raise connection_error(self.name, exc.__cause__ or exc) from None
        except openai.APIError as exc:
            # An error event inside an accepted stream.
            raise ProviderError(f"{self.name}: {redact(error_detail(exc.body) or exc.message, self._secret)}",
                                retryable=True) from None
        except ValueError:
            # Invalid JSON in an event (json.JSONDecodeError and pydantic's errors are ValueErrors).
            raise malformed(self.name) from None
        if not finished:
            # The connection closed cleanly but the model never said it had finished.
            raise ProviderError(f"{self.name}: the answer ended before it was done", retryable=True)

    def _delta(self, chunk, calls: dict[int, dict]) -> tuple[str, bool]:
        """The chunk's text and whether it is the last one; tool-call pieces are
        gathered into ``calls`` (by index: names and arguments arrive in parts).
        Chunks without choices (usage, Azure's content filter results) carry neither."""
        choices = getattr(chunk, "choices", None)
        if not isinstance(choices, list):
            raise malformed(self.name, "no choices")
        if not choices:
            return "", False
        delta = getattr(choices[0], "delta", None)
        content = getattr(delta, "content", None)
        if delta is None or content is not None and not isinstance(content, str):
            raise malformed(self.name, "no delta")
        for piece in getattr(delta, "tool_calls", None) or ():
            gather_tool_call(calls, index=getattr(piece, "index", 0) or 0, call_id=getattr(piece, "id", None),
                             function=getattr(piece, "function", None))
        return content or "", bool(getattr(choices[0], "finish_reason", None))


def gather_tool_call(calls: dict[int, dict], *, index: int, call_id, function) -> None:
    """Add one streamed piece of a tool call (OpenAI's and TGI's chunks) to ``calls``."""
    call = calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
    if call_id:
        call["id"] = str(call_id)
    name = function.get("name") if isinstance(function, dict) else getattr(function, "name", None)
    arguments = function.get("arguments") if isinstance(function, dict) else getattr(function, "arguments", None)
    if name:
        call["name"] = str(name)
    if isinstance(arguments, str):
        call["arguments"] += arguments
    elif isinstance(arguments, dict):
        call["arguments"] += json.dumps(arguments)
