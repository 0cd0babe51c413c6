"""The default (e5) embedder, slowed down, so a test can kill a worker in the middle of a build.

``SLOW_EMBEDDER_MARKER`` names a file written when the first batch starts (the build is
under way); ``SLOW_EMBEDDER_SECONDS`` is the pause before each batch. The vectors are the
e5 embedder's own, so the index it writes is served as usual.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from retrieval.embeddings.e5 import E5Embedder


class SlowEmbedder(E5Embedder):
    def embed_documents(self, texts: list[str]) -> np.ndarray:
        marker = os.environ.get("SLOW_EMBEDDER_MARKER")
        if marker:
            Path(marker).touch()
        time.sleep(float(os.environ.get("SLOW_EMBEDDER_SECONDS", "0")))
        return super().embed_documents(texts)
