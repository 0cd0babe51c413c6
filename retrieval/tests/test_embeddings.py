from __future__ import annotations

import numpy as np

from retrieval.embeddings import base
from retrieval.embeddings.base import Embedder


class Counting(Embedder):
    name = "counting"
    dim = 2

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_a_repeated_query_is_embedded_once():
    embedder = Counting()
    first = embedder.embed_query("yıllık izin")
    again = embedder.embed_query("yıllık izin")
    assert embedder.embedded == ["yıllık izin"]
    assert np.array_equal(first, again)


def test_each_caller_gets_its_own_vector():
    embedder = Counting()
    embedder.embed_query("izin")[0] = 99
    assert embedder.embed_query("izin")[0] == 4


def test_the_cache_forgets_the_least_recently_asked(monkeypatch):
    monkeypatch.setattr(base, "QUERY_CACHE_SIZE", 2)
    embedder = Counting()
    for query in ["a", "b", "a", "c", "a", "b"]:
        embedder.embed_query(query)
    # "b" was the least recently asked when "c" arrived.
    assert embedder.embedded == ["a", "b", "c", "b"]


def test_documents_are_never_taken_from_the_query_cache():
    embedder = Counting()
    embedder.embed_query("izin")
    embedder.embed_documents(["izin"])
    assert embedder.embedded == ["izin", "izin"]
