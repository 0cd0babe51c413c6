"""The PostgreSQL search backend: every document's passages, tokens and vectors live in the
database beside the document (``pgsql.PgCollection``), so an edit is searchable in every process
as soon as its re-index commits, and no process holds a copy of the index. The default when
``DATABASE_URL`` is PostgreSQL; needs the pgvector extension (the migration creates it).

A re-index works on a batch of documents: it reads and chunks them, embeds the passages whose
text is new (the others keep their vectors), then, in one transaction, locks the documents' rows,
re-does any document that changed meanwhile, and replaces their passages and the BM25
statistics. So an edit made while a rebuild runs wins whichever commits first, a document
deleted while it is embedded loses its passages, and a batch run twice (a retried task) leaves
the same rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from django.conf import settings
from django.db import connections, transaction
from django.db.models import F
from django.utils import timezone

from knowledge.models import Document, Visibility

from ..chunking import HR, STAFF, VIEWS, chunk_document
from ..embeddings import Embedder, embedder_named, get_embedder
from ..engine import LANGUAGES
from ..metrics import INDEX_DOCUMENTS, INDEX_PASSAGES, INDEX_VERSION
from ..models import IndexCollection, IndexState
from ..text import passage_language, tokenize
from .base import Found, SearchBackend, bm25_weights
from .pgsql import NewPassage, PgCollection

log = structlog.get_logger(__name__)

BATCH = 50
EMBED_BATCH = 64


def read_alias() -> str:
    """Searches read from the ``replica`` database when one is configured."""
    return "replica" if "replica" in settings.DATABASES else "default"


class _Titles:
    """A document's title by key, for the links a passage names; in the staff view only staff
    documents resolve (the staff index never holds the name of an HR-only document)."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[str, str] | None] = {}

    def resolver(self, view: str) -> Callable[[str], str]:
        def resolve(key: str) -> str:
            if key not in self._known:
                row = Document.objects.filter(key=key).values_list("title", "visibility").first()
                self._known[key] = row
            row = self._known[key]
            if row is None or (view == STAFF and row[1] != Visibility.STAFF):
                return ""
            return row[0]

        return resolve


