"""The OpenAI embedder through the official SDK against a local server speaking the embeddings API."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from retrieval.embeddings.base import EmbeddingError
from retrieval.embeddings.openai import OpenAIEmbedder

DIM = 8


class EmbeddingsHandler(BaseHTTPRequestHandler):
    mode = "ok"
    requests: list[dict] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if self.mode == "error":
            return self._send(500, {"error": {"message": "boom", "type": "server_error"}})
        if self.mode == "short":
            data = [{"object": "embedding", "index": 0, "embedding": [1.0] * (DIM - 1)}]
        else:
            # Deterministic vectors, returned out of order as the API allows.
            data = [
                {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0] + [0.0] * (DIM - 2)}
                for i, t in enumerate(body["input"])
            ][::-1]
        self._send(
            200, {"object": "list", "data": data, "model": body["model"], "usage": {"prompt_tokens": 1, "total_tokens": 1}}
        )

    def _send(self, status, payload):
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def server():
    EmbeddingsHandler.mode = "ok"
    EmbeddingsHandler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), EmbeddingsHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/v1"
    httpd.shutdown()


def embedder(base_url, **kwargs):
    return OpenAIEmbedder(
        model="text-embedding-3-small", dim=DIM, api_key="sk-test", base_url=base_url, timeout=5, max_retries=0, **kwargs
    )


def test_it_embeds_in_batches_in_input_order_and_normalises(server):
    vectors = embedder(server, batch_size=2).embed_documents(["a", "bbb", "cc"])
    assert vectors.shape == (3, DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    # Input order is kept although the server answered in reverse.
    assert vectors[1][0] > vectors[2][0] > vectors[0][0]
    assert [len(r["body"]["input"]) for r in EmbeddingsHandler.requests] == [2, 1]
    assert EmbeddingsHandler.requests[0]["path"] == "/v1/embeddings"
    assert EmbeddingsHandler.requests[0]["auth"] == "Bearer sk-test"


def test_a_server_error_is_an_embedding_error(server):
    EmbeddingsHandler.mode = "error"
    with pytest.raises(EmbeddingError, match="OpenAI embeddings failed"):
        embedder(server).embed_documents(["a"])


def test_vectors_of_the_wrong_size_are_refused(server):
    EmbeddingsHandler.mode = "short"
    with pytest.raises(EmbeddingError, match="expected 1 vectors of 8"):
        embedder(server).embed_documents(["a"])
