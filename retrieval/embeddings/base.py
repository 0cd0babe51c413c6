from __future__ import annotations

import numpy as np


class EmbeddingError(Exception):
    """The embedder could not produce vectors (a provider down, a bad answer)."""


class Embedder:
    """Turns text into unit-length float32 vectors; cosine similarity is then a dot product.

    ``name`` identifies the model (the index records it and refuses vectors of
    another), ``dim`` is the vector size."""

    name: str = ""
    dim: int = 0

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    @staticmethod
    def normalize(vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
