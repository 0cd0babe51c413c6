from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

# Recent query vectors. A chat question is embedded by the search and again by the
# answerer, and a repeated question (the answer cache's case) by both once more.
# Entries belong to whoever asked (``owner``): a hit is quicker than a miss, so a shared
# entry would tell one user, by the time an answer takes, what another had asked.
QUERY_CACHE_SIZE = 1024


class EmbeddingError(Exception):
    """The embedder could not produce vectors (a provider down, a bad answer)."""


class Embedder:
    """Turns text into unit-length float32 vectors; cosine similarity is then a dot product.

    ``name`` identifies the model (the index records it and refuses vectors of
    another), ``dim`` is the vector size."""

    name: str = ""
    dim: int = 0
    # The languages whose meaning the model's vectors carry (None: many, Turkish and English
    # among them). A caller weighs similarity only for these.
    languages: frozenset[str] | None = None
    # Typical cosine of a question and an unrelated text, and of near-identical texts: models
    # differ (MiniLM: about 0 for unrelated English text; e5: about 0.75), so thresholds are
    # set on ``relatedness``, which maps the one to 0 and the other to 1.
    unrelated: float = 0.0
    identical: float = 1.0
    # BM25's share of the hybrid score with this model, by question and passage language
    # (None: ``retrieval.engine.DEFAULT_BM25_WEIGHT``, measured with multilingual-e5-small).
    bm25_weight: dict[str, dict[str, float]] | None = None

    def load(self) -> None:
        """Load the model now rather than at the first text (a web process does so at start)."""

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Vectors of search queries; the same as documents' unless the model embeds the two
        differently (e5's "query: " and "passage: " prefixes)."""
        return self.embed_documents(texts)

    def embed_query(self, text: str, *, owner: object = None) -> np.ndarray:
        """The vector of a query, from ``owner``'s recent queries when it is one of them
        (the user's id; None for callers that ask on nobody's behalf)."""
        cache, lock = self._query_cache()
        key = (owner, text)
        with lock:
            vector = cache.get(key)
            if vector is not None:
                cache.move_to_end(key)
        if vector is None:
            vector = self.embed_queries([text])[0]
            with lock:
                cache[key] = vector
                if len(cache) > QUERY_CACHE_SIZE:
                    cache.popitem(last=False)
        # A copy: a caller that changes its vector must not change the next caller's.
        return vector.copy()

    def _query_cache(self) -> tuple[OrderedDict[tuple[object, str], np.ndarray], threading.Lock]:
        # Made on first use, so a subclass's ``__init__`` need not call this one's.
        if "_queries" not in self.__dict__:
            self._queries = (OrderedDict(), threading.Lock())
        return self._queries

    def understands(self, language: str) -> bool:
        return self.languages is None or language in self.languages

    def relatedness(self, cosine: float) -> float:
        """``cosine`` on this model's own scale, mapped onto 0 (unrelated) … 1 (the same)."""
        span = self.identical - self.unrelated
        return min(1.0, max(0.0, (cosine - self.unrelated) / span)) if span > 0 else cosine

    @staticmethod
    def normalize(vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


class OnnxEmbedder(Embedder):
    """An embedder that runs an ONNX graph on the CPU: loaded once (thread-safe), texts
    embedded in batches of similar length. Subclasses load their model in ``_load`` (setting
    ``_session``) and turn a batch of texts into vectors in ``_run``."""

    batch_size: int = 32
    threads: int = 1

    def _load(self) -> None:
        raise NotImplementedError

    def _run(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def load(self) -> None:
        if self.__dict__.get("_session") is None:
            with self._load_lock():
                if self.__dict__.get("_session") is None:
                    self._load()

    def _load_lock(self) -> threading.Lock:
        return self.__dict__.setdefault("_loading", threading.Lock())

    def session(self, path) -> object:
        """An ONNX Runtime session for the graph at ``path``, on this embedder's threads."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # ONNX Runtime's threads busy-wait for work by default; in a web process they would burn
        # the CPU that the other requests (and the other processes on the machine) need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def embed_batched(self, texts: list[str]) -> np.ndarray:
        self.load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Sorting by length keeps padding small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            out[batch] = self._run([texts[i] for i in batch])
        return out
