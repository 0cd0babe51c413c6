"""Hybrid search over passages: BM25 (bm25s, Turkish- and English-aware tokens)
and dense vectors (exact inner products, or a FAISS HNSW graph), fused, grouped by document.

``SearchIndex`` knows nothing of Django: the company index, ``eval_retrieval``
and the benchmarks all use it, so what is measured is what serves.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Sequence
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
# bm25s's defaults (Lucene's BM25): every scorer of a passage uses these.
K1 = 1.5
B = 0.75


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


class PassageTable(Sequence):
    """Passages as arrays: their texts in one UTF-8 buffer with offsets, and per row a document
    number and a metadata number. A loaded index keeps no Python object per passage (a JSON list
    of 60,000 passages took 55 ms to parse while holding the interpreter, and the objects made
    every garbage collection slower); a ``Passage`` is made when a search returns one."""

    def __init__(
        self, keys: list[str], docs: np.ndarray, offsets: np.ndarray, texts: bytes, metas: list[dict], meta: np.ndarray
    ) -> None:
        if not len(docs) + 1 == len(offsets) == len(meta) + 1:
            raise ValueError("one document, offset and metadata number per passage")
        self.keys, self.docs, self.offsets, self.texts = keys, docs, offsets, texts
        self.metas, self.meta = metas, meta

    @classmethod
    def of(cls, passages) -> PassageTable:
        keys: dict[str, int] = {}
        metas: dict[str, int] = {}
        docs, meta, offsets, chunks = [], [], [0], []
        for passage in passages:
            docs.append(keys.setdefault(passage.doc_id, len(keys)))
            meta.append(metas.setdefault(json.dumps(passage.meta, sort_keys=True, ensure_ascii=False), len(metas)))
            encoded = passage.text.encode("utf-8")
            chunks.append(encoded)
            offsets.append(offsets[-1] + len(encoded))
        return cls(
            list(keys),
            np.asarray(docs, dtype=np.int32),
            np.asarray(offsets, dtype=np.int64),
            b"".join(chunks),
            [json.loads(m) for m in metas],
            np.asarray(meta, dtype=np.int32),
        )

    def __len__(self) -> int:
        return len(self.docs)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        return Passage(self.keys[self.docs[i]], self.texts[start:end].decode("utf-8"), self.metas[self.meta[i]])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def rows_of(self, keys) -> np.ndarray:
        wanted = set(keys)
        numbers = [n for n, key in enumerate(self.keys) if key in wanted]
        return np.flatnonzero(np.isin(self.docs, numbers)).astype(np.int64) if numbers else np.zeros(0, np.int64)


class Rows(Sequence):
    """Two sequences of passages read as one (a main index's and its delta's rows)."""

    def __init__(self, first, second) -> None:
        self.first, self.second = first, second

    def __len__(self) -> int:
        return len(self.first) + len(self.second)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        return self.first[i] if i < len(self.first) else self.second[i - len(self.first)]

    def __iter__(self):
        yield from self.first
        yield from self.second


@dataclass
class Hit:
    doc_id: str
    score: float
    passage: Passage
    passages: list[tuple[float, Passage]]


class SearchIndex:
    """Passages with their BM25 tokens and unit vectors; immutable once built.

    ``rows`` are the passages in index order (a search's ids point into it); ``passages`` are the
    ones a search can return: the same list here, fewer in a ``SegmentedIndex``."""

    def __init__(
        self,
        passages: Sequence[Passage],
        vectors: np.ndarray,
        tokens: list[list[str]] | None = None,
        *,
        dense: str = "flat",
        faiss_index=None,
        languages: np.ndarray | None = None,
        bm25: bm25s.BM25 | None = None,
        avgdl: float | None = None,
        keyword_index: bool = True,
    ) -> None:
        if len(passages) != len(vectors):
            raise ValueError("one vector per passage")
        self.rows = self.passages = passages
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        # A stored BM25 index (``bm25``) needs no tokens; otherwise they are the passages' own.
        self.tokens = tokens if tokens is not None or bm25 is not None else [tokenize(p.text) for p in passages]
        self.dense_kind = dense
        # Each passage's language (an index into LANGUAGES), for the fusion's weights.
        if languages is not None and len(languages) == len(passages):
            self.languages = np.asarray(languages, dtype=np.int8)
        else:
            self.languages = np.fromiter(
                (LANGUAGES.index(passage_language(p.text)) for p in passages), dtype=np.int8, count=len(passages)
            )
        # A sample of each language's passages, for the language offset of dense scores.
        rng = np.random.default_rng(0)
        self._samples = {}
        for code in range(len(LANGUAGES)):
            members = np.flatnonzero(self.languages == code)
            if len(members) >= MIN_LANGUAGE_SAMPLE:
                self._samples[code] = np.sort(rng.choice(members, min(len(members), LANGUAGE_SAMPLE), replace=False))
        self.dim = self.vectors.shape[1] if len(self.vectors) else 0
        self._bm25 = bm25
        # A delta segment (``keyword_index=False``) keeps its tokens only: ``SegmentedIndex`` scores
        # them with the main index's statistics, so a BM25 index of its own would go unused.
        if keyword_index and bm25 is None and passages and any(self.tokens):
            self._bm25 = bm25s.BM25()
            # An empty passage still needs a token so rows stay aligned with passages.
            self._bm25.index([t or ["\u0000"] for t in self.tokens], show_progress=False)
        # The mean passage length in tokens (BM25's avgdl): stored with the index, since a loaded
        # bm25s index keeps scores, not lengths; a delta segment is scored with it.
        if avgdl is None and self.tokens:
            avgdl = sum(max(len(t), 1) for t in self.tokens) / len(self.tokens)
        self.avgdl = float(avgdl or 1.0)
        # The flat dense search is a matrix-vector product over ``vectors``: a FAISS flat index
        # would hold a second copy of every vector (100 MB per view at 10,000 documents).
        self._faiss = None
        if dense != "flat" and passages:
            self._faiss = faiss_index if faiss_index is not None and faiss_index.ntotal == len(passages) else self._build_faiss()
        self._doc_rows: dict[str, list[int]] | None = None

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
        return len(self.rows)

    def rows_of(self, keys) -> np.ndarray:
        """The rows of the documents ``keys``."""
        if isinstance(self.rows, PassageTable):
            return self.rows.rows_of(keys)
        if self._doc_rows is None:
            doc_rows: dict[str, list[int]] = {}
            for i, passage in enumerate(self.rows):
                doc_rows.setdefault(passage.doc_id, []).append(i)
            self._doc_rows = doc_rows
        found = [i for key in keys for i in self._doc_rows.get(key, ())]
        return np.asarray(sorted(found), dtype=np.int64)

    def document_frequencies(self, terms) -> dict[str, int]:
        """How many passages hold each of ``terms`` (read from the BM25 index's term columns)."""
        if self._bm25 is None:
            return {}
        vocab, indptr = self._bm25.vocab_dict, self._bm25.scores["indptr"]
        return {t: int(indptr[vocab[t] + 1] - indptr[vocab[t]]) for t in terms if t in vocab}

    @property
    def passage_count(self) -> int:
        """The passages BM25's idf counts (those of the index as built)."""
        return int(self._bm25.scores["num_docs"]) if self._bm25 is not None else 0

    @property
    def bm25(self) -> bm25s.BM25 | None:
        return self._bm25

    def knows(self, token: str) -> bool:
        """Whether any passage holds this BM25 token."""
        return self._bm25 is not None and token in self._bm25.vocab_dict

    def bm25_scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self.rows), dtype=np.float32)
        if self._bm25 is None:
            return scores
        vocab = self._bm25.vocab_dict
        tokens = [t for t in query_terms(query) if t in vocab]
        if tokens:
            scores = np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
        return scores

    def dense_similarities(self, query_vector: np.ndarray) -> np.ndarray:
        return self.vectors @ np.asarray(query_vector, dtype=np.float32)

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
        """The ``n`` rows most similar to ``query_vector`` and their similarities, best first."""
        n = min(n, len(self.rows))
        if n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self._faiss is not None:
            scores, ids = self._faiss.search(np.asarray(query_vector, dtype=np.float32).reshape(1, -1), n)
            keep = ids[0] >= 0
            return ids[0][keep], scores[0][keep]
        return _top(self.dense_similarities(query_vector), n)

    def search(
        self,
        query: str,
        query_vector: np.ndarray | None,
        *,
        k: int = 10,
        candidates: int = 100,
        method: str = "hybrid",
        bm25_weight: dict[str, float] | None = None,
        fusion: str = "convex",
        rrf_k: int = 60,
        allowed: set[str] | None = None,
    ) -> list[Hit]:
        """The ``k`` best documents for ``query``. ``allowed`` limits results to
        those document ids (the permission filter); ``None`` means all."""
        if not len(self):
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
        ranked = ((fused[i], self.rows[i]) for i in sorted(fused, key=fused.get, reverse=True))
        return group_hits(ranked, k, allowed)


