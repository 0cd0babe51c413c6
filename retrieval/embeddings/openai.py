"""Embeddings through the official OpenAI SDK (or any server speaking its API)."""

from __future__ import annotations

import numpy as np

from .base import Embedder, EmbeddingError


class OpenAIEmbedder(Embedder):
    def __init__(
        self,
        model: str = "text-embedding-3-small",
        dim: int = 1536,
        api_key: str = "",
        base_url: str = "",
        timeout: float = 30.0,
        batch_size: int = 128,
        max_retries: int = 2,
    ) -> None:
        import openai

        self.name = f"openai:{model}"
        self.model = model
        self.dim = dim
        self.batch_size = batch_size
        self._errors = (openai.OpenAIError,)
        self.client = openai.OpenAI(
            api_key=api_key or "missing-key", base_url=base_url or None, timeout=timeout, max_retries=max_retries
        )

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        vectors = []
        for start in range(0, len(texts), self.batch_size):
            batch = [t or " " for t in texts[start : start + self.batch_size]]
            try:
                response = self.client.embeddings.create(model=self.model, input=batch)
            except self._errors as exc:
                raise EmbeddingError(f"OpenAI embeddings failed: {exc}") from exc
            rows = sorted(response.data, key=lambda d: d.index)
            if len(rows) != len(batch) or any(len(r.embedding) != self.dim for r in rows):
                raise EmbeddingError(f"OpenAI embeddings: expected {len(batch)} vectors of {self.dim} numbers")
            vectors.extend(r.embedding for r in rows)
        if not vectors:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.normalize(np.array(vectors, dtype=np.float32))
