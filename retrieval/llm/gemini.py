"""Google Gemini through the google-genai SDK, streamed (``:streamGenerateContent?alt=sse``).
The system message becomes the system instruction; earlier turns are ``user`` and
``model`` contents."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx2
from django.core.exceptions import ImproperlyConfigured
from google import genai
from google.genai import errors, types

from .base import Options, Provider, ProviderError
from .http import connection_error, malformed, redact, status_error, timeout_error
from .tools import MAX_ROUNDS

DEFAULT_MODEL = "gemini-2.0-flash"


class GeminiProvider(Provider):
    name = "gemini"

    def __init__(
        self, api_key: str = "", base_url: str = "", model: str = "", timeout: float = 30.0, max_retries: int = 1
    ) -> None:
        if not api_key:
            raise ImproperlyConfigured("The gemini provider needs GEMINI_API_KEY.")
        self.model = model or DEFAULT_MODEL
        self.timeout = timeout
        self._secret = api_key
        # Without retry options the SDK never retries; with them it defaults to five
        # attempts and waits of up to a minute, too long for someone waiting for an answer.
        retry = types.HttpRetryOptions(attempts=1 + max_retries, initial_delay=0.5, max_delay=2.0) if max_retries else None
        self.client = genai.Client(
            api_key=api_key,
            http_options=types.HttpOptions(base_url=base_url or None, timeout=_milliseconds(timeout), retry_options=retry),
        )

    def stream(self, messages: list[dict], options: Options) -> Iterator[str]:
        """The answer's text as it streams. With ``options.tools`` Gemini may call
        them (function calls); each result goes back as a function response, for at
        most ``MAX_ROUNDS`` rounds; the last round offers no tools."""
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        contents = [
            types.Content(role="model" if m["role"] == "assistant" else "user", parts=[types.Part(text=m["content"])])
            for m in messages
            if m["role"] != "system"
        ]
        tools = options.tools
        for round_ in range(MAX_ROUNDS + 1):
            offered = tools is not None and round_ < MAX_ROUNDS
            calls: list[types.FunctionCall] = []
            yield from self._round(contents, system, options, tools.specs if offered else None, calls)
            if not calls or not offered:
                return
            contents.append(types.Content(role="model", parts=[types.Part(function_call=c) for c in calls]))
            contents.append(
                types.Content(
                    role="user",
                    parts=[
                        types.Part.from_function_response(
                            name=c.name or "", response={"result": json.loads(tools.call(c.name or "", dict(c.args or {})))}
                        )
                        for c in calls
                    ],
                )
            )

    def _round(self, contents: list, system: str, options: Options, specs: list[dict] | None, calls: list) -> Iterator[str]:
        # This answer's own time budget may be tighter than the provider's.
        timeout = min(self.timeout, options.timeout)
        declared = (
            [
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(
                            name=spec["name"], description=spec["description"], parameters_json_schema=spec["parameters"]
                        )
                        for spec in specs
                    ]
                )
            ]
            if specs
            else None
        )
        config = types.GenerateContentConfig(
            system_instruction=system or None,
            max_output_tokens=options.max_tokens,
            temperature=options.temperature,
            http_options=types.HttpOptions(timeout=_milliseconds(timeout)),
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            tools=declared,
        )
        finished = False
        try:
            for chunk in self.client.models.generate_content_stream(model=self.model, contents=contents, config=config):
                text, done = self._delta(chunk, calls)
                finished = finished or done
                if text:
                    yield text
        except errors.APIError as exc:
            headers = getattr(exc.response, "headers", None) or {}
            retry_after = headers.get("retry-after")
            raise status_error(
                self.name, int(exc.code or 500), exc.message or "", retry_after=retry_after, secret=self._secret
            ) from None
        except httpx2.TimeoutException:
            raise timeout_error(self.name, timeout) from None
        except httpx2.TransportError as exc:
            raise connection_error(self.name, exc) from None
        except (ValueError, TypeError, AttributeError):
            # errors.UnknownApiResponseError (invalid JSON) and pydantic's validation errors
            # are ValueErrors; a JSON value of the wrong kind fails inside the SDK.
            raise malformed(self.name) from None
        if not finished:
            # The connection closed cleanly but the model never gave a finish reason.
            raise ProviderError(f"{self.name}: the answer ended before it was done", retryable=True)

    def _delta(self, chunk: types.GenerateContentResponse, calls: list) -> tuple[str, bool]:
        """The chunk's text and whether it is the last one; function calls go to ``calls``."""
        if not chunk.candidates:
            feedback = chunk.prompt_feedback
            if feedback is not None and feedback.block_reason is not None:
                reason = redact(str(getattr(feedback.block_reason, "value", feedback.block_reason)))
                raise ProviderError(f"{self.name}: the prompt was blocked ({reason})")
            return "", False
        candidate = chunk.candidates[0]
        parts = candidate.content.parts if candidate.content is not None else None
        calls.extend(part.function_call for part in parts or () if part.function_call is not None)
        text = "".join(part.text for part in parts or () if part.text and not part.thought)
        return text, candidate.finish_reason is not None


def _milliseconds(seconds: float) -> int:
    return max(1, round(seconds * 1000))