class PostgresBackend(SearchBackend):
    kind = "postgres"

    def collection(self, view: str, *, reading: bool = False) -> PgCollection:
        return PgCollection(HR if view == HR else STAFF, read_using=read_alias() if reading else None)

    # --- searching ------------------------------------------------------------------

    def query_embedder(self, info: dict | None) -> Embedder:
        """The model the collection's vectors were made with (until a rebuild with another one)."""
        return (embedder_named(info["embedder"]) if info else None) or get_embedder()

    def search(self, *, view: str, visible, query: str, k: int, owner: int | None = None, method: str = "hybrid") -> Found:
        collection = self.collection(view, reading=True)
        info = collection.info()
        if info is None:
            self.ensure_ready()
            info = collection.info()
        config = settings.RETRIEVAL
        embedder = self.query_embedder(info)
        vector = embedder.embed_query(query, owner=owner) if method != "bm25" else None
        # No ORDER BY in the subquery (Document has a default ordering): it would keep the planner from
        # the HNSW index.
        allowed = visible.order_by().values("id").query.sql_with_params()
        hits = collection.search(
            query,
            vector,
            k=k,
            candidates=config["CANDIDATES"],
            fusion=config["FUSION"],
            method=method,
            bm25_weight=bm25_weights(embedder),
            rrf_k=config["RRF_K"],
            allowed_sql=allowed,
            info=info,
        )
        documents = {
            key: {"doc_type": doc_type, "title": title}
            for key, doc_type, title in visible.filter(key__in=[h.doc_id for h in hits]).values_list("key", "doc_type", "title")
        }
        return Found([h for h in hits if h.doc_id in documents], documents)

    def knows(self, view: str, token: str) -> bool:
        collection = self.collection(view, reading=True)
        if collection.knows(token):
            return True
        if collection.info() is None:  # nothing indexed yet: index, as a first search would
            self.ensure_ready()
            return collection.knows(token)
        return False

    def version(self) -> int:
        return IndexState.objects.filter(pk=1).values_list("version", flat=True).first() or 0

    def stats(self) -> dict:
        rows = {c.name: c for c in IndexCollection.objects.filter(name__in=VIEWS)}
        hr = rows.get(HR)
        # The HR view holds every document, re-indexed as each one commits: counting the documents
        # (an index-only count) instead of distinct keys among the passages keeps /readyz cheap
        # (a probe every few seconds; the distinct count read 160,000 rows at 100,000 documents).
        documents = Document.objects.count() if hr is not None else 0
        stats = {
            "backend": self.kind,
            "version": self.version(),
            "passages": sum(c.passages for c in rows.values()),
            "documents": documents,
            "embedder": hr.embedder if hr is not None else "",
        }
        INDEX_VERSION.set(stats["version"])
        INDEX_PASSAGES.set(stats["passages"])
        INDEX_DOCUMENTS.set(documents)
        return stats

    def ensure_ready(self) -> dict:
        """Build the collections when none was ever built (a new database), as the embedded
        backend builds its first version at the first search."""
        if not IndexCollection.objects.filter(name__in=VIEWS, built_at__isnull=False).exists():
            with transaction.atomic():
                # One process builds; the others wait here and find it built.
                with connections["default"].cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(hashtext('retrieval.first_build'))")
                if not IndexCollection.objects.filter(name__in=VIEWS, built_at__isnull=False).exists():
                    self.rebuild()
        return self.stats()

    # --- writing --------------------------------------------------------------------

    def _prepare(self, embedder: Embedder) -> bool:
        """Make sure both collections exist for ``embedder``; ``True`` when one held another
        model's vectors and was emptied (everything must be indexed again)."""
        emptied = False
        for view in VIEWS:
            collection = self.collection(view)
            info = collection.info()
            if info is not None and (info["embedder"] != embedder.name or info["dim"] != embedder.dim):
                # Vectors of two models cannot be compared: this collection is built again.
                log.warning("index_model_changed", collection=view, old=info["embedder"], new=embedder.name)
                collection.clear()
                emptied = True
                info = None
            if info is None:
                collection.ensure(embedder=embedder.name, dim=embedder.dim)
        return emptied

    def _plan(self, keys: list[str], embedder: Embedder, titles: _Titles) -> tuple[dict, dict]:
        """Each view's new passages for ``keys`` (``{view: {key: (id, passages)}}``) and the
        ``version`` and ``updated_at`` of each document they were made from."""
        documents = {
            d.key: d
            for d in Document.objects.filter(key__in=keys).only(
                "id", "key", "doc_type", "title", "body", "visibility", "version", "updated_at"
            )
        }
        chunks: dict[str, dict[str, tuple[int, list]]] = {view: {} for view in VIEWS}
        for key in keys:
            document = documents.get(key)
            if document is None:
                continue
            for view in VIEWS:
                if view == STAFF and document.visibility != Visibility.STAFF:
                    continue
                chunks[view][key] = (
                    document.pk,
                    chunk_document(
                        key=document.key,
                        doc_type=document.doc_type,
                        title=document.title,
                        body=document.body,
                        view=view,
                        resolve=titles.resolver(view),
                    ),
                )
        known = {}
        for view in VIEWS:
            known.update(self.collection(view).vectors_of(keys))
        texts = sorted({c.text for view in VIEWS for _, items in chunks[view].values() for c in items} - set(known))
        for start in range(0, len(texts), EMBED_BATCH):
            part = texts[start : start + EMBED_BATCH]
            known.update(zip(part, embedder.embed_documents(part), strict=True))
        plan = {
            view: {
                key: (
                    pk,
                    [
                        NewPassage(
                            n, c.section, c.text, LANGUAGES.index(passage_language(c.text)), tokenize(c.text), known[c.text]
                        )
                        for n, c in enumerate(items)
                    ],
                )
                for key, (pk, items) in chunks[view].items()
            }
            for view in VIEWS
        }
        return plan, {key: (d.version, d.updated_at) for key, d in documents.items()}

    def index_documents(self, keys: list[str], *, embedder: Embedder | None = None, titles: _Titles | None = None) -> int:
        embedder = embedder or get_embedder()
        keys = sorted(set(keys))
        if self._prepare(embedder):
            return self.rebuild()["version"]
        titles = titles or _Titles()
        IndexState.objects.get_or_create(pk=1)
        for start in range(0, len(keys), BATCH):
            batch = keys[start : start + BATCH]
            plan, seen = self._plan(batch, embedder, titles)
            with transaction.atomic():
                locked = {
                    key: (version, updated)
                    for key, version, updated in Document.objects.select_for_update()
                    .filter(key__in=batch)
                    .order_by("key")
                    .values_list("key", "version", "updated_at")
                }
                changed = [key for key in batch if locked.get(key) != seen.get(key)]
                if changed:
                    # Edited or deleted while its passages were embedded: done again, now locked.
                    again, _ = self._plan(changed, embedder, _Titles())
                    for view in VIEWS:
                        for key in changed:
                            plan[view].pop(key, None)
                        plan[view].update(again[view])
                for view in VIEWS:
                    self.collection(view).replace(batch, plan[view], dim=embedder.dim)
                IndexState.objects.filter(pk=1).update(version=F("version") + 1, embedder=embedder.name)
        return self.version()

    def _begin_rebuild(self, embedder: Embedder) -> tuple[list[str], list[str]]:
        """Ready the collections; returns the keys to index (every document, then the keys whose
        documents are gone) and the collections that start empty."""
        self._prepare(embedder)
        # Into empty collections (a new database, or another model): the vector indexes are built
        # once at the end instead of growing with every passage.
        empty = [v for v in VIEWS if not (self.collection(v).info() or {}).get("passages")]
        for view in empty:
            self.collection(view).drop_vector_index(embedder.dim)
        keys = list(Document.objects.order_by("key").values_list("key", flat=True))
        gone = sorted(set().union(*(self.collection(v).keys() for v in VIEWS)) - set(keys))
        IndexState.objects.get_or_create(pk=1)
        IndexState.objects.filter(pk=1).update(
            rebuild_total=len(keys) + len(gone), rebuild_done=0, rebuild_started_at=timezone.now(), rebuild_finished_at=None
        )
        return keys + gone, empty

    def _end_rebuild(self, embedder: Embedder, empty: list[str]) -> None:
        # Every collection, not only those that started empty: a first build that was interrupted
        # gets its vector index when the rebuild is run again.
        for view in VIEWS:
            self.collection(view).ensure(embedder=embedder.name, dim=embedder.dim)
        IndexState.objects.filter(pk=1).update(rebuild_finished_at=timezone.now())

    def rebuild_parallel(self, *, progress: Callable[[int, int], None] | None = None, chunk: int = 0) -> dict:
        """The rebuild split into chunks of ``chunk`` documents (by default a fortieth of them,
        between 10 and 200, so a few workers share even a small rebuild), sent to the Celery workers (each
        chunk a task that is retried, and run again harmlessly, when a worker is lost); waits for
        them, reporting progress as chunks finish. Interrupted, it starts again where it
        stands: every passage whose text is unchanged keeps its vector."""
        from celery import group

        from ..tasks import index_chunk

        embedder = get_embedder()
        started = time.perf_counter()
        todo, empty = self._begin_rebuild(embedder)
        chunk = chunk or max(10, min(200, -(-len(todo) // 40)))
        chunks = [todo[start : start + chunk] for start in range(0, len(todo), chunk)]
        result = group(index_chunk.s(part) for part in chunks).apply_async()
        while not result.ready():
            if progress:
                progress(sum(len(part) for part, done in zip(chunks, result.results, strict=True) if done.ready()), len(todo))
            time.sleep(0.5)
        result.get(disable_sync_subtasks=False)  # a chunk that failed for good fails the rebuild
        if progress:
            progress(len(todo), len(todo))
        self._end_rebuild(embedder, empty)
        return self._finish(embedder, len(todo), started)

    def rebuild(self, *, progress: Callable[[int, int], None] | None = None) -> dict:
        embedder = get_embedder()
        started = time.perf_counter()
        todo, empty = self._begin_rebuild(embedder)
        titles = _Titles()
        for start in range(0, len(todo), BATCH):
            self.index_documents(todo[start : start + BATCH], embedder=embedder, titles=titles)
            IndexState.objects.filter(pk=1).update(rebuild_done=min(start + BATCH, len(todo)))
            if progress:
                progress(min(start + BATCH, len(todo)), len(todo))
        self._end_rebuild(embedder, empty)
        return self._finish(embedder, len(todo), started)

    def _finish(self, embedder: Embedder, count: int, started: float) -> dict:
        if not count:
            IndexState.objects.get_or_create(pk=1)
            IndexState.objects.filter(pk=1).update(version=F("version") + 1, embedder=embedder.name)
        IndexCollection.objects.filter(name__in=VIEWS).update(built_at=timezone.now())
        stats = self.stats()
        log.info(
            "index_rebuilt",
            backend=self.kind,
            documents=count,
            seconds=round(time.perf_counter() - started, 1),
            passages=stats["passages"],
        )
        return stats


__all__ = ["PostgresBackend", "read_alias"]
