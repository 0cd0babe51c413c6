"""A slow model on 127.0.0.1 that speaks the OpenAI chat-completions wire protocol, for
``bench chat --provider openai`` and the concurrency tests: the chat timed against a model
that takes seconds, as a real one does, with nothing leaving the machine.

Every ``POST …/chat/completions`` is answered as a stream (``stream: true``): after
``first_token_seconds``, ``tokens`` chunks at ``tokens_per_second``, then ``[DONE]``. It counts
what a bench wants to know: requests, streams open now and at most, and streams the client
closed before the end (a stopped answer reaching the model).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WORDS = ("Yanıt ", "belgelere ", "göre ", "şöyledir ", "[1]. ")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        model = self.server.model
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        model.opened()
        finished = False
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            if model.stopping.wait(model.first_token_seconds):
                return
            name = body.get("model", "slow-model")
            for n in range(model.tokens):
                if n and model.stopping.wait(1 / model.tokens_per_second):
                    return
                chunk = {"id": "chatcmpl-slow", "object": "chat.completion.chunk", "created": int(time.time()),
                         "model": name, "choices": [{"index": 0, "delta": {"content": model.token_text or WORDS[n % len(WORDS)]},
                                                     "finish_reason": None}]}
                self._chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            end = {"id": "chatcmpl-slow", "object": "chat.completion.chunk", "created": int(time.time()),
                   "model": name, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            self._chunk(b"data: " + json.dumps(end).encode() + b"\n\ndata: [DONE]\n\n")
            self._chunk(b"")
            finished = True
        except OSError:
            pass  # the client closed the stream: counted below
        finally:
            if not finished:
                # Stopped mid-answer (the client went, or the model is shutting down): end the
                # connection too, so no client waits on it for more.
                self.close_connection = True
            model.closed(finished=finished)

    def do_GET(self) -> None:
        raw = json.dumps({"object": "list", "data": [{"id": "slow-model", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    model: SlowModel

    def handle_error(self, request, client_address) -> None:
        pass


class SlowModel:
    """``with SlowModel(first_token_seconds=0.8, tokens_per_second=25, tokens=60) as model:``;
    ``model.base_url`` is what ``OPENAI_BASE_URL`` should be."""

    def __init__(self, *, first_token_seconds: float = 0.8, tokens_per_second: float = 25.0, tokens: int = 60,
                 token_text: str = "") -> None:
        self.first_token_seconds = first_token_seconds
        # Each chunk's text; by default a word of an ordinary answer.
        self.token_text = token_text
        self.tokens_per_second = tokens_per_second
        self.tokens = tokens
        self.stopping = threading.Event()
        self.requests = 0
        self.open_streams = 0
        self.most_open = 0
        self.completed = 0
        self.closed_early = 0
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.model = self
        self.base_url = f"http://127.0.0.1:{self._httpd.server_port}/v1"

    @property
    def answer_seconds(self) -> float:
        """One answer's time at this pace: the ideal for any number of answers in parallel."""
        return self.first_token_seconds + (self.tokens - 1) / self.tokens_per_second

    def opened(self) -> None:
        with self._lock:
            self.requests += 1
            self.open_streams += 1
            self.most_open = max(self.most_open, self.open_streams)

    def closed(self, *, finished: bool) -> None:
        with self._lock:
            self.open_streams -= 1
            if finished:
                self.completed += 1
            else:
                self.closed_early += 1

    def __enter__(self) -> SlowModel:
        threading.Thread(target=self._httpd.serve_forever, name="slow-model", daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
