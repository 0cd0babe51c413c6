"""Rebuild the whole search index and publish a new version."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from retrieval.embeddings import get_embedder
from retrieval.services import current_index, index_rebuild
from retrieval.store import IndexUnavailable


class Command(BaseCommand):
    help = "Re-chunk and re-embed every document, then publish a new index version."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--if-missing", action="store_true",
                            help="Only build when this machine has no usable index for the current version, "
                                 "or the one it has was built with another embedding model than EMBEDDING_PROVIDER's.")

    def handle(self, *args, if_missing: bool = False, **options) -> None:
        if if_missing:
            try:
                index = current_index()
            except IndexUnavailable:
                index = None
            model = get_embedder().name
            if index is not None and index.chunk_count and index.embedder == model:
                self.stdout.write(f"Index v{index.version} is ready ({index.chunk_count} passages); nothing to do.")
                return
            if index is not None and index.embedder != model:
                self.stdout.write(f"Index v{index.version} was built with {index.embedder}; re-embedding with {model}. "
                                  f"v{index.version} keeps serving until the new version is published.")
        started = time.perf_counter()
        bar = tqdm(desc="embedding passages", unit="passage", file=self.stderr._out,
                   disable=options["verbosity"] == 0)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        index = index_rebuild(progress=progress)
        bar.close()
        self.stdout.write(self.style.SUCCESS(
            f"Index v{index.version}: {index.chunk_count} passages from {len(index.documents)} documents "
            f"({index.embedder}) in {time.perf_counter() - started:.1f}s."
        ))
