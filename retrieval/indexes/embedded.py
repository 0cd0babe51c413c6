"""The embedded search backend: the index as files under ``INDEX_DIR`` (``store``), each process
serving its own copy (``engine.SearchIndex``: bm25s and FAISS). The default with SQLite.

Every process keeps the index it loaded and compares its version with the one in the database
(at most every ``RETRIEVAL_VERSION_CHECK_SECONDS``); when the database is ahead it loads that
version from ``INDEX_DIR`` on a thread of its own or, if this machine does not have it, rebuilds
it from the database by itself.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import structlog
from django.conf import settings
from django.db import connections, transaction

from .. import store
from ..chunking import HR, STAFF
from ..embeddings import embedder_named, get_embedder
from ..metrics import INDEX_DOCUMENTS, INDEX_PASSAGES, INDEX_VERSION
from ..models import IndexState
from .base import Found, SearchBackend, bm25_weights

log = structlog.get_logger(__name__)

_loaded: store.CompanyIndex | None = None
_checked_at = 0.0
_process_lock = threading.Lock()


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


class EmbeddedBackend(SearchBackend):
    kind = "embedded"

    def search(self, *, view: str, visible, query: str, k: int, owner: int | None = None,
               method: str = "hybrid") -> Found:
        index = current_index()
        search_index = index.views[HR if view == HR else STAFF]
        config = settings.RETRIEVAL
        embedder = query_embedder(index)
        vector = embedder.embed_query(query, owner=owner) if method != "bm25" else None
        # The view holds only what the asker's role may see as of the index's version; what changed
        # since (a document restricted, deleted or of another type) is checked against the database
        # for the documents found only, never by loading every visible key: ask for more than ``k``
        # and, in the rare case that too many of them are out, for more again.
        wanted = 2 * k + 10
        while True:
            found = search_index.search(query, vector, k=wanted, candidates=config["CANDIDATES"], method=method,
                                        fusion=config["FUSION"], bm25_weight=bm25_weights(embedder),
                                        rrf_k=config["RRF_K"])
            permitted = set(visible.filter(key__in=[hit.doc_id for hit in found]).values_list("key", flat=True))
            hits = [hit for hit in found if hit.doc_id in permitted]
            if len(hits) >= k or len(found) < wanted:
                break
            wanted *= 4
        hits = hits[:k]
        return Found(hits, {hit.doc_id: index.documents.get(hit.doc_id, {}) for hit in hits})

    def knows(self, view: str, token: str) -> bool:
        return current_index().views[HR if view == HR else STAFF].knows(token)

    def version(self) -> int:
        return current_index().version

    def index_documents(self, keys: list[str]) -> int:
        return index_update(keys=keys).version

    def rebuild(self, *, progress: Callable[[int, int], None] | None = None) -> dict:
        index_rebuild(progress=progress)
        return self.stats()

    def stats(self) -> dict:
        index = _loaded
        if index is None:
            state = IndexState.objects.filter(pk=1).first()
            if state is None or not state.version:
                return {"backend": self.kind, "version": 0, "passages": 0, "documents": 0, "embedder": ""}
            index = current_index()
        return {"backend": self.kind, "version": index.version, "passages": index.chunk_count,
                "documents": len(index.documents), "embedder": index.embedder}

    def ensure_ready(self) -> dict:
        current_index()
        return self.stats()