class SegmentedIndex(SearchIndex):
    """A main index and a small delta: the passages of the documents changed since the main one
    was built. The main index's passages of those documents (``replaced``) no longer match; the
    delta's are scored as if they were in the main index (its BM25 statistics, its language
    offsets), so a search ranks about as a rebuilt index would, and an edit costs the delta only.

    Rows ``0..len(main)-1`` are the main index's, the rest the delta's."""

    def __init__(self, main: SearchIndex, delta: SearchIndex, replaced) -> None:  # noqa: D107 — no super(): nothing to build
        self.main, self.delta = main, delta
        self._offset = len(main.rows)
        self._hidden = main.rows_of(replaced)
        self.rows = Rows(main.rows, delta.rows)
        self.languages = np.concatenate([main.languages, delta.languages])
        self.dense_kind = main.dense_kind
        self.dim = main.dim or delta.dim
        self.avgdl = main.avgdl
        self.tokens = None
        # The delta's postings, for BM25 with the main index's statistics.
        self._postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        grouped: dict[str, tuple[list[int], list[int]]] = {}
        for row, tokens in enumerate(delta.tokens or ()):
            for term, tf in Counter(tokens).items():
                rows, tfs = grouped.setdefault(term, ([], []))
                rows.append(row)
                tfs.append(tf)
        for term, (rows, tfs) in grouped.items():
            self._postings[term] = (np.asarray(rows, dtype=np.int64), np.asarray(tfs, dtype=np.float32))
        self._lengths = np.asarray([max(len(t), 1) for t in (delta.tokens or ())], dtype=np.float32)

    def __len__(self) -> int:
        return len(self.rows) - len(self._hidden)

    @property
    def passages(self) -> list[Passage]:
        """The passages a search can return (the replaced ones left out)."""
        hidden = set(self._hidden.tolist())
        return [p for i, p in enumerate(self.rows) if i not in hidden]

    @property
    def bm25(self):
        return self.main.bm25

    def knows(self, token: str) -> bool:
        return token in self._postings or self.main.knows(token)

    def bm25_scores(self, query: str) -> np.ndarray:
        main = self.main.bm25_scores(query)
        main[self._hidden] = 0.0
        delta = np.zeros(len(self.delta.rows), dtype=np.float32)
        terms = Counter(t for t in query_terms(query) if t in self._postings)
        if terms:
            count = self.main.passage_count
            df = self.main.document_frequencies(terms)
            norm = K1 * (1 - B + B * self._lengths / self.avgdl)
            for term, times in terms.items():
                rows, tf = self._postings[term]
                n = df.get(term, 0)
                idf = math.log(1 + (count - n + 0.5) / (n + 0.5))
                delta[rows] += times * idf * tf / (tf + norm[rows])
        return np.concatenate([main, delta])

    def language_offsets(self, query_vector: np.ndarray) -> np.ndarray:
        return (self.main if len(self.main.rows) else self.delta).language_offsets(query_vector)

    def dense_similarities(self, query_vector: np.ndarray) -> np.ndarray:
        sims = np.concatenate([self.main.dense_similarities(query_vector), self.delta.dense_similarities(query_vector)])
        sims[self._hidden] = -np.inf
        return sims

    def dense_scores(self, ids: np.ndarray, query_vector: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        vector = np.asarray(query_vector, dtype=np.float32)
        sims = np.empty(len(ids), dtype=np.float32)
        own = ids < self._offset
        sims[own] = self.main.vectors[ids[own]] @ vector
        sims[~own] = self.delta.vectors[ids[~own] - self._offset] @ vector
        return sims - offsets[self.languages[ids]]

    def dense_candidates(self, query_vector: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self.main._faiss is None:
            return _top(self.dense_similarities(query_vector), min(n, len(self)))
        # The graph still holds the replaced passages: ask it for as many more.
        ids, scores = self.main.dense_candidates(query_vector, n + len(self._hidden))
        keep = ~np.isin(ids, self._hidden)
        delta_ids, delta_scores = self.delta.dense_candidates(query_vector, n)
        ids = np.concatenate([ids[keep], delta_ids + self._offset])
        scores = np.concatenate([scores[keep], delta_scores])
        order = np.argsort(-scores, kind="stable")[:n]
        return ids[order], scores[order]


def _top(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` highest of ``scores`` (ids and values), best first; ``-inf`` never counts."""
    n = min(n, int(np.isfinite(scores).sum()))
    if n <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    ids = np.argpartition(-scores, n - 1)[:n]
    ids = ids[np.argsort(-scores[ids], kind="stable")]
    return ids.astype(np.int64), scores[ids].astype(np.float32)


# How many documents the search page lists (the first ``shown_at_once`` of them at once).
PAGE_HITS = 20


def shown_at_once(scores: list[float], cut: float) -> int:
    """How many of the ranked ``scores`` (best first) a reader sees before "show more": the best,
    and every one scoring at least ``cut`` of it. The search page and ``eval_retrieval`` both count
    with this."""
    if not scores:
        return 0
    floor = cut * scores[0]
    return 1 + sum(1 for score in scores[1:] if score >= floor)


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


def fuse(
    bm_top: dict, dn_top: dict, bm: dict, dn: dict, weights, *, method: str = "hybrid", fusion: str = "convex", rrf_k: int = 60
) -> dict:
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
