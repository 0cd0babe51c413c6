"""The test worker's settings (``retrieval/tests/worker_settings.py``) with the slowed
embedder, for the test that kills a worker mid-build."""

from __future__ import annotations

from retrieval.tests.worker_settings import *  # noqa: F403

EMBEDDERS = {**EMBEDDERS, "e5": {"BACKEND": "chatcore.tests.slow_embedder.SlowEmbedder", "OPTIONS": {}}}  # noqa: F405
