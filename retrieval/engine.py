"""Hybrid search over passages: BM25 (bm25s, Turkish- and English-aware tokens)
and dense vectors (FAISS), fused, grouped by document.

``SearchIndex`` knows nothing of Django: the company index, ``eval_retrieval``
and the benchmarks all use it, so what is measured is what serves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import bm25s
import faiss
import numpy as np

from .glossary import expand
from .text import detect_language, passage_language, tokenize

# bm25s sets its logger to DEBUG when imported, overriding LOGGING; every index
# build would print a line.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# The BM25 share of a passage's fused score, by the question's language and then the
# passage's. Across languages BM25 only meets names, numbers and glossary terms, so the
# dense half carries the search there. Measured with multilingual-e5-small on XQuAD, tuned on
# the even-numbered questions and checked on the odd ones (nDCG@10, tuned / held out):
#   tr→tr 0.40: 0.972 / 0.968  (BM25 0.954, dense 0.935)
#   en→en 0.40: 0.984 / 0.988  (BM25 0.970, dense 0.970)
#   tr→en 0.20: 0.853 / 0.865  (BM25 0.615, dense 0.835)
#   en→tr 0.15: 0.892 / 0.894  (BM25 0.644, dense 0.881)
# Within one language XQuAD's best is flat from 0.25 to 0.5 (0.30 and 0.35 score 0.003 higher);
# 0.40 serves the shorter, keyword-led questions staff ask better (the sample company's eval_chat:
# 97.9% right against 97.5% at 0.30 / 0.35, and every relation question's document in the top 3).
DEFAULT_BM25_WEIGHT = {"tr": {"tr": 0.40, "en": 0.20}, "en": {"en": 0.40, "tr": 0.15}}
LANGUAGES = ("tr", "en")
# A multilingual model still scores a passage in the question's own language higher than the
# same content in the other language: on the sample company a Turkish question's median
# similarity to Turkish passages is 0.01-0.03 above English ones, about the gap between the
# right passage and the best wrong one. Each language's median similarity, over a sample of
# its passages, is taken off its passages' dense scores (when both languages have at least
# MIN_LANGUAGE_SAMPLE passages; a constant shift changes nothing in a one-language corpus).
LANGUAGE_SAMPLE = 512
MIN_LANGUAGE_SAMPLE = 20


def query_terms(query: str) -> list[str]:
    """The BM25 terms of a question, repeated as they count (every backend scores with these): the
    question's own words twice, the other language's glossary terms once, so a passage that says
    the same thing in both languages does not win on that alone."""
    own = tokenize(query)
    return own + own + expand(own)


def merge_weights(base: dict | None, overrides: dict | None) -> dict:
    """``base`` (an embedder's shares, or the defaults) with the entries of ``overrides``."""
    merged = {q: dict(row) for q, row in (base or DEFAULT_BM25_WEIGHT).items()}
    for question, row in (overrides or {}).items():
        merged.setdefault(question, {}).update(row if isinstance(row, dict) else dict.fromkeys(LANGUAGES, row))
    return merged


def weight_table(weights: dict | None) -> np.ndarray:
    """``{question language: {passage language: weight}}`` as a 2x2 array in ``LANGUAGES``
    order; a flat ``{language: weight}`` (the older setting) applies to both passage languages."""
    weights = weights or DEFAULT_BM25_WEIGHT
    table = np.zeros((len(LANGUAGES), len(LANGUAGES)), dtype=np.float32)
    for qi, question in enumerate(LANGUAGES):
        row = weights.get(question, DEFAULT_BM25_WEIGHT[question])
        for pi, passage in enumerate(LANGUAGES):
            value = row.get(passage, DEFAULT_BM25_WEIGHT[question][passage]) if isinstance(row, dict) else row
            table[qi, pi] = min(1.0, max(0.0, float(value)))
    return table


@dataclass(frozen=True)
class Passage:
    doc_id: str
    text: str
    meta: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Hit:
    doc_id: str
    score: float
    passage: Passage
    passages: list[tuple[float, Passage]]


class SearchIndex:
    """Passages with their BM25 tokens and unit vectors; immutable once built."""

    def __init__(self, passages: list[Passage], vectors: np.ndarray, tokens: list[list[str]] | None = None,
                 *, dense: str = "flat", faiss_index=None, languages: np.ndarray | None = None,
                 bm25: bm25s.BM25 | None = None) -> None:
        if len(passages) != len(vectors):
            raise ValueError("one vector per passage")
        self.passages = passages
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        # A stored BM25 index (``bm25``) needs no tokens; otherwise they are the passages' own.
        self.tokens = tokens if tokens is not None or bm25 is not None else [tokenize(p.text) for p in passages]
        self.dense_kind = dense
        # Each passage's language (an index into LANGUAGES), for the fusion's weights.
        if languages is not None and len(languages) == len(passages):
            self.languages = np.asarray(languages, dtype=np.int8)
        else:
            self.languages = np.fromiter((LANGUAGES.index(passage_language(p.text)) for p in passages),
                                         dtype=np.int8, count=len(passages))
        # A sample of each language's passages, for the language offset of dense scores.
        rng = np.random.default_rng(0)
        self._samples = {}
        for code in range(len(LANGUAGES)):
            members = np.flatnonzero(self.languages == code)
            if len(members) >= MIN_LANGUAGE_SAMPLE:
                self._samples[code] = np.sort(rng.choice(members, min(len(members), LANGUAGE_SAMPLE), replace=False))
        self.dim = self.vectors.shape[1] if len(self.vectors) else 0
        self._bm25 = bm25
        if bm25 is None and passages and any(self.tokens):
            self._bm25 = bm25s.BM25()
            # An empty passage still needs a token so rows stay aligned with passages.
            self._bm25.index([t or ["\u0000"] for t in self.tokens], show_progress=False)
        if faiss_index is not None and faiss_index.ntotal == len(passages):
            self._faiss = faiss_index
        else:
            self._faiss = self._build_faiss() if passages else None

    def _build_faiss(self):
        if self.dense_kind == "hnsw":
            index = faiss.IndexHNSWFlat(self.dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.hnsw.efSearch = 64
        else:
            index = faiss.IndexFlatIP(self.dim)
        index.add(self.vectors)
        return index

    def __len__(self) -> int:
        return len(self.passages)

    @property
    def bm25(self) -> bm25s.BM25 | None:
        return self._bm25

    def knows(self, token: str) -> bool:
        """Whether any passage holds this BM25 token."""
        return self._bm25 is not None and token in self._bm25.vocab_dict

    def bm25_scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self.passages), dtype=np.float32)
        if self._bm25 is None:
            return scores
        vocab = self._bm25.vocab_dict
        tokens = [t for t in query_terms(query) if t in vocab]
        if tokens:
            scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
        return scores

    def language_offsets(self, query_vector: np.ndarray) -> np.ndarray:
        """Per passage language, the similarity the question has to that language's passages
        regardless of content (their median); zeros unless both languages are well represented."""
        offsets = np.zeros(len(LANGUAGES), dtype=np.float32)
        if len(self._samples) == len(LANGUAGES):
            vector = np.asarray(query_vector, dtype=np.float32)
            for code, sample in self._samples.items():
                offsets[code] = float(np.median(self.vectors[sample] @ vector))
        return offsets

    def dense_scores(self, ids: np.ndarray, query_vector: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Dense scores of passages ``ids``, less their language's offset."""
        sims = self.vectors[ids] @ np.asarray(query_vector, dtype=np.float32)
        return sims - offsets[self.languages[ids]]

    def dense_candidates(self, query_vector: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self._faiss is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        n = min(n, len(self.passages))
        scores, ids = self._faiss.search(np.asarray(query_vector, dtype=np.float32).reshape(1, -1), n)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def search(self, query: str, query_vector: np.ndarray | None, *, k: int = 10, candidates: int = 100,
               method: str = "hybrid", bm25_weight: dict[str, float] | None = None,
               fusion: str = "convex", rrf_k: int = 60, allowed: set[str] | None = None) -> list[Hit]:
        """The ``k`` best documents for ``query``. ``allowed`` limits results to
        those document ids (the permission filter); ``None`` means all."""
        if not self.passages:
            return []
        fused: dict[int, float] = {}
        bm25 = self.bm25_scores(query) if method in ("bm25", "hybrid") else None
        bm_top: dict[int, float] = {}
        if bm25 is not None:
            top = np.argpartition(-bm25, min(candidates, len(bm25) - 1))[:candidates]
            bm_top = {int(i): float(bm25[i]) for i in top if bm25[i] > 0}
        dn_top: dict[int, float] = {}
        offsets = np.zeros(len(LANGUAGES), dtype=np.float32)
        if query_vector is not None and method in ("dense", "hybrid"):
            offsets = self.language_offsets(query_vector)
            ids, _ = self.dense_candidates(query_vector, candidates)
            dn_top = {int(i): float(s) for i, s in zip(ids, self.dense_scores(ids, query_vector, offsets), strict=True)}
        weights = None
        if method == "hybrid":
            # The BM25 share for each passage: by the question's language and the passage's.
            weights = weight_table(bm25_weight)[LANGUAGES.index(detect_language(query))][self.languages]
        # A passage found by only one side gets its real score from the other.
        union = np.fromiter(set(bm_top) | set(dn_top), dtype=np.int64)
        bm = {int(i): float(bm25[i]) for i in union} if bm25 is not None else {}
        dn = {}
        if query_vector is not None and method != "bm25":
            dn = dict(zip(union.tolist(), self.dense_scores(union, query_vector, offsets).tolist(), strict=True))
        fused = fuse(bm_top, dn_top, bm, dn, weights, method=method, fusion=fusion, rrf_k=rrf_k)
        return self._group(fused, k, allowed)

    def _group(self, fused: dict[int, float], k: int, allowed: set[str] | None) -> list[Hit]:
        ranked = ((fused[i], self.passages[i]) for i in sorted(fused, key=fused.get, reverse=True))
        return group_hits(ranked, k, allowed)


def group_hits(ranked, k: int, allowed: set[str] | None = None) -> list[Hit]:
    """``(score, passage)`` pairs, best first, as the ``k`` best documents, each with its passages."""
    hits: dict[str, Hit] = {}
    for score, passage in ranked:
        if allowed is not None and passage.doc_id not in allowed:
            continue
        hit = hits.get(passage.doc_id)
        if hit is None:
            if len(hits) >= k:
                continue
            hits[passage.doc_id] = Hit(passage.doc_id, score, passage, [(score, passage)])
        else:
            hit.passages.append((score, passage))
    return list(hits.values())


def _minmax(values: dict[int, float]) -> dict[int, float]:
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    span = hi - lo
    return {i: (v - lo) / span if span > 1e-9 else 1.0 for i, v in values.items()}


def fuse(bm_top: dict, dn_top: dict, bm: dict, dn: dict, weights, *, method: str = "hybrid",
         fusion: str = "convex", rrf_k: int = 60) -> dict:
    """One score per passage from its BM25 and dense scores, the same in every backend.

    ``bm_top`` and ``dn_top`` are each side's candidates (id -> score); ``bm`` and ``dn`` every
    candidate's score on each side, so a passage found by only one side is not punished for
    falling outside the other's list; ``weights[id]`` is a passage's BM25 share (``hybrid``)."""
    if method == "bm25":
        return dict(bm_top)
    if method == "dense":
        return dict(dn_top)
    fused: dict = {}
    if fusion == "rrf":
        for rank, i in enumerate(sorted(bm_top, key=bm_top.get, reverse=True), 1):
            fused[i] = fused.get(i, 0.0) + float(weights[i]) / (rrf_k + rank)
        for rank, i in enumerate(sorted(dn_top, key=dn_top.get, reverse=True), 1):
            fused[i] = fused.get(i, 0.0) + (1 - float(weights[i])) / (rrf_k + rank)
        return fused
    union = set(bm_top) | set(dn_top)
    if not union:
        return {}
    bm_n, dn_n = _minmax({i: bm.get(i, 0.0) for i in union} if bm else {}), _minmax({i: dn[i] for i in union if i in dn})
    if not dn_n:
        return bm_n
    if not bm_n or max(bm.get(i, 0.0) for i in union) <= 0:
        return dn_n
    return {i: float(weights[i]) * bm_n[i] + (1 - float(weights[i])) * dn_n[i] for i in union}
