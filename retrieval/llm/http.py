"""What the network providers share: failures turned into a ``ProviderError``
with a short message that never carries the key, a streamed POST over httpx2 (the
HTTP client the SDKs here are built on) for the providers spoken to without an SDK,
and the reading of an OpenAI-style event stream (OpenAI, Azure, TGI)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

import httpx2

from .base import ProviderError

MAX_DETAIL = 200


def redact(text: str, secret: str = "") -> str:
    """One short line; servers sometimes echo the key back in an error message."""
    if secret:
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


def error_detail(body: object) -> str:
    """The human part of an error body: ``{"error": "..."}``, ``{"error": {"message": "..."}}``
    or ``{"message": "..."}``."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            return ""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, str):
            return inner
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
    return ""


def status_error(
    provider: str, status: int, detail: str = "", *, retry_after: str | None = None, secret: str = ""
) -> ProviderError:
    """Rate limits and server errors may pass; other client errors will not."""
    message = f"{provider}: HTTP {status}"
    if detail:
        message += f": {redact(detail, secret)}"
    if status == 429 and retry_after:
        message += f" (retry after {redact(retry_after)} s)"
    return ProviderError(message, retryable=status in (408, 429) or status >= 500)


def timeout_error(provider: str, timeout: float) -> ProviderError:
    return ProviderError(f"{provider}: no response within {timeout:g} s", retryable=True)


def connection_error(provider: str, exc: Exception) -> ProviderError:
    if isinstance(exc, httpx2.ConnectError):
        return ProviderError(f"{provider}: cannot connect", retryable=True)
    return ProviderError(f"{provider}: connection lost ({type(exc).__name__})", retryable=True)


def malformed(provider: str, what: str = "") -> ProviderError:
    return ProviderError(f"{provider}: malformed response" + (f" ({what})" if what else ""))


def post_lines(
    client: httpx2.Client,
    url: str,
    *,
    provider: str,
    payload: dict,
    timeout: float,
    headers: dict[str, str] | None = None,
    secret: str = "",
) -> Iterator[str]:
    """POST ``payload`` and yield the response's lines as they arrive. The timeout
    covers connecting and every wait for the next bytes, so a server that stops
    mid-answer fails after ``timeout`` seconds of silence."""
    try:
        with client.stream("POST", url, json=payload, headers=headers, timeout=timeout) as response:
            if response.status_code >= 400:
                response.read()
                raise status_error(
                    provider,
                    response.status_code,
                    error_detail(response.content),
                    retry_after=response.headers.get("retry-after"),
                    secret=secret,
                )
            yield from response.iter_lines()
    except httpx2.TimeoutException:
        raise timeout_error(provider, timeout) from None
    except httpx2.TransportError as exc:
        raise connection_error(provider, exc) from None


def stream_lines(lines: Iterable[str], *, provider: str, timeout: float) -> Iterator[str]:
    """``lines`` of a response being read, with a read that fails (the server went quiet for
    ``timeout`` seconds, or the connection broke) turned into a ``ProviderError``."""
    try:
        yield from lines
    except httpx2.TimeoutException:
        raise timeout_error(provider, timeout) from None
    except httpx2.TransportError as exc:
        raise connection_error(provider, exc) from None


def chat_stream(lines: Iterable[str], calls: dict[int, dict], *, provider: str, secret: str = "") -> Iterator[str]:
    """The text of an OpenAI-style chat completions event stream as it arrives; tool-call
    pieces are gathered into ``calls``. A stream that ends before ``[DONE]`` or a finish
    reason is a (retryable) ``ProviderError``.

    Read as plain JSON: building the SDK's typed chunk objects cost about 0.2 ms a token, the
    largest part of relaying one, and fifty answers at once stream over a thousand tokens a second.
    Blank lines end events; ``event:``, ``id:`` and ``:`` keep-alive lines carry no text."""
    finished = False
    for line in lines:
        if not line.startswith("data:"):
            continue
        raw = line[len("data:") :].strip()
        if raw == "[DONE]":
            return
        try:
            data = json.loads(raw)
        except ValueError:
            raise malformed(provider, "invalid JSON") from None
        if not isinstance(data, dict):
            raise malformed(provider, "not an object")
        if data.get("error"):
            raise ProviderError(f"{provider}: {redact(error_detail(data) or 'error event', secret)}", retryable=True)
        text, done = chat_delta(data, calls, provider=provider)
        finished = finished or done
        if text:
            yield text
    if not finished:
        # The connection closed cleanly but the model never said it had finished.
        raise ProviderError(f"{provider}: the answer ended before it was done", retryable=True)


def chat_delta(data: dict, calls: dict[int, dict], *, provider: str) -> tuple[str, bool]:
    """A chunk's text and whether it is the last one; tool-call pieces are gathered into
    ``calls`` (by index: names and arguments arrive in parts). Chunks without choices (usage,
    Azure's content filter results) carry neither."""
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise malformed(provider, "no choices")
    if not choices:
        return "", False
    choice = choices[0]
    delta = choice.get("delta") if isinstance(choice, dict) else None
    content = delta.get("content") if isinstance(delta, dict) else None
    if not isinstance(delta, dict) or content is not None and not isinstance(content, str):
        raise malformed(provider, "no delta")
    for piece in delta.get("tool_calls") or ():
        if isinstance(piece, dict):
            gather_tool_call(calls, index=piece.get("index") or 0, call_id=piece.get("id"), function=piece.get("function"))
    return content or "", bool(choice.get("finish_reason"))


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
