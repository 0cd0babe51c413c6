"""Reading BEIR-layout datasets and scoring rankings (nDCG@10, Recall@100, MRR@10)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from .chunking import windows
from .engine import Passage


class DatasetError(Exception):
    pass


@dataclass
class Dataset:
    name: str
    corpus: list[dict]
    queries: list[dict]
    qrels: dict[str, dict[str, int]]


def _jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        raise DatasetError(f"{path} is missing (a BEIR dataset has corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{path.name} line {number}: invalid JSON ({exc.msg})") from None
    return rows


def load_dataset(directory: str | Path) -> Dataset:
    directory = Path(directory)
    if not directory.is_dir():
        raise DatasetError(f"{directory} is not a directory")
    corpus = _jsonl(directory / "corpus.jsonl")
    queries = _jsonl(directory / "queries.jsonl")
    qrels_path = directory / "qrels" / "test.tsv"
    if not qrels_path.is_file():
        raise DatasetError(f"{qrels_path} is missing")
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(qrels_path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split("\t")
        if number == 1 and parts[0] == "query-id" or not line.strip():
            continue
        if len(parts) < 3:
            raise DatasetError(f"qrels/test.tsv line {number}: expected query-id, corpus-id, score")
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries = [q for q in queries if q.get("_id") in qrels]
    if not corpus or not queries:
        raise DatasetError(f"{directory}: no documents or no judged queries")
    return Dataset(directory.name, corpus, queries, qrels)


def cross_dataset(corpus: Dataset, questions: Dataset) -> Dataset:
    """The questions (and judgements) of one dataset against the corpus of another: with the
    parallel XQuAD sets, Turkish questions over the English paragraphs and the reverse. Every
    judged document must be in the corpus, so two sets that are not parallel are refused."""
    ids = {str(doc.get("_id")) for doc in corpus.corpus}
    missing = sorted({d for judged in questions.qrels.values() for d in judged if d not in ids})
    if missing:
        raise DatasetError(
            f"{questions.name}'s judgements name {len(missing)} document(s) that {corpus.name} lacks "
            f"(e.g. {missing[0]}): the two sets are not parallel"
        )
    return Dataset(f"{questions.name}→{corpus.name}", corpus.corpus, questions.queries, questions.qrels)


def corpus_passages(dataset: Dataset) -> list[Passage]:
    passages = []
    for doc in dataset.corpus:
        title = str(doc.get("title") or "").replace("_", " ").strip()
        text = str(doc.get("text") or "").strip()
        parts = windows(text) or [""]
        for part in parts:
            passages.append(Passage(str(doc["_id"]), f"{title}. {part}" if title else part))
    return passages


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum((2 ** relevant.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    wanted = {d for d, g in relevant.items() if g > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    for i, d in enumerate(ranked[:k]):
        if relevant.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0
