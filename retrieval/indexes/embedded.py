"""The embedded search backend: the index as files under ``INDEX_DIR`` (``store``), each process
serving its own copy (``engine.SearchIndex``: bm25s and FAISS). The default with SQLite.

Every process keeps the index it loaded and compares its version with the one in the database
(at most every ``RETRIEVAL_VERSION_CHECK_SECONDS``); when the database is ahead it loads that
version from ``INDEX_DIR`` on a thread of its own or, if this machine does not have it, rebuilds
it from the database by itself.

An edit publishes a *delta* version: the changed documents' passages beside the full index, which
every process already holds, so publishing and loading it cost those documents only. When the
delta outgrows ``RETRIEVAL_DELTA_SHARE`` of the full index, a merge builds a new full index off
the edit path (a Celery task, or a thread of this process when tasks run in-process); edits made
meanwhile keep publishing deltas and are carried over onto the merged index.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import structlog
from django.conf import settings
from django.db import connections, transaction

from chatcore.databases import database_url

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


# A delta is merged once it holds more than RETRIEVAL_DELTA_SHARE of the full index's passages, and
# never before it holds this many.
MIN_DELTA_PASSAGES = 100


def _publish(build: Callable[[int], store.CompanyIndex]) -> store.CompanyIndex:
    """Build version ``state.version + 1`` (``build(version)``; called with the build lock held),
    save it, then record it as published."""
    embedder = get_embedder()
    with _build_lock():
        version = _state().version + 1
        index = build(version)
        _record(index, embedder.name, version)
    _set_loaded(index)
    log.info("index_published", version=index.version, chunks=index.chunk_count, delta=index.delta_passages)
    return index


def _record(index: store.CompanyIndex, embedder: str, version: int, written: tuple[Path, str] | None = None) -> None:
    """Save ``index`` (built as ``version``; its files already ``written``, or not) and record it
    in the database (with the build lock)."""
    store.save(index, _root(), written=written)
    with transaction.atomic():
        state = IndexState.objects.select_for_update().get(pk=1)
        # Another machine may have published meanwhile; ours is newer data anyway.
        state.version = max(state.version + 1, version)
        state.chunk_count = index.chunk_count
        state.embedder = embedder
        state.save()
    if state.version != version:
        index.version = state.version
        store.save(index, _root())


def _full(reuse: store.CompanyIndex | None, progress: Callable[[int, int], None] | None = None):
    def build(version: int) -> store.CompanyIndex:
        return store.build(
            embedder=get_embedder(), version=version, reuse=reuse, dense=settings.RETRIEVAL["DENSE_INDEX"], progress=progress
        )

    return build


def index_rebuild(*, progress: Callable[[int, int], None] | None = None) -> store.CompanyIndex:
    """Re-chunk and re-embed everything and publish a new full version."""
    _state()
    return _publish(_full(None, progress))


def _latest() -> store.CompanyIndex | None:
    """The index at the published version (called with the build lock held): this process's when
    it is at that version, else loaded from disk; ``None`` when none is published or it cannot be
    read here."""
    state = _state()
    current = _loaded
    if current is not None and current.version == state.version:
        return current
    if not state.version:
        return None
    try:
        return store.load(_root(), state.version, embedder=_embedder_of(state.version), serving=current)
    except store.IndexUnavailable:
        return None


def index_update(*, keys: list[str]) -> store.CompanyIndex:
    """Re-index after ``keys`` changed (or were deleted): a delta version with only the changed
    documents' passages, or a full version when there is no index to extend here yet or it was
    built with another model."""
    embedder = get_embedder()

    def build(version: int) -> store.CompanyIndex:
        current = _latest()
        if current is None or current.embedder != embedder.name:
            return _full(current)(version)
        return store.build_delta(embedder=embedder, version=version, current=current, keys=keys)

    index = _publish(build)
    log.info("index_updated", keys=keys[:20], version=index.version)
    if index.main is not None and _too_big(index):
        schedule_merge()
    return index


def _too_big(index: store.CompanyIndex) -> bool:
    limit = max(MIN_DELTA_PASSAGES, settings.RETRIEVAL["DELTA_SHARE"] * index.full.chunk_count)
    return index.delta_passages > limit


_merger: subprocess.Popen | None = None
merges_started = 0  # by this process (benchmarks)


def schedule_merge() -> None:
    """Merge the delta into a new full index off the edit path: a Celery task or, when tasks run
    in-process, a ``manage.py merge_index`` process of its own (one at a time), so the merge's
    tokenizing does not compete with this process's requests for the interpreter."""
    global _merger, merges_started
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        from ..tasks import merge_index

        merge_index.delay()
        merges_started += 1
        return
    with _process_lock:
        if _merger is not None and _merger.poll() is None:
            return
        try:
            url = database_url()
        except ValueError as exc:  # an in-memory database: merged at the next rebuild instead
            log.warning("index_merge_skipped", reason=str(exc))
            return
        env = {**os.environ, "DATABASE_URL": url, "INDEX_DIR": str(_root()), "RETRIEVAL_BACKEND": settings.RETRIEVAL_BACKEND}
        _merger = subprocess.Popen(  # noqa: S603 - a fixed command line: this Python's manage.py
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "merge_index"],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        merges_started += 1


