"""What every search backend does (``RETRIEVAL_BACKEND``): index documents, search them for an
asker, rebuild, report. The fusion of BM25 and dense scores, the grouping of passages into
documents and the two views (``staff`` without sensitive fields, ``hr`` with them) are the
same in every backend (``engine.fuse``, ``engine.group_hits``, ``chunking``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet

from ..engine import Hit, merge_weights

Progress = Callable[[int, int], None]


@dataclass
class Found:
    """A search's documents, best first, and the ``doc_type`` and ``title`` of each."""

    hits: list[Hit]
    documents: dict[str, dict] = field(default_factory=dict)


class SearchBackend:
    """The search index of the company's documents."""

    #: ``embedded`` or ``postgres``: shown by health checks and ``index_versions``.
    kind = ""

    def search(
        self, *, view: str, visible: QuerySet, query: str, k: int, owner: int | None = None, method: str = "hybrid"
    ) -> Found:
        """The ``k`` best documents of ``view`` for ``query`` among ``visible`` (the asker's
        documents, checked in the database at search time, never taken from the index), by
        ``hybrid``, ``bm25`` or ``dense`` scores."""
        raise NotImplementedError

    def knows(self, view: str, token: str) -> bool:
        """Whether any passage of ``view`` holds this BM25 token."""
        raise NotImplementedError

    def version(self) -> int:
        """Grows whenever what a search can find changes (answer cache keys depend on it)."""
        raise NotImplementedError

    def index_documents(self, keys: list[str]) -> int:
        """Bring these documents' passages up to date with the database (a key that no longer
        exists loses its passages); returns the new version."""
        raise NotImplementedError

    def merge(self) -> int:
        """Fold incremental changes kept beside the main index into it; returns the version
        published, 0 when there was nothing to fold (a backend that keeps none)."""
        return 0

    def rebuild(self, *, progress: Progress | None = None) -> dict:
        """Index every document again (re-embedding what changed, or everything after a change of
        model); returns ``stats()``."""
        raise NotImplementedError

    def stats(self) -> dict:
        """``version``, ``passages``, ``documents`` and ``embedder`` of what serves now, without
        building anything; ``passages`` is 0 when nothing has been built."""
        raise NotImplementedError

    def ensure_ready(self) -> dict:
        """Load (or build, when nothing was ever built) what searches need; returns ``stats()``."""
        raise NotImplementedError


def bm25_weights(embedder) -> dict:
    """The fusion's BM25 shares for searches with ``embedder``: the ones measured with it, with
    any ``RETRIEVAL_BM25_WEIGHT_*`` setting on top."""
    return merge_weights(embedder.bm25_weight, settings.RETRIEVAL["BM25_WEIGHT"])


__all__ = ["Found", "Progress", "SearchBackend", "bm25_weights"]
