"""Measure retrieval quality and latency on a BEIR-layout dataset."""

from __future__ import annotations

import json
import os

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from chatcore.progress import progress_over
from retrieval.embeddings import get_embedder
from retrieval.evaluation import TABLE_HEADER, build_index, build_postgres_index, evaluate, open_dataset, table_row
from retrieval.indexes import get_backend


class Command(BaseCommand):
    help = "nDCG@10, Recall@100, MRR@10 and query latency of bm25, dense or hybrid retrieval on a BEIR dataset."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True, help="Directory with corpus.jsonl, queries.jsonl, qrels/test.tsv")
        parser.add_argument(
            "--queries",
            default="",
            metavar="DIR",
            help="Ask the questions of this dataset over --dataset's corpus instead of its own: "
            "with parallel sets (XQuAD), a cross-lingual test, e.g. --dataset xquad-en "
            "--queries xquad-tr for Turkish questions over English paragraphs.",
        )
        parser.add_argument("--method", choices=["bm25", "dense", "hybrid"], default="hybrid")
        parser.add_argument("--fusion", choices=["convex", "rrf"], default="convex")
        parser.add_argument("--dense-index", choices=["flat", "hnsw"], default="flat")
        parser.add_argument(
            "--backend",
            choices=["embedded", "postgres"],
            default="",
            help="Search as this backend does (default: RETRIEVAL_BACKEND's). postgres writes the "
            "corpus into a collection of its own in the database and drops it at the end.",
        )
        parser.add_argument("--limit", type=int, default=0, help="Only the first N queries (0: all).")
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print only the JSON line.")

    def handle(
        self,
        *args,
        dataset: str,
        method: str,
        fusion: str,
        dense_index: str,
        limit: int,
        as_json: bool,
        queries: str = "",
        backend: str = "",
        **options,
    ) -> None:
        data = open_dataset(dataset, limit=limit, queries=queries)

        def bar(desc: str, unit: str):
            return progress_over(self, desc=desc, unit=unit, quiet=as_json)

        embedder = get_embedder() if method != "bm25" else None
        backend = backend or get_backend().kind
        if backend == "postgres":
            if connection.vendor != "postgresql":
                raise CommandError("--backend postgres needs a PostgreSQL DATABASE_URL.")
            index, build_s = build_postgres_index(
                data, embedder, name=f"eval-{os.getpid()}", progress=bar("embedding passages", "batch")
            )
        else:
            index, build_s = build_index(data, embedder, dense=dense_index, progress=bar("embedding passages", "batch"))
        try:
            result = evaluate(data, index, embedder, method=method, fusion=fusion, progress=bar(f"{method} queries", "q"))
        finally:
            if backend == "postgres":
                index.drop()
        result["backend"] = backend
        if not as_json:
            self.stdout.write(f"{TABLE_HEADER}  (index built in {build_s:.1f}s, {len(index)} passages)")
            self.stdout.write(table_row(result))
        self.stdout.write(json.dumps(result))
