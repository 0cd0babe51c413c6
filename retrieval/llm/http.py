"""What the network providers share: failures turned into a ``ProviderError``
with a short message that never carries the key, and a streamed POST over
httpx2 (the HTTP client the SDKs here are built on) for the providers spoken
to without an SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2

from .base import ProviderError

MAX_DETAIL = 200


def redact(text: str, secret: str = "") -> str:
    """One short line; servers sometimes echo the key back in an error message."""
    if secret:
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL - 1] + "…"


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


def status_error(provider: str, status: int, detail: str = "", *, retry_after: str | None = None,
                 secret: str = "") -> ProviderError:
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


def post_lines(client: httpx2.Client, url: str, *, provider: str, payload: dict, timeout: float,
               headers: dict[str, str] | None = None, secret: str = "") -> Iterator[str]:
    """POST ``payload`` and yield the response's lines as they arrive. The timeout
    covers connecting and every wait for the next bytes, so a server that stops
    mid-answer fails after ``timeout`` seconds of silence."""
    try:
        with client.stream("POST", url, json=payload, headers=headers, timeout=timeout) as response:
            if response.status_code >= 400:
                response.read()
                raise status_error(provider, response.status_code, error_detail(response.content),
                                   retry_after=response.headers.get("retry-after"), secret=secret)
            yield from response.iter_lines()
    except httpx2.TimeoutException:
        raise timeout_error(provider, timeout) from None
    except httpx2.TransportError as exc:
        raise connection_error(provider, exc) from None
