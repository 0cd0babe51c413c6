"""A slow model on 127.0.0.1 that speaks the OpenAI chat-completions wire protocol, for
``bench chat --provider openai`` and the concurrency tests: the chat timed against a model
that takes seconds, as a real one does, with nothing leaving the machine.

Every ``POST …/chat/completions`` is answered as a stream (``stream: true``): after
``first_token_seconds``, ``tokens`` chunks at ``tokens_per_second`` (on a fixed schedule, so the
pace does not drift with the machine's load), then ``[DONE]``; with ``stall_after`` it goes quiet
after that many chunks, keeping the connection open. It counts what a bench wants to know:
requests, streams open now and at most, and streams the client closed before the end (a stopped
answer reaching the model); ``GET …/stats`` returns the same counts as JSON.

``SlowModel`` serves from a thread of the calling process (tests); ``SlowModelProcess`` from a
process of its own (``python -m chatcore.benchmarks.slowmodel``), so a bench's clients and its model do
not share one interpreter lock and disturb each other's timing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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
            started = time.monotonic()
            if model.stopping.wait(model.first_token_seconds):
                return
            name = body.get("model", "slow-model")
            for n in range(model.tokens):
                if model.stall_after is not None and n == model.stall_after:
                    model.stopping.wait()  # quiet, the connection held open, until the model stops
                    return
                due = started + model.first_token_seconds + n / model.tokens_per_second
                if n and model.stopping.wait(max(0.0, due - time.monotonic())):
                    return
                chunk = {
                    "id": "chatcmpl-slow",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": name,
                    "choices": [
                        {"index": 0, "delta": {"content": model.token_text or WORDS[n % len(WORDS)]}, "finish_reason": None}
                    ],
                }
                self._chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            end = {
                "id": "chatcmpl-slow",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": name,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            }
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
        if self.path.rstrip("/").endswith("/stats"):
            raw = json.dumps(self.server.model.stats()).encode()
        else:
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

    def __init__(
        self,
        *,
        first_token_seconds: float = 0.8,
        tokens_per_second: float = 25.0,
        tokens: int = 60,
        token_text: str = "",
        stall_after: int | None = None,
        port: int = 0,
    ) -> None:
        self.first_token_seconds = first_token_seconds
        self.stall_after = stall_after
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
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.model = self
        self.base_url = f"http://127.0.0.1:{self._httpd.server_port}/v1"

    @property
    def answer_seconds(self) -> float:
        """One answer's time at this pace: the ideal for any number of answers in parallel."""
        return self.first_token_seconds + (self.tokens - 1) / self.tokens_per_second

    def stats(self) -> dict:
        with self._lock:
            return {
                "requests": self.requests,
                "open_streams": self.open_streams,
                "most_open": self.most_open,
                "completed": self.completed,
                "closed_early": self.closed_early,
            }

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


class SlowModelProcess:
    """A ``SlowModel`` in a process of its own; the same counts, read from its ``/stats``.

    ``with SlowModelProcess(first_token_seconds=0.8, tokens_per_second=25, tokens=60) as model:``"""

    START_SECONDS = 30

    def __init__(
        self,
        *,
        first_token_seconds: float = 0.8,
        tokens_per_second: float = 25.0,
        tokens: int = 60,
        token_text: str = "",
        stall_after: int | None = None,
    ) -> None:
        self.first_token_seconds = first_token_seconds
        self.tokens_per_second = tokens_per_second
        self.tokens = tokens
        self._args = [
            "--first-token-seconds",
            repr(first_token_seconds),
            "--tokens-per-second",
            repr(tokens_per_second),
            "--tokens",
            str(tokens),
            "--token-text",
            token_text,
        ]
        if stall_after is not None:
            self._args += ["--stall-after", str(stall_after)]
        self.process: subprocess.Popen | None = None
        self.base_url = ""

    answer_seconds = SlowModel.answer_seconds

    def __enter__(self) -> SlowModelProcess:
        root = Path(__file__).resolve().parents[2]  # the project: chatcore/benchmarks/slowmodel.py
        self.process = subprocess.Popen(  # noqa: S603 - this Python, this module
            [sys.executable, "-m", "chatcore.benchmarks.slowmodel", *self._args],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline().strip()
        if not line.startswith("http://"):
            self.__exit__(None, None, None)
            raise RuntimeError(f"the slow model did not start (it said {line!r})")
        self.base_url = line
        return self

    def __exit__(self, *exc_info) -> None:
        if self.process is None:
            return
        # Closing its standard input tells it to stop; it ends every stream it holds.
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process = None

    def stats(self) -> dict:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(  # noqa: S310 - http://127.0.0.1
            f"{self.base_url}/stats", timeout=10
        ) as response:
            return json.loads(response.read())

    @property
    def open_streams(self) -> int:
        return self.stats()["open_streams"]

    @property
    def closed_early(self) -> int:
        return self.stats()["closed_early"]

    @property
    def most_open(self) -> int:
        return self.stats()["most_open"]

    @property
    def completed(self) -> int:
        return self.stats()["completed"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m chatcore.benchmarks.slowmodel", description=__doc__.split("\n\n")[0])
    parser.add_argument("--first-token-seconds", type=float, default=0.8)
    parser.add_argument("--tokens-per-second", type=float, default=25.0)
    parser.add_argument("--tokens", type=int, default=60)
    parser.add_argument("--token-text", default="")
    parser.add_argument("--stall-after", type=int, default=None)
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args(argv)
    with SlowModel(
        first_token_seconds=options.first_token_seconds,
        tokens_per_second=options.tokens_per_second,
        tokens=options.tokens,
        token_text=options.token_text,
        stall_after=options.stall_after,
        port=options.port,
    ) as model:
        print(model.base_url, flush=True)
        # Serves until its standard input closes (the parent is done, or gone).
        sys.stdin.read()


if __name__ == "__main__":
    main()
