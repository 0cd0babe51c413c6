"""Measure retrieval quality and latency on a BEIR-layout dataset."""

from __future__ import annotations

import json
import time

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from retrieval.beir import DatasetError, corpus_passages, load_dataset, mrr_at, ndcg_at, recall_at
from retrieval.embeddings import get_embedder
from retrieval.engine import SearchIndex


class Command(BaseCommand):
    help = "nDCG@10, Recall@100, MRR@10 and query latency of bm25, dense or hybrid retrieval on a BEIR dataset."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True, help="Directory with corpus.jsonl, queries.jsonl, qrels/test.tsv")
        parser.add_argument("--method", choices=["bm25", "dense", "hybrid"], default="hybrid")
        parser.add_argument("--fusion", choices=["convex", "rrf"], default="convex")
        parser.add_argument("--dense-index", choices=["flat", "hnsw"], default="flat")
        parser.add_argument("--limit", type=int, default=0, help="Only the first N queries (0: all).")
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print only the JSON line.")

    def handle(self, *args, dataset: str, method: str, fusion: str, dense_index: str, limit: int, as_json: bool,
               **options) -> None:
        try:
            data = load_dataset(dataset)
        except DatasetError as exc:
            raise CommandError(str(exc)) from None
        queries = data.queries[:limit] if limit else data.queries
        quiet = as_json
        passages = corpus_passages(data)
        embedder = get_embedder() if method != "bm25" else None
        started = time.perf_counter()
        if embedder is not None:
            vectors = np.zeros((len(passages), embedder.dim), dtype=np.float32)
            batch = 64
            for start in tqdm(range(0, len(passages), batch), desc="embedding passages", unit="batch",
                              disable=quiet, file=self.stderr._out):
                vectors[start:start + batch] = embedder.embed_documents([p.text for p in passages[start:start + batch]])
            embedder.embed_query("warm up")
        else:
            vectors = np.zeros((len(passages), 1), dtype=np.float32)
        index = SearchIndex(passages, vectors, dense=dense_index)
        build_s = time.perf_counter() - started

        ndcg, recall, mrr, latencies = [], [], [], []
        for query in tqdm(queries, desc=f"{method} queries", unit="q", disable=quiet, file=self.stderr._out):
            t0 = time.perf_counter()
            vector = embedder.embed_query(query["text"]) if embedder is not None else None
            hits = index.search(query["text"], vector, k=100, method=method, fusion=fusion)
            latencies.append((time.perf_counter() - t0) * 1000)
            ranked = [h.doc_id for h in hits]
            relevant = data.qrels[query["_id"]]
            ndcg.append(ndcg_at(ranked, relevant))
            recall.append(recall_at(ranked, relevant))
            mrr.append(mrr_at(ranked, relevant))
        result = {
            "dataset": data.name, "method": method,
            "ndcg@10": round(float(np.mean(ndcg)), 4), "recall@100": round(float(np.mean(recall)), 4),
            "mrr@10": round(float(np.mean(mrr)), 4),
            "p50_ms": round(float(np.percentile(latencies, 50)), 2), "p95_ms": round(float(np.percentile(latencies, 95)), 2),
            "docs": len(data.corpus), "queries": len(queries),
        }
        if not quiet:
            self.stdout.write(f"{'dataset':<12}{'method':<8}{'nDCG@10':>9}{'R@100':>8}{'MRR@10':>8}{'p50 ms':>8}{'p95 ms':>8}"
                              f"{'docs':>7}{'queries':>9}  (index built in {build_s:.1f}s, {len(passages)} passages)")
            self.stdout.write(f"{data.name:<12}{method:<8}{result['ndcg@10']:>9.3f}{result['recall@100']:>8.3f}"
                              f"{result['mrr@10']:>8.3f}{result['p50_ms']:>8.1f}{result['p95_ms']:>8.1f}"
                              f"{result['docs']:>7}{result['queries']:>9}")
        self.stdout.write(json.dumps(result))
