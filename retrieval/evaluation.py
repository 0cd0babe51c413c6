"""Running a retriever over a BEIR dataset and scoring it; shared by
``eval_retrieval`` and ``bench retrieval`` so both measure the same thing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np
from django.core.management.base import CommandError

from .beir import Dataset, DatasetError, corpus_passages, cross_dataset, load_dataset, mrr_at, ndcg_at, recall_at
from .embeddings import Embedder
from .engine import PAGE_HITS, SearchIndex, shown_at_once


def open_dataset(directory: str, *, limit: int = 0, queries: str = "") -> Dataset:
    """A BEIR dataset for a management command: a clear ``CommandError`` when it is
    broken, only the first ``limit`` queries when asked. With ``queries``, the questions of
    that dataset over this one's corpus (a cross-lingual set from parallel datasets)."""
    try:
        data = load_dataset(directory)
        if queries:
            data = cross_dataset(data, load_dataset(queries))
    except DatasetError as exc:
        raise CommandError(str(exc)) from None
    if limit:
        data.queries = data.queries[:limit]
    return data


def build_index(
    data: Dataset, embedder: Embedder | None, *, dense: str = "flat", progress: Callable[[Iterable], Iterable] = lambda it: it
) -> tuple[SearchIndex, float]:
    """The dataset's passages indexed; returns the index and the build seconds."""
    passages = corpus_passages(data)
    started = time.perf_counter()
    if embedder is not None:
        vectors = np.zeros((len(passages), embedder.dim), dtype=np.float32)
        batch = 64
        for start in progress(range(0, len(passages), batch)):
            vectors[start : start + batch] = embedder.embed_documents([p.text for p in passages[start : start + batch]])
        embedder.embed_query("warm up")
    else:
        vectors = np.zeros((len(passages), 1), dtype=np.float32)
    index = SearchIndex(passages, vectors, dense=dense)
    return index, time.perf_counter() - started


def build_postgres_index(
    data: Dataset, embedder: Embedder | None, *, name: str, progress: Callable[[Iterable], Iterable] = lambda it: it
):
    """The dataset's passages in a PostgreSQL collection of their own (``name``), as the
    PostgreSQL backend stores and searches them; drop it with ``.drop()``."""
    from django.db import transaction

    from .indexes.pgsql import PgCollection, new_passages

    passages = corpus_passages(data)
    started = time.perf_counter()
    dim = embedder.dim if embedder is not None else 1
    collection = PgCollection(name)
    collection.drop()
    collection.ensure(embedder=embedder.name if embedder is not None else "", dim=dim)
    batch = 64
    # In batches of whole documents: each write replaces the passages of the documents it names.
    by_document: dict[str, list] = {}
    for passage in passages:
        by_document.setdefault(passage.doc_id, []).append(passage)
    batches, part = [], []
    for items in by_document.values():
        part.extend(items)
        if len(part) >= batch:
            batches.append(part)
            part = []
    batches += [part] if part else []
    for part in progress(batches):
        vectors = (
            embedder.embed_documents([p.text for p in part])
            if embedder is not None
            else np.zeros((len(part), 1), dtype=np.float32)
        )
        rows = new_passages(part, vectors)
        with transaction.atomic():
            collection.replace(sorted(rows), rows, dim=dim)
    if embedder is not None:
        embedder.embed_query("warm up")
    return collection, time.perf_counter() - started


def score_rankings(data: Dataset, rankings: list[list[str]], latencies_ms: list[float], **extra) -> dict:
    ndcg, recall, mrr = [], [], []
    for query, ranked in zip(data.queries, rankings, strict=False):
        relevant = data.qrels[query["_id"]]
        ndcg.append(ndcg_at(ranked, relevant))
        recall.append(recall_at(ranked, relevant))
        mrr.append(mrr_at(ranked, relevant))
    return {
        "dataset": data.name,
        **extra,
        "ndcg@10": round(float(np.mean(ndcg)), 4),
        "recall@100": round(float(np.mean(recall)), 4),
        "mrr@10": round(float(np.mean(mrr)), 4),
        "p50_ms": round(float(np.percentile(latencies_ms, 50)), 2),
        "p95_ms": round(float(np.percentile(latencies_ms, 95)), 2),
        "docs": len(data.corpus),
        "queries": len(rankings),
    }


def evaluate(
    data: Dataset,
    index: SearchIndex,
    embedder: Embedder | None,
    *,
    method: str = "hybrid",
    fusion: str = "convex",
    progress: Callable[[Iterable], Iterable] = lambda it: it,
) -> dict:
    """Our retriever on every query: latency includes embedding the query, never
    taken from the embedder's query cache (the baselines have none)."""
    from .services import bm25_weights

    weights = bm25_weights(embedder) if embedder is not None else None
    rankings, latencies, relative = [], [], []
    for query in progress(data.queries):
        started = time.perf_counter()
        vector = embedder.embed_queries([query["text"]])[0] if embedder is not None else None
        hits = index.search(query["text"], vector, k=100, method=method, fusion=fusion, bm25_weight=weights)
        latencies.append((time.perf_counter() - started) * 1000)
        rankings.append([h.doc_id for h in hits])
        relative.append(listed_gold(hits, data.qrels[query["_id"]]))
    result = score_rankings(data, rankings, latencies, method=method)
    result["relevance_cut"] = relevance_cut_report(relative)
    return result


# The cuts ``eval_retrieval`` reports besides the configured one (RETRIEVAL_RELEVANCE_CUT).
CUT_CANDIDATES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def listed_gold(hits, relevant: dict) -> tuple[list[float], int] | None:
    """The scores of the hits the search page lists and the place of the first relevant one
    among them; ``None`` when none is listed (no cut can hide it then)."""
    hits = hits[:PAGE_HITS]
    place = next((i for i, h in enumerate(hits) if relevant.get(h.doc_id, 0) > 0), None)
    return None if place is None else ([h.score for h in hits], place)


def relevance_cut_report(listed: list[tuple[list[float], int] | None]) -> dict:
    """For each candidate cut, the share of questions whose right document the page would list
    but hide behind "show more" (of all questions), and the cut configured."""
    from django.conf import settings

    def hidden(cut: float) -> float:
        count = sum(1 for item in listed if item is not None and item[1] >= shown_at_once(item[0], cut))
        return round(count / max(len(listed), 1), 4)

    configured = settings.RETRIEVAL["RELEVANCE_CUT"]
    return {
        "configured": configured,
        "gold_hidden": hidden(configured),
        "by_cut": {str(cut): hidden(cut) for cut in CUT_CANDIDATES},
    }


TABLE_HEADER = (
    f"{'dataset':<12}{'method':<22}{'nDCG@10':>9}{'R@100':>8}{'MRR@10':>8}{'p50 ms':>8}{'p95 ms':>8}{'docs':>7}{'queries':>9}"
)


def table_row(result: dict) -> str:
    return (
        f"{result['dataset']:<12}{result['method']:<22}{result['ndcg@10']:>9.3f}{result['recall@100']:>8.3f}"
        f"{result['mrr@10']:>8.3f}{result['p50_ms']:>8.1f}{result['p95_ms']:>8.1f}{result['docs']:>7}{result['queries']:>9}"
    )