def wait_for_merge(timeout: float = 300.0) -> None:
    """Wait for a merge this process started (tests, benchmarks)."""
    merger = _merger
    if merger is not None:
        merger.wait(timeout)


def index_merge() -> store.CompanyIndex | None:
    """Fold the delta into a new full index. The build reads the database without the build lock,
    so edits go on publishing deltas meanwhile; those made after it started are carried over as
    the merged index's delta. ``None`` when there was nothing to merge, or a rebuild or another
    merge replaced the delta's base first."""
    with _build_lock():
        started = _latest()
    if started is None or started.main is None:
        return None
    snapshot = started.version
    embedder = get_embedder()
    merged = store.build(embedder=embedder, version=0, reuse=started, dense=settings.RETRIEVAL["DENSE_INDEX"])
    # Its files are written before the lock too: edits wait for the lock, never for this.
    written = store.write(merged, _root())
    try:
        with _build_lock():
            latest = _latest()
            if latest is None or latest.base != started.base:
                return None
            version = _state().version + 1
            merged.version = version
            # Changed since the build read the database (their delta version is newer than the one
            # the merge started from): indexed again over the merged index.
            carried = [key for key, at in latest.changed.items() if at > snapshot]
            index = merged
            if carried:
                store.save(merged, _root(), point=False, written=written)
                version += 1
                index = store.build_delta(embedder=embedder, version=version, current=merged, keys=carried)
                _record(index, embedder.name, version)
            else:
                _record(index, embedder.name, version, written)
    finally:
        shutil.rmtree(written[0], ignore_errors=True)  # left only when nothing was published
    _set_loaded(index)
    log.info("index_merged", version=index.version, chunks=index.chunk_count, carried=len(carried))
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
        return _publish(_full(None))
    index = _load_or_build(state.version)
    with _process_lock:
        if _loaded is None or index.version >= _loaded.version:
            _set_loaded(index)
        return _loaded


def _load_or_build(version: int) -> store.CompanyIndex:
    """Version ``version`` from ``INDEX_DIR``, or built from the database when this machine
    lacks it (another machine built it), it is corrupt, or its model is not configured."""
    try:
        return store.load(_root(), version, embedder=_embedder_of(version), serving=_loaded)
    except store.IndexUnavailable as exc:
        log.warning("index_catching_up", version=version, reason=str(exc))
    with _build_lock():
        try:
            return store.load(_root(), version, embedder=get_embedder(), serving=_loaded)
        except store.IndexUnavailable:
            index = store.build(embedder=get_embedder(), version=version, reuse=_loaded, dense=settings.RETRIEVAL["DENSE_INDEX"])
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

    def search(self, *, view: str, visible, query: str, k: int, owner: int | None = None, method: str = "hybrid") -> Found:
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
            found = search_index.search(
                query,
                vector,
                k=wanted,
                candidates=config["CANDIDATES"],
                method=method,
                fusion=config["FUSION"],
                bm25_weight=bm25_weights(embedder),
                rrf_k=config["RRF_K"],
            )
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

    def merge(self) -> int:
        index = index_merge()
        return index.version if index is not None else 0

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
        return {
            "backend": self.kind,
            "version": index.version,
            "passages": index.chunk_count,
            "documents": len(index.documents),
            "embedder": index.embedder,
        }

    def ensure_ready(self) -> dict:
        current_index()
        return self.stats()
