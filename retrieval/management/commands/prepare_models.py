"""Prepare the configured embedding model once, at install time, rather than in the first
process that needs it."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from retrieval.embeddings import get_embedder
from retrieval.embeddings.base import EmbeddingError


class Command(BaseCommand):
    help = (
        "Convert the configured embedding model from its installed package into the form it runs in "
        "(an ONNX graph under VAR_DIR/models; nothing is downloaded) and load it once."
    )

    def handle(self, *args, **options) -> None:
        embedder = get_embedder()
        started = time.perf_counter()
        try:
            embedder.load()
            embedder.embed_queries(["ready"])
        except EmbeddingError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{embedder.name} is ready ({time.perf_counter() - started:.1f}s).")
