"""Local HTTP servers that speak the LLM providers' wire protocols, so each provider
is tested through its real SDK and HTTP stack over 127.0.0.1.

``LLMServer(wire)`` answers every POST as ``wire`` would; set ``server.mode`` per test:

- ``ok``: the answer streamed in several chunks (``CHUNKS``);
- ``rate_limited`` (429 with ``Retry-After``), ``server_error`` (500), ``unauthorized`` (401
  whose message echoes the key, as real APIs do);
- ``hang_before_headers``, ``hang_mid_stream``: go quiet for ``hang_seconds`` (longer than any
  client timeout in the tests) before the status line or after the first chunk;
- ``malformed`` (a chunk that is not JSON), ``wrong_shape`` (JSON of the wrong shape),
  ``error_event`` (an error inside an accepted stream), ``truncated`` (the stream stops early);
- ``tool_call``: the model calls ``find_documents`` with ``server.tool_arguments`` (JSON text
  for the OpenAI-style wires, an object for Ollama and Gemini), streamed as that API does.

A list of modes answers one request each, the last one repeating. ``server.requests``
records what arrived: method, path with query, headers (lower-case names), JSON body and
when (``time.monotonic()``).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNKS = ("Yıllık izin ", "İK Portalı üzerinden ", "talep edilir [1].")
# A conversation as build_messages shapes it: rules, an earlier turn, the question with its sources.
MESSAGES = [
    {"role": "system", "content": "Answer only from the sources; cite them as [1]."},
    {"role": "user", "content": "Kervan projesini kim yönetiyor?"},
    {"role": "assistant", "content": "Kervan projesini Emre Şahin yönetiyor [1]."},
    {"role": "user", "content": 'Sources:\n[{"n": 1, "key": "PR1"}]\n\nQuestion: Yıllık izin nasıl alınır?'},
]
MODES = {
    "ok",
    "rate_limited",
    "server_error",
    "unauthorized",
    "hang_before_headers",
    "hang_mid_stream",
    "malformed",
    "wrong_shape",
    "error_event",
    "truncated",
    "tool_call",
}
KAFKA_QUERY = {"doc_type": "employee", "where": [{"field": "skills", "op": "has", "value": "Kafka"}]}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict
    at: float


def _sse(data: dict | str) -> bytes:
    return b"data: " + (data if isinstance(data, str) else json.dumps(data)).encode() + b"\n\n"


class Wire:
    """How one API frames a streamed answer and its errors."""

    content_type = "text/event-stream"
    # How many frames open the stream up to the first text; the failing modes send these first.
    opening = 1
    # The answer's pieces (``server.chunks`` sets them for one server).
    chunks: tuple[str, ...] = CHUNKS

    def frames(self, model: str) -> list[bytes]:
        raise NotImplementedError

    def malformed(self) -> bytes:
        return b'data: {"choices": [{"delta": {"content": "x"\n\n'

    def wrong_shape(self) -> bytes:
        return _sse({"choices": "nope"})

    def error_event(self) -> bytes:
        return _sse({"error": {"message": "The model is overloaded", "type": "server_error"}})

    def error_body(self, status: int, message: str) -> dict:
        return {"error": {"message": message, "type": "error", "code": None}}

    def tool_frames(self, model: str, arguments) -> list[bytes]:
        raise NotImplementedError


class OpenAIWire(Wire):
    opening = 2

    def chunk(self, model: str, delta: dict, finish: str | None = None) -> bytes:
        return _sse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 1700000000,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )

    def frames(self, model: str) -> list[bytes]:
        # The first chunk only names the role: an empty delta the provider must skip.
        return [
            self.chunk(model, {"role": "assistant", "content": ""}),
            *(self.chunk(model, {"content": text}) for text in self.chunks),
            self.chunk(model, {}, "stop"),
            _sse("[DONE]"),
        ]

    def tool_frames(self, model: str, arguments) -> list[bytes]:
        # The name first, then the arguments in two pieces, as the API streams them.
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        half = len(text) // 2
        first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "find_documents", "arguments": ""}}
        return [
            self.chunk(model, {"role": "assistant", "content": None, "tool_calls": [first]}),
            self.chunk(model, {"tool_calls": [{"index": 0, "function": {"arguments": text[:half]}}]}),
            self.chunk(model, {"tool_calls": [{"index": 0, "function": {"arguments": text[half:]}}]}),
            self.chunk(model, {}, "tool_calls"),
            _sse("[DONE]"),
        ]


class AzureWire(OpenAIWire):
    opening = 3

    def frames(self, model: str) -> list[bytes]:
        # Azure opens with the content filter's verdict on the prompt and no choices.
        filters = _sse({"choices": [], "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]})
        return [filters, *super().frames(model)]

    def tool_frames(self, model: str, arguments) -> list[bytes]:
        filters = _sse({"choices": [], "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]})
        return [filters, *super().tool_frames(model, arguments)]


class GeminiWire(Wire):
    def chunk(self, model: str, text: str, finish: str | None = None) -> bytes:
        candidate = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return _sse({"candidates": [candidate], "modelVersion": model, "responseId": "r1"})

    def frames(self, model: str) -> list[bytes]:
        *first, last = self.chunks
        return [*(self.chunk(model, text) for text in first), self.chunk(model, last, "STOP")]

    def tool_frames(self, model: str, arguments) -> list[bytes]:
        args = json.loads(arguments) if isinstance(arguments, str) else arguments
        candidate = {
            "content": {"parts": [{"functionCall": {"name": "find_documents", "args": args}}], "role": "model"},
            "finishReason": "STOP",
            "index": 0,
        }
        return [_sse({"candidates": [candidate], "modelVersion": model, "responseId": "r1"})]

    def malformed(self) -> bytes:
        return b'data: {"candidates": [{"content": \n\n'

    def wrong_shape(self) -> bytes:
        return _sse({"candidates": [{"content": {"parts": "nope"}}]})

    def error_event(self) -> bytes:
        return _sse({"error": {"code": 500, "message": "The model is overloaded", "status": "INTERNAL"}})

    def error_body(self, status: int, message: str) -> dict:
        names = {429: "RESOURCE_EXHAUSTED", 401: "UNAUTHENTICATED", 500: "INTERNAL"}
        return {"error": {"code": status, "message": message, "status": names.get(status, "UNKNOWN")}}


class OllamaWire(Wire):
    content_type = "application/x-ndjson"

    def line(self, data: dict) -> bytes:
        return json.dumps(data).encode() + b"\n"

    def frames(self, model: str) -> list[bytes]:
        chunks = [
            self.line(
                {
                    "model": model,
                    "created_at": "2025-01-01T00:00:00Z",
                    "message": {"role": "assistant", "content": text},
                    "done": False,
                }
            )
            for text in self.chunks
        ]
        done = self.line(
            {
                "model": model,
                "created_at": "2025-01-01T00:00:01Z",
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "stop",
                "total_duration": 1,
                "eval_count": 3,
            }
        )
        return [*chunks, done]

    def tool_frames(self, model: str, arguments) -> list[bytes]:
        args = json.loads(arguments) if isinstance(arguments, str) else arguments
        call = self.line(
            {
                "model": model,
                "created_at": "2025-01-01T00:00:00Z",
                "done": False,
                "message": {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"function": {"name": "find_documents", "arguments": args}}],
                },
            }
        )
        done = self.line(
            {
                "model": model,
                "created_at": "2025-01-01T00:00:01Z",
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "stop",
            }
        )
        return [call, done]

    def malformed(self) -> bytes:
        return b'{"message": {"content": "x"\n'

    def wrong_shape(self) -> bytes:
        return self.line({"message": "nope", "done": False})

    def error_event(self) -> bytes:
        return self.line({"error": "The model is overloaded"})

    def error_body(self, status: int, message: str) -> dict:
        return {"error": message}


class TGIWire(OpenAIWire):
    """Text Generation Inference's Messages API: OpenAI's chunks, its own error bodies."""

    def error_event(self) -> bytes:
        return _sse({"error": "The model is overloaded", "error_type": "generation"})

    def error_body(self, status: int, message: str) -> dict:
        return {"error": message, "error_type": "overloaded" if status >= 500 else "validation"}


WIRES = {"openai": OpenAIWire, "azure": AzureWire, "gemini": GeminiWire, "ollama": OllamaWire, "huggingface": TGIWire}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; without this each small response waits on delayed ACKs.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        owner = self.server.owner
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        received = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
        owner.requests.append(received)
        mode = owner.next_mode()
        wire = owner.wire
        model = body.get("model", "") if isinstance(body, dict) else ""
        if mode == "rate_limited":
            return self._error(429, "Rate limit reached, slow down", {"Retry-After": "7"})
        if mode == "server_error":
            return self._error(500, "Internal error")
        if mode == "unauthorized":
            key = (
                received.headers.get("authorization", "").removeprefix("Bearer ")
                or received.headers.get("api-key")
                or received.headers.get("x-goog-api-key", "")
            )
            return self._error(401, f"Incorrect API key provided: {key}")
        if mode == "hang_before_headers":
            owner.stopping.wait(owner.hang_seconds)
            return self._error(500, "too late")
        frames = wire.tool_frames(model, owner.tool_arguments) if mode == "tool_call" else wire.frames(model)
        self.send_response(200)
        self.send_header("Content-Type", wire.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        opening = frames[: wire.opening]
        if mode == "hang_mid_stream":
            frames = [*opening, None]
        elif mode in ("malformed", "wrong_shape", "error_event"):
            frames = [*opening, getattr(wire, mode)()]
        elif mode == "truncated":
            frames = opening
        for frame in frames:
            if frame is None:
                owner.stopping.wait(owner.hang_seconds)
                return
            self._chunk(frame)
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(self.server.owner.wire.error_body(status, message)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LLMServer

    def handle_error(self, request, client_address) -> None:
        # A client that gave up on a hanging answer has closed the socket: expected here.
        pass


class LLMServer:
    def __init__(self, wire: str, *, hang_seconds: float = 10.0) -> None:
        self.wire = WIRES[wire]()
        self.hang_seconds = hang_seconds
        self.requests: list[Received] = []
        self.tool_arguments: dict | str = KAFKA_QUERY
        self.stopping = threading.Event()
        self._modes: list[str] = ["ok"]
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"

    @property
    def mode(self) -> str | list[str]:
        return self._modes[0] if len(self._modes) == 1 else list(self._modes)

    @mode.setter
    def mode(self, value: str | list[str]) -> None:
        modes = [value] if isinstance(value, str) else list(value)
        unknown = set(modes) - MODES
        assert modes and not unknown, f"unknown modes {unknown}"
        with self._lock:
            self._modes = modes

    def next_mode(self) -> str:
        with self._lock:
            return self._modes.pop(0) if len(self._modes) > 1 else self._modes[0]

    def start(self) -> LLMServer:
        # A short poll interval: shutdown() waits for it at the end of every test.
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        # Wake any handler that is hanging on purpose, so nothing outlives the test.
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def closed_port_url() -> str:
    """A URL on which nothing listens: connection refused."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
