"""The company search, for a user: validate the query, ask the configured search backend
(``RETRIEVAL_BACKEND``, see ``indexes``) in the asker's view among the documents they may see,
and number what it found as citable sources. Index upkeep goes through the backend too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
from django.db.models import F
from django.urls import reverse
from django.utils.translation import gettext

from accounts.models import User
from knowledge.models import Document
from knowledge.selectors import document_referrers, documents_visible_to

from .chunking import HR, STAFF
from .engine import DEFAULT_BM25_WEIGHT
from .indexes import get_backend
from .indexes.base import bm25_weights
from .indexes.embedded import current_index, query_embedder, reset_process_cache, wait_for_loader
from .input_flags import flag_input
from .llm.base import Source
from .metrics import RETRIEVAL_LATENCY
from .models import IndexState

log = structlog.get_logger(__name__)

MAX_QUERY_CHARS = 4000
KEY_LENGTH = Document._meta.get_field("key").max_length


class QueryError(ValueError):
    """The query cannot be searched (empty, too long)."""


@dataclass
class SearchResult:
    key: str
    doc_type: str
    title: str
    score: float
    snippet: str
    url: str


def _search(*, user: User, query: str, k: int, doc_type: str = "", method: str = "hybrid"):
    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionError("search needs a signed-in, active user")
    query = (query or "").strip()
    if not query:
        raise QueryError(gettext("The query is empty."))
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(gettext("The query is longer than %(limit)d characters.") % {"limit": MAX_QUERY_CHARS})
    visible = documents_visible_to(user=user)
    if doc_type:
        visible = visible.filter(doc_type=doc_type)
    found = get_backend().search(
        view=HR if user.is_hr else STAFF, visible=visible, query=query, k=k, owner=user.pk, method=method
    )
    return found, visible, query


@RETRIEVAL_LATENCY.labels(kind="search").time()
def search_documents(*, user: User, query: str, k: int = 10, doc_type: str = "", method: str = "hybrid") -> list[SearchResult]:
    """Documents for ``query`` that ``user`` may see, best first. Employees are
    searched in the staff view only (no sensitive field is ever in it); HR and
    admins in the HR view. ``method``: ``hybrid`` (what every page and the API use), or
    ``bm25`` / ``dense`` alone (benchmarks)."""
    found, visible, query = _search(user=user, query=query, k=k, doc_type=doc_type, method=method)
    hits = found.hits
    flag_input(text=query, user_id=user.pk, channel="search")
    results = []
    # Typing a document's key (E001, PR003) opens that document first.
    # By the key's unique index (keys are written as given, usually upper case: "e001" finds E001);
    # a case-insensitive comparison would read every document.
    exact = (
        visible.filter(key__in={query, query.upper(), query.lower()}).values_list("key", "doc_type", "title").first()
        if len(query) <= KEY_LENGTH
        else None
    )
    if exact is not None:
        key, doc_type, title = exact
        hits = [h for h in hits if h.doc_id != key][: k - 1]
        results.append(
            SearchResult(key=key, doc_type=doc_type, title=title, score=1.0, snippet="", url=reverse("document", args=[key]))
        )
    for hit in hits:
        meta = found.documents.get(hit.doc_id, {})
        results.append(
            SearchResult(
                key=hit.doc_id,
                doc_type=meta.get("doc_type", ""),
                title=meta.get("title", hit.doc_id),
                score=round(hit.score, 4),
                snippet=_snippet(hit.passage.text),
                url=reverse("document", args=[hit.doc_id]),
            )
        )
    return results


FOLLOW_UP_WORDS = frozenset(
    "he she his her hers him it its they them their this that these those also and what about "
    "o onu onun ona ondan bu bunun buna şu şunun onlar onların onlara peki ya ayrıca bunlar".split()
)


def _is_follow_up(question: str) -> bool:
    words = [w.strip("?!.,;:'\"").lower() for w in question.split()]
    return len(words) < 8 and any(w in FOLLOW_UP_WORDS for w in words)


@RETRIEVAL_LATENCY.labels(kind="chat").time()
def retrieve_sources(*, user: User, question: str, history: list[dict] | None = None, k: int = 4) -> list[Source]:
    """The documents an answer to ``question`` may cite, numbered from 1, with the
    passages ``user`` may see. A short follow-up ("and his manager?", "peki onun
    ekibi?") is searched together with the previous question as well, so it finds
    what the conversation is about; its own hits come first."""
    found, _, _ = _search(user=user, query=question, k=k)
    hits, documents = found.hits, dict(found.documents)
    previous = [t["content"] for t in (history or []) if t.get("role") == "user"]
    if previous and _is_follow_up(question):
        combined = f"{previous[-1]} {question}"[-MAX_QUERY_CHARS:]
        context, _, _ = _search(user=user, query=combined, k=k)
        context_hits = context.hits
        documents.update(context.documents)
        seen = {h.doc_id for h in hits}
        # Interleave: the follow-up's own best hit, then the conversation's.
        merged = hits[:1] + [h for h in context_hits if h.doc_id not in seen][:2] + hits[1:]
        hits = merged[:k]
    return sources_from_hits(hits, documents)


def sources_from_hits(hits: list, documents: dict[str, dict]) -> list[Source]:
    """Number search hits as citable sources ``[1]``, ``[2]``…"""
    sources = []
    for n, hit in enumerate(hits, 1):
        meta = documents.get(hit.doc_id, {})
        sources.append(
            Source(
                n=n,
                key=hit.doc_id,
                doc_type=meta.get("doc_type", ""),
                title=meta.get("title", hit.doc_id),
                score=round(hit.score, 4),
                passages=tuple(p.text for _, p in hit.passages[:3]),
            )
        )
    return sources


def _snippet(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def index_version() -> int:
    """Grows whenever what a search can find changes."""
    return get_backend().version()


def index_stats() -> dict:
    """What serves: ``backend``, ``version``, ``passages``, ``documents``, ``embedder``."""
    return get_backend().stats()


def term_known(*, user: User, token: str) -> bool:
    """Whether any passage ``user`` may search holds this BM25 token."""
    return get_backend().knows(HR if user.is_hr else STAFF, token)


@dataclass
class IndexSummary:
    version: int
    chunk_count: int
    document_count: int
    embedder: str


def _summary(stats: dict) -> IndexSummary:
    return IndexSummary(stats["version"], stats["passages"], stats["documents"], stats["embedder"])


def index_rebuild(*, progress: Callable[[int, int], None] | None = None, parallel: bool = False) -> IndexSummary:
    """Re-chunk and re-embed every document (keeping the vectors of unchanged passages); with
    ``parallel`` (PostgreSQL backend), in chunks on the Celery workers."""
    backend = get_backend()
    if parallel and hasattr(backend, "rebuild_parallel"):
        return _summary(backend.rebuild_parallel(progress=progress))
    return _summary(backend.rebuild(progress=progress))


def index_chunk(*, keys: list[str]) -> int:
    """One chunk of a parallel rebuild, counted in the rebuild's progress."""
    version = get_backend().index_documents(list(keys))
    IndexState.objects.filter(pk=1).update(rebuild_done=F("rebuild_done") + len(keys))
    return version


def index_update(*, keys: list[str], referrers: bool = False) -> int:
    """Re-index the documents ``keys`` after they changed (or were deleted); the new version. With
    ``referrers`` (their titles or visibility changed) also the documents that link to them: their
    passages name them, and a staff passage must stop naming one that became HR-only."""
    keys = list(keys)
    if referrers:
        keys += document_referrers(keys=keys)
    version = get_backend().index_documents(keys)
    log.info("index_updated", keys=list(keys)[:20], version=version)
    return version


def index_merge() -> int:
    """Fold the search backend's incremental changes into its main index (the embedded backend's
    delta); the version published, or 0."""
    return get_backend().merge()


def ensure_index() -> IndexSummary:
    """Load, or when none was ever built build, what searches need."""
    return _summary(get_backend().ensure_ready())


__all__ = [
    "DEFAULT_BM25_WEIGHT",
    "IndexSummary",
    "QueryError",
    "SearchResult",
    "bm25_weights",
    "current_index",
    "ensure_index",
    "index_merge",
    "index_rebuild",
    "index_stats",
    "index_update",
    "index_version",
    "query_embedder",
    "reset_process_cache",
    "retrieve_sources",
    "search_documents",
    "term_known",
    "wait_for_loader",
]
