"""Rebuild the whole search index and publish a new version."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from chatcore.progress import progress_bar, progress_callback
from retrieval.embeddings import get_embedder
from retrieval.indexes import get_backend
from retrieval.services import index_rebuild, index_stats
from retrieval.store import IndexUnavailable


class Command(BaseCommand):
    help = "Re-chunk and re-embed every document, then publish a new index version."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Only build when this machine has no usable index for the current version, "
            "or the one it has was built with another embedding model than EMBEDDING_PROVIDER's.",
        )
        parser.add_argument(
            "--parallel",
            action="store_true",
            help="PostgreSQL backend: send the rebuild to the Celery workers in chunks (a fortieth "
            "of the documents, 10 to 200) and wait for them (run more workers, or machines, to go faster).",
        )

    def handle(self, *args, if_missing: bool = False, parallel: bool = False, **options) -> None:
        if if_missing:
            try:
                stats = index_stats()
            except IndexUnavailable:
                stats = None
            model = get_embedder().name
            if stats is not None and stats["passages"] and stats["embedder"] == model:
                self.stdout.write(f"Index v{stats['version']} is ready ({stats['passages']} passages); nothing to do.")
                return
            if stats is not None and stats["passages"] and stats["embedder"] != model:
                keeps = (
                    f"v{stats['version']} keeps serving until the new version is published."
                    if stats["backend"] == "embedded"
                    else "Searches find fewer documents until it is done."
                )
                self.stdout.write(
                    f"Index v{stats['version']} was built with {stats['embedder']}; re-embedding with {model}. {keeps}"
                )
        started = time.perf_counter()
        unit = "passage" if get_backend().kind == "embedded" else "document"
        bar = progress_bar(self, desc=f"indexing {unit}s", unit=unit, quiet=options["verbosity"] == 0)
        progress = progress_callback(bar)

        if parallel and get_backend().kind != "postgres":
            raise CommandError("--parallel needs the PostgreSQL search backend (RETRIEVAL_BACKEND=postgres).")
        index = index_rebuild(progress=progress, parallel=parallel)
        bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Index v{index.version}: {index.chunk_count} passages from {index.document_count} documents "
                f"({index.embedder}) in {time.perf_counter() - started:.1f}s."
            )
        )
