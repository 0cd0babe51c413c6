"""The company search index: build, update, load, and search for a user.

Every process keeps the index it loaded and compares its version with the one
in the database (at most every ``RETRIEVAL_VERSION_CHECK_SECONDS``); when the
database is ahead it loads that version from ``INDEX_DIR`` or, if this machine
does not have it, rebuilds it from the database by itself.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import structlog
from django.conf import settings
from django.db import connections, transaction
from django.urls import reverse
from django.utils.translation import gettext

from accounts.models import User
from knowledge.models import Document
from knowledge.selectors import documents_visible_to

from . import store
from .chunking import HR, STAFF
from .embeddings import embedder_named, get_embedder
from .engine import DEFAULT_BM25_WEIGHT, merge_weights
from .input_flags import flag_input
from .llm.base import Source
from .metrics import INDEX_DOCUMENTS, INDEX_PASSAGES, INDEX_VERSION, RETRIEVAL_LATENCY
from .models import IndexState

log = structlog.get_logger(__name__)

MAX_QUERY_CHARS = 4000
KEY_LENGTH = Document._meta.get_field("key").max_length

_loaded: store.CompanyIndex | None = None
_checked_at = 0.0
_process_lock = threading.Lock()


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


def _root() -> Path:
    return Path(settings.INDEX_DIR)


@contextmanager
def _build_lock():
    """One build at a time on this machine (processes share ``INDEX_DIR``)."""
    root = _root()
    store.private_directory(root)
    with open(os.open(root / ".build.lock", os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _state() -> IndexState:
    state, _ = IndexState.objects.get_or_create(pk=1)
    return state


def _set_loaded(index: store.CompanyIndex) -> None:
    global _loaded, _checked_at
    _loaded = index
    _checked_at = time.monotonic()
    INDEX_VERSION.set(index.version)
    INDEX_PASSAGES.set(index.chunk_count)
    INDEX_DOCUMENTS.set(len(index.documents))


def reset_process_cache() -> None:
    """Forget the loaded index (tests, and after INDEX_DIR changes)."""
    global _loaded, _checked_at
    wait_for_loader()
    with _process_lock:
        _loaded = None
        _checked_at = 0.0


def _publish(*, reuse: store.CompanyIndex | None, progress: Callable[[int, int], None] | None = None) -> store.CompanyIndex:
    """Build from the database, save as the next version, then record that version."""
    embedder = get_embedder()
    with _build_lock():
        version = _state().version + 1
        index = store.build(embedder=embedder, version=version, reuse=reuse,
                            dense=settings.RETRIEVAL["DENSE_INDEX"], progress=progress)
        store.save(index, _root())
        with transaction.atomic():
            state = IndexState.objects.select_for_update().get(pk=1)
            # Another machine may have published meanwhile; ours is newer data anyway.
            state.version = max(state.version + 1, version)
            state.chunk_count = index.chunk_count
            state.embedder = embedder.name
            state.save()
        if state.version != version:
            index.version = state.version
            store.save(index, _root())
    _set_loaded(index)
    log.info("index_published", version=index.version, chunks=index.chunk_count)
    return index


def index_rebuild(*, progress: Callable[[int, int], None] | None = None) -> store.CompanyIndex:
    """Re-chunk and re-embed everything and publish a new version."""
    _state()
    return _publish(reuse=None, progress=progress)


def index_update(*, keys: list[str]) -> store.CompanyIndex:
    """Re-index after ``keys`` changed: only their passages are embedded again
    (the rest reuse their vectors), then a new version is published."""
    state = _state()
    current = _loaded
    if current is None and state.version:
        try:
            current = current_index()
        except store.IndexUnavailable:
            current = None
    index = _publish(reuse=current)
    log.info("index_updated", keys=keys[:20], version=index.version)
    return index


def _embedder_of(version: int):
    """The embedder to read version ``version`` with: the model its manifest names when that
    model is still configured (so after ``EMBEDDING_PROVIDER`` changes, the index in service
    keeps answering until ``rebuild_index`` publishes one built with the new model), otherwise
    the configured one (and ``store.load`` refuses the index)."""
    try:
        model = store.read_manifest(_root(), version).get("embedder", "")
    except store.IndexUnavailable:
        return get_embedder()
    return embedder_named(str(model)) or get_embedder()


def bm25_weights(embedder) -> dict:
    """The fusion's BM25 shares for searches with ``embedder``: the ones measured with it, with
    any ``RETRIEVAL_BM25_WEIGHT_*`` setting on top."""
    return merge_weights(embedder.bm25_weight, settings.RETRIEVAL["BM25_WEIGHT"])


def query_embedder(index: store.CompanyIndex):
    """The embedder whose vectors ``index`` holds: its questions are embedded with it."""
    return embedder_named(index.embedder) or get_embedder()


def current_index() -> store.CompanyIndex:
    """The index this process serves from, brought up to the database's version.

    A process that serves nothing yet loads (or builds) the current version before it answers.
    One that serves an older version keeps answering from it while a thread loads the new one,
    and switches when it is ready: no request waits for a load (at 10,000 documents a load took
    15 s). Permissions never wait for it: every search filters against the database."""
    global _checked_at
    interval = settings.RETRIEVAL["VERSION_CHECK_SECONDS"]
    with _process_lock:
        if _loaded is not None and time.monotonic() - _checked_at < interval:
            return _loaded
        state = _state()
        _checked_at = time.monotonic()
        if _loaded is not None and _loaded.version >= state.version:
            return _loaded
        if _loaded is not None:
            _load_in_background(state.version)
            return _loaded
    if state.version == 0:
        return _publish(reuse=None)
    index = _load_or_build(state.version)
    with _process_lock:
        if _loaded is None or index.version >= _loaded.version:
            _set_loaded(index)
        return _loaded


def _load_or_build(version: int) -> store.CompanyIndex:
    """Version ``version`` from ``INDEX_DIR``, or built from the database when this machine
    lacks it (another machine built it), it is corrupt, or its model is not configured."""
    try:
        return store.load(_root(), version, embedder=_embedder_of(version))
    except store.IndexUnavailable as exc:
        log.warning("index_catching_up", version=version, reason=str(exc))
    with _build_lock():
        try:
            return store.load(_root(), version, embedder=get_embedder())
        except store.IndexUnavailable:
            index = store.build(embedder=get_embedder(), version=version, reuse=_loaded,
                                dense=settings.RETRIEVAL["DENSE_INDEX"])
            store.save(index, _root())
            return index


_loader: threading.Thread | None = None


def _load_in_background(version: int) -> None:
    """Start loading ``version`` on a thread of its own (one at a time; called with the lock)."""
    global _loader
    if _loader is not None and _loader.is_alive():
        return

    def run() -> None:
        try:
            index = _load_or_build(version)
            with _process_lock:
                if _loaded is None or index.version > _loaded.version:
                    _set_loaded(index)
                    log.info("index_swapped", version=index.version)
        except Exception:  # noqa: BLE001 — the old version keeps serving; the next check retries
            log.exception("index_load_failed", version=version)
        finally:
            connections.close_all()  # this thread's own connections

    _loader = threading.Thread(target=run, name="index-loader", daemon=True)
    _loader.start()


def wait_for_loader(timeout: float = 30.0) -> None:
    """Wait until a version being loaded in the background is served (tests, benchmarks)."""
    loader = _loader
    if loader is not None:
        loader.join(timeout)


def _search(*, user: User, query: str, k: int, doc_type: str = ""):
    if user is None or not user.is_authenticated or not user.is_active:
        raise PermissionError("search needs a signed-in, active user")
    query = (query or "").strip()
    if not query:
        raise QueryError(gettext("The query is empty."))
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(gettext("The query is longer than %(limit)d characters.") % {"limit": MAX_QUERY_CHARS})
    index = current_index()
    view = index.views[HR if user.is_hr else STAFF]
    visible = documents_visible_to(user=user)
    if doc_type:
        visible = visible.filter(doc_type=doc_type)
    config = settings.RETRIEVAL
    embedder = query_embedder(index)
    vector = embedder.embed_query(query, owner=user.pk)
    # The view holds only what the asker's role may see as of the index's version; what changed
    # since (a document restricted, deleted or of another type) is checked against the database
    # for the documents found only, never by loading every visible key: ask for more than ``k``
    # and, in the rare case that too many of them are out, for more again.
    wanted = 2 * k + 10
    while True:
        found = view.search(query, vector, k=wanted, candidates=config["CANDIDATES"], fusion=config["FUSION"],
                            bm25_weight=bm25_weights(embedder), rrf_k=config["RRF_K"])
        permitted = set(visible.filter(key__in=[hit.doc_id for hit in found]).values_list("key", flat=True))
        hits = [hit for hit in found if hit.doc_id in permitted]
        if len(hits) >= k or len(found) < wanted:
            break
        wanted *= 4
    return index, hits[:k], visible, query


@RETRIEVAL_LATENCY.labels(kind="search").time()
def search_documents(*, user: User, query: str, k: int = 10, doc_type: str = "") -> list[SearchResult]:
    """Documents for ``query`` that ``user`` may see, best first. Employees are
    searched in the staff view only (no sensitive field is ever in it); HR and
    admins in the HR view."""
    index, hits, visible, query = _search(user=user, query=query, k=k, doc_type=doc_type)
    flag_input(text=query, user_id=user.pk, channel="search")
    results = []
    # Typing a document's key (E001, PR003) opens that document first.
    exact = (visible.filter(key__iexact=query).values_list("key", flat=True).first()
             if len(query) <= KEY_LENGTH else None)
    if exact is not None:
        meta = index.documents.get(exact) or {}
        hits = [h for h in hits if h.doc_id != exact][: k - 1]
        results.append(SearchResult(key=exact, doc_type=meta.get("doc_type", ""), title=meta.get("title", exact),
                                    score=1.0, snippet="", url=reverse("document", args=[exact])))
    for hit in hits:
        meta = index.documents.get(hit.doc_id, {})
        results.append(SearchResult(
            key=hit.doc_id, doc_type=meta.get("doc_type", ""), title=meta.get("title", hit.doc_id),
            score=round(hit.score, 4), snippet=_snippet(hit.passage.text),
            url=reverse("document", args=[hit.doc_id]),
        ))
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
    index, hits, _, _ = _search(user=user, query=question, k=k)
    previous = [t["content"] for t in (history or []) if t.get("role") == "user"]
    if previous and _is_follow_up(question):
        combined = f"{previous[-1]} {question}"[-MAX_QUERY_CHARS:]
        _, context_hits, _, _ = _search(user=user, query=combined, k=k)
        seen = {h.doc_id for h in hits}
        # Interleave: the follow-up's own best hit, then the conversation's.
        merged = hits[:1] + [h for h in context_hits if h.doc_id not in seen][:2] + hits[1:]
        hits = merged[:k]
    return sources_from_hits(hits, index.documents)


def sources_from_hits(hits: list, documents: dict[str, dict]) -> list[Source]:
    """Number search hits as citable sources ``[1]``, ``[2]``…"""
    sources = []
    for n, hit in enumerate(hits, 1):
        meta = documents.get(hit.doc_id, {})
        sources.append(Source(
            n=n, key=hit.doc_id, doc_type=meta.get("doc_type", ""), title=meta.get("title", hit.doc_id),
            score=round(hit.score, 4), passages=tuple(p.text for _, p in hit.passages[:3]),
        ))
    return sources


def _snippet(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


__all__ = ["DEFAULT_BM25_WEIGHT", "QueryError", "SearchResult", "current_index", "index_rebuild", "index_update",
           "reset_process_cache", "retrieve_sources", "search_documents"]
