"""Vectors that cost almost nothing to make, for timing the search machinery at a scale where
a real model would take days on two cores (``bench retrieval --documents``). A text's vector is
the normalised sum of fixed random vectors, one per hash bucket of its folded words (a hashed
bag of words): texts that share words are near, so the dense half of a hybrid search behaves
like a weak lexical model instead of noise. They carry no meaning and no language: never
configure this to answer anyone."""

from __future__ import annotations

import hashlib

import numpy as np

from ..text import fold
from .base import Embedder

BUCKETS = 4096


class SyntheticEmbedder(Embedder):
    languages = frozenset()

    def __init__(self, dim: int = 384) -> None:
        self.dim = int(dim)
        self.name = f"synthetic-{self.dim}"
        basis = np.random.default_rng(20261206).standard_normal((BUCKETS, self.dim), dtype=np.float32)
        self._basis = basis / np.linalg.norm(basis, axis=1, keepdims=True)

    @staticmethod
    def _bucket(token: str) -> int:
        return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "little") % BUCKETS

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            # Folded words rather than the search tokens: about ten times cheaper, and near enough.
            buckets = [self._bucket(word) for word in fold(text).split()] or [self._bucket(text)]
            vector = self._basis[buckets].sum(axis=0)
            vectors[row] = vector / max(float(np.linalg.norm(vector)), 1e-9)
        return vectors
