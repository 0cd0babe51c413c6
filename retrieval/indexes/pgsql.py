"""A searchable collection of passages in PostgreSQL, ranked as the embedded index ranks them.

- Keywords: each passage keeps its tokens (the same ``text.tokenize`` as the embedded index) in a
  ``tsvector`` with their positions, and BM25 (bm25s's Lucene formula) is computed in SQL from
  stored statistics: a postings table (token → passage, frequency, passage length; read by
  index-only scans), each token's document frequency, and the collection's passage count and
  total length, all written in the same transaction as the passages. A GIN index over the
  ``tsvector`` was measured first: finding the candidates was quick, but scoring them meant
  reading every candidate's ``tsvector`` (74–334 ms a query at 31,000 passages).
- Vectors: a pgvector HNSW index per collection and dimension.
- Candidates from both sides meet in ``engine.fuse``, as in the embedded index.

Knows nothing of documents or users: the caller passes the permission filter as SQL (a subquery
of the document ids the asker may see), which is joined in the query itself.
"""

# Table names, a validated collection name and integer dimensions are the only values written
# into the SQL text (the planner must see the collection and dimension to use a partial index);
# everything else is a parameter.
# ruff: noqa: S608

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connections, transaction

from ..engine import LANGUAGES, Hit, Passage, fuse, group_hits, query_terms, weight_table
from ..text import detect_language, passage_language, tokenize

# bm25s's defaults (Lucene's BM25), so both backends score a passage alike.
K1 = 1.5
B = 0.75
# Passages drawn as keyword candidates come from the query's rarer terms while together they
# occur in at most this many passages; the commoner terms still count in every candidate's
# score. Below that many passages in a collection (XQuAD, a company of thousands of documents)
# this changes nothing; at 400,000 a word like "proje" in half the passages would otherwise
# make every query score 200,000 rows.
MAX_CANDIDATE_POSTINGS = 12_000
LANGUAGE_SAMPLE = 512
MIN_LANGUAGE_SAMPLE = 20
SAMPLE_SECONDS = 300.0
PASSAGES = "retrieval_indexedpassage"
TERMS = "retrieval_indexterm"
POSTINGS = "retrieval_indexposting"
COLLECTIONS = "retrieval_indexcollection"
_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")


@dataclass
class NewPassage:
    position: int
    section: str
    text: str
    language: int
    tokens: list[str]
    vector: np.ndarray


def hnsw_ef_search(candidates: int) -> int:
    """The HNSW search breadth that yields ``candidates`` neighbours (pgvector's range: 1-1000)."""
    return max(40, min(int(candidates), 1000))


def tsvector_literal(tokens: Iterable[str]) -> str:
    """Tokens in order as a ``tsvector`` whose positions give each token's frequency."""
    positions: dict[str, list[int]] = {}
    for n, token in enumerate(tokens, 1):
        positions.setdefault(token, []).append(min(n, 16383))
    return " ".join(f"{_quote(t)}:{','.join(map(str, p[:256]))}" for t, p in positions.items())


def _quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(map(repr, np.asarray(vector, dtype=np.float32).tolist())) + "]"


def parse_vector(text: str) -> np.ndarray:
    return np.array(text.strip("[]").split(","), dtype=np.float32)


_samples: dict[tuple[str, str], tuple[float, int, dict[int, np.ndarray]]] = {}
_samples_lock = threading.Lock()


class PgCollection:
    """One collection (``staff``, ``hr``, or a benchmark's corpus) in one database."""

    def __init__(self, name: str, *, using: str = "default", read_using: str | None = None) -> None:
        if not _NAME.match(name):
            raise ValueError(f"collection name {name!r}: lower-case letters, digits, - and _ only")
        self.name = name
        self.using = using
        self.read_using = read_using or using

    # --- writing (in the caller's transaction) ----------------------------------------

    def _vector_index(self, dim: int) -> str:
        return f"retrieval_passage_hnsw_{self.name.replace('-', '_')}_{int(dim)}"

    def ensure(self, *, embedder: str, dim: int) -> None:
        """The collection's row and the HNSW index for its vectors (one per dimension; a first bulk
        load drops it and calls this again at the end, several times quicker than growing the index
        passage by passage)."""
        with transaction.atomic(using=self.using), connections[self.using].cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {COLLECTIONS} (name, embedder, dim, passages, total_length, updated_at) "
                "VALUES (%s, %s, %s, 0, 0, now()) ON CONFLICT (name) DO NOTHING",
                [self.name, embedder, dim],
            )
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {self._vector_index(dim)} ON {PASSAGES} USING hnsw "
                f"((embedding::vector({int(dim)})) vector_ip_ops) WITH (m = 16, ef_construction = 64) "
                f"WHERE collection = '{self.name}' AND dim = {int(dim)}"
            )

    def drop_vector_index(self, dim: int) -> None:
        with connections[self.using].cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {self._vector_index(dim)}")

    def info(self) -> dict | None:
        with connections[self.read_using].cursor() as cursor:
            cursor.execute(
                f"SELECT embedder, dim, passages, total_length, built_at FROM {COLLECTIONS} WHERE name = %s", [self.name]
            )
            row = cursor.fetchone()
        if row is None:
            return None
        return {"embedder": row[0], "dim": row[1], "passages": row[2], "total_length": row[3], "built_at": row[4]}

    def vectors_of(self, keys: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these documents' passages, by passage text (reused when unchanged)."""
        with connections[self.using].cursor() as cursor:
            cursor.execute(
                f"SELECT text, embedding::text FROM {PASSAGES} WHERE collection = %s AND key = ANY(%s)", [self.name, keys]
            )
            return {text: parse_vector(vector) for text, vector in cursor.fetchall()}

    def replace(self, keys: list[str], passages: dict[str, tuple[int | None, list[NewPassage]]], *, dim: int) -> None:
        """Replace the passages of documents ``keys`` with ``passages[key] = (document id, list)``
        (a key without an entry loses its passages), with their postings and the statistics."""
        with connections[self.using].cursor() as cursor:
            cursor.execute(
                f"SELECT p.id, u.lexeme FROM {PASSAGES} p, unnest(p.terms) u WHERE p.collection = %s AND p.key = ANY(%s)",
                [self.name, keys],
            )
            old = cursor.fetchall()
            delta: Counter[str] = Counter()
            for _, term in old:
                delta[term] -= 1
            if old:
                cursor.execute(
                    f"DELETE FROM {POSTINGS} o USING unnest(%s::text[], %s::bigint[]) d(term, passage) "
                    "WHERE o.collection = %s AND o.term = d.term AND o.passage_id = d.passage",
                    [[t for _, t in old], [i for i, _ in old], self.name],
                )
            cursor.execute(f"DELETE FROM {PASSAGES} WHERE collection = %s AND key = ANY(%s) RETURNING length", [self.name, keys])
            removed = [row[0] for row in cursor.fetchall()]
            items = [
                (key, document_id, item)
                for key in keys
                for document_id, listed in [passages.get(key, (None, []))]
                for item in listed
            ]
            if items:
                # Ids drawn first, so the postings can name their passages in the same COPY pass.
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [PASSAGES, len(items)]
                )
                ids = [row[0] for row in cursor.fetchall()]
                with cursor.cursor.copy(
                    f"COPY {PASSAGES} (id, collection, document_id, key, position, section, text, language, "
                    "length, terms, embedding, dim) FROM STDIN"
                ) as copy:
                    for pid, (key, document_id, item) in zip(ids, items, strict=True):
                        copy.write_row(
                            (
                                pid,
                                self.name,
                                document_id,
                                key,
                                item.position,
                                item.section[:200],
                                item.text,
                                item.language,
                                len(item.tokens),
                                tsvector_literal(item.tokens),
                                vector_literal(item.vector),
                                dim,
                            )
                        )
                with cursor.cursor.copy(f"COPY {POSTINGS} (collection, term, passage_id, tf, length) FROM STDIN") as copy:
                    for pid, (_, _, item) in zip(ids, items, strict=True):
                        counts = Counter(item.tokens)
                        delta.update(counts.keys())
                        for term, tf in counts.items():
                            copy.write_row((self.name, term, pid, min(tf, 32767), len(item.tokens)))
            changes = sorted((term, count) for term, count in delta.items() if count)
            if changes:
                # In term order, so two writers lock the rows they share in the same order.
                cursor.execute(
                    f"INSERT INTO {TERMS} (collection, term, df) SELECT %s, t, d FROM unnest(%s::text[], %s::bigint[]) "
                    "AS c(t, d) ORDER BY t ON CONFLICT (collection, term) DO UPDATE SET df = "
                    f"{TERMS}.df + EXCLUDED.df",
                    [self.name, [t for t, _ in changes], [c for _, c in changes]],
                )
                cursor.execute(
                    f"DELETE FROM {TERMS} WHERE collection = %s AND term = ANY(%s) AND df <= 0",
                    [self.name, [t for t, c in changes if c < 0]],
                )
            cursor.execute(
                f"UPDATE {COLLECTIONS} SET passages = passages + %s, total_length = total_length + %s, "
                "updated_at = now() WHERE name = %s",
                [len(items) - len(removed), sum(len(item.tokens) for _, _, item in items) - sum(removed), self.name],
            )

    def clear(self) -> None:
        with connections[self.using].cursor() as cursor:
            cursor.execute(f"DELETE FROM {PASSAGES} WHERE collection = %s", [self.name])
            cursor.execute(f"DELETE FROM {POSTINGS} WHERE collection = %s", [self.name])
            cursor.execute(f"DELETE FROM {TERMS} WHERE collection = %s", [self.name])
            cursor.execute(f"DELETE FROM {COLLECTIONS} WHERE name = %s", [self.name])

    def drop(self) -> None:
        """Remove the collection and its HNSW indexes (a benchmark's corpus, once measured)."""
        self.clear()
        with connections[self.using].cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname LIKE %s",
                [PASSAGES, f"retrieval_passage_hnsw_{self.name.replace('-', '_')}_%"],
            )
            for (index,) in cursor.fetchall():
                cursor.execute(f'DROP INDEX IF EXISTS "{index}"')

    def __len__(self) -> int:
        info = self.info()
        return info["passages"] if info else 0

    def keys(self) -> set[str]:
        with connections[self.using].cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT key FROM {PASSAGES} WHERE collection = %s", [self.name])
            return {row[0] for row in cursor.fetchall()}

    # --- reading ----------------------------------------------------------------------

    def knows(self, term: str) -> bool:
        with connections[self.read_using].cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {TERMS} WHERE collection = %s AND term = %s AND df > 0", [self.name, term])
            return cursor.fetchone() is not None

    def _sample(self, cursor, count: int) -> dict[int, np.ndarray]:
        """Vectors of up to LANGUAGE_SAMPLE passages per language (``{language: vectors}``), kept
        in this process and drawn afresh every few minutes or when the collection's size moved by a
        fifth: the dense scores' language offsets are medians over them, as in ``engine``."""
        now = time.monotonic()
        key = (self.read_using, self.name)
        with _samples_lock:
            cached = _samples.get(key)
        if cached is not None and now - cached[0] < SAMPLE_SECONDS and abs(cached[1] - count) <= count / 5:
            return cached[2]
        if count <= 8 * LANGUAGE_SAMPLE:
            cursor.execute(f"SELECT id, language FROM {PASSAGES} WHERE collection = %s ORDER BY id", [self.name])
        else:
            # Random ids between the collection's first and last: index lookups, no scan.
            cursor.execute(f"SELECT min(id), max(id) FROM {PASSAGES} WHERE collection = %s", [self.name])
            low, high = cursor.fetchone()
            rng = random.Random(0)
            draw = sorted({rng.randint(low, high) for _ in range(16 * LANGUAGE_SAMPLE)})
            cursor.execute(f"SELECT id, language FROM {PASSAGES} WHERE collection = %s AND id = ANY(%s)", [self.name, draw])
        by_language: dict[int, list[int]] = {}
        for pid, language in cursor.fetchall():
            by_language.setdefault(language, []).append(pid)
        vectors: dict[int, np.ndarray] = {}
        if len(by_language) == len(LANGUAGES) and all(len(v) >= MIN_LANGUAGE_SAMPLE for v in by_language.values()):
            rng = random.Random(0)
            ids = sorted(
                pid for members in by_language.values() for pid in rng.sample(members, min(len(members), LANGUAGE_SAMPLE))
            )
            cursor.execute(f"SELECT language, embedding::text FROM {PASSAGES} WHERE id = ANY(%s)", [ids])
            rows: dict[int, list[np.ndarray]] = {}
            for language, text in cursor.fetchall():
                rows.setdefault(language, []).append(parse_vector(text))
            vectors = {language: np.stack(items) for language, items in rows.items()}
        with _samples_lock:
            _samples[key] = (now, count, vectors)
        return vectors

    def search(
        self,
        query: str,
        query_vector: np.ndarray | None,
        *,
        k: int = 10,
        candidates: int = 100,
        method: str = "hybrid",
        bm25_weight: dict | None = None,
        fusion: str = "convex",
        rrf_k: int = 60,
        allowed_sql: tuple[str, list] | None = None,
        info: dict | None = None,
    ) -> list[Hit]:
        """The ``k`` best documents for ``query`` among those ``allowed_sql`` selects (a query
        returning document ids; ``None``: every passage of the collection). ``info``: the
        collection's row (``info()``), when the caller has just read it."""
        using = self.read_using
        # Connections start with hnsw.ef_search set for RETRIEVAL_CANDIDATES and iterative scans on
        # (settings: DATABASES OPTIONS); another candidate count is set for this search alone.
        local = int(candidates) != getattr(settings, "RETRIEVAL_HNSW_EF_SEARCH", 0)
        with transaction.atomic(using=using) if local else nullcontext(), connections[using].cursor() as cursor:
            if info is None:
                info = self.info()
            if info is None or not info["passages"]:
                return []
            dim, count, total_length = info["dim"], info["passages"], info["total_length"]
            avgdl = max(total_length / count, 1e-9)
            allowed, allowed_params = ("", [])
            if allowed_sql is not None:
                allowed, allowed_params = f" AND p.document_id IN ({allowed_sql[0]})", list(allowed_sql[1])

            terms: list[str] = []
            weights: list[float] = []
            chosen: list[str] = []
            bm_top: dict[int, float] = {}
            if method in ("bm25", "hybrid"):
                wanted = query_terms(query)
                cursor.execute(
                    f"SELECT term, df FROM {TERMS} WHERE collection = %s AND term = ANY(%s) AND df > 0",
                    [self.name, sorted(set(wanted))],
                )
                df = dict(cursor.fetchall())
                counts = Counter(t for t in wanted if t in df)
                terms = sorted(counts)
                weights = [counts[t] * math.log(1 + (count - df[t] + 0.5) / (df[t] + 0.5)) for t in terms]
                postings = 0
                for term in sorted(terms, key=lambda t: df[t]):
                    if chosen and postings + df[term] > MAX_CANDIDATE_POSTINGS:
                        break
                    chosen.append(term)
                    postings += df[term]
                if chosen:
                    # The best passages by the chosen terms, from the postings alone (index-only), then
                    # those the asker may see: a pool three times the candidates leaves room for the
                    # few the permission filter drops, and when it drops more the pool grows.
                    pool = 3 * candidates
                    while True:
                        cursor.execute(
                            f"WITH top AS (SELECT o.passage_id, {POSTING_BM25} AS score FROM {POSTINGS} o "
                            "JOIN unnest(%s::text[], %s::float8[]) q(term, w) ON q.term = o.term "
                            "WHERE o.collection = %s AND o.term = ANY(%s) "
                            "GROUP BY o.passage_id ORDER BY score DESC LIMIT %s) "
                            f"SELECT top.passage_id, top.score FROM top JOIN {PASSAGES} p ON p.id = top.passage_id "
                            f"WHERE TRUE{allowed} ORDER BY top.score DESC LIMIT %s",
                            [avgdl, terms, weights, self.name, chosen, pool, *allowed_params, candidates],
                        )
                        found = cursor.fetchall()
                        if len(found) >= candidates or pool >= postings:
                            break
                        pool *= 4
                    bm_top = {pid: float(score) for pid, score in found if score > 0}

            dn_top: dict[int, float] = {}
            vector = None
            if query_vector is not None and method in ("dense", "hybrid"):
                vector = vector_literal(query_vector)
                distance = f"(p.embedding::vector({int(dim)}) <#> %s::vector({int(dim)}))"
                if local:
                    cursor.execute(f"SET LOCAL hnsw.ef_search = {hnsw_ef_search(candidates)}")
                    cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
                # The collection and dimension are written into the query so that the planner
                # matches the collection's partial HNSW index.
                cursor.execute(
                    f"SELECT p.id, {distance} AS d FROM {PASSAGES} p "
                    f"WHERE p.collection = '{self.name}' AND p.dim = {int(dim)}{allowed} ORDER BY d LIMIT %s",
                    [vector, *allowed_params, candidates],
                )
                dn_top = {pid: -float(d) for pid, d in cursor.fetchall()}

            union = sorted(set(bm_top) | set(dn_top))
            if not union:
                return []
            dense = f"-(p.embedding::vector({int(dim)}) <#> %s::vector({int(dim)}))" if vector else "0"
            # Each candidate's score on the side that did not find it (a passage found by one side
            # only is not punished for missing the other's list), and its full BM25 (the
            # candidates were drawn by the rarer terms only); no text yet.
            cursor.execute(
                f"SELECT p.id, p.key, p.language, CASE WHEN p.id = ANY(%s) THEN NULL ELSE {dense} END "
                f"FROM {PASSAGES} p WHERE p.id = ANY(%s)",
                [list(dn_top), *([vector] if vector else []), union],
            )
            rows = {r[0]: r for r in cursor.fetchall()}
            # Full BM25 (every query term) for the passages the keyword side did not score in full:
            # found by the dense side only, or drawn by the rarer terms while commoner ones were left
            # out; from their own tokens (a few hundred rows).
            full: dict[int, float] = dict(bm_top) if len(chosen) == len(terms) else {}
            rescore = [i for i in union if i not in full]
            if terms and rescore:
                cursor.execute(
                    f"SELECT p.id, {TOKENS_BM25} FROM {PASSAGES} p CROSS JOIN LATERAL unnest(p.terms) u "
                    "JOIN unnest(%s::text[], %s::float8[]) q(term, w) ON q.term = u.lexeme "
                    "WHERE p.id = ANY(%s) GROUP BY p.id",
                    [avgdl, terms, weights, rescore],
                )
                full.update((pid, float(score)) for pid, score in cursor.fetchall())
            offsets = np.zeros(len(LANGUAGES), dtype=np.float32)
            if vector is not None:
                sample = self._sample(cursor, count)
                if len(sample) == len(LANGUAGES) and all(len(v) >= MIN_LANGUAGE_SAMPLE for v in sample.values()):
                    q = np.asarray(query_vector, dtype=np.float32)
                    for language, vectors in sample.items():
                        if vectors.shape[1] == len(q):
                            offsets[language] = float(np.median(vectors @ q))
        union = [i for i in union if i in rows]  # a passage replaced meanwhile
        languages = {i: rows[i][2] for i in union}
        bm = {i: full.get(i, 0.0) for i in union} if method != "dense" else {}
        bm_top = {i: full.get(i, s) for i, s in bm_top.items()}
        dn = {}
        if vector is not None:
            raw = {i: dn_top[i] if i in dn_top else float(rows[i][3]) for i in union}
            dn = {i: raw[i] - float(offsets[languages[i]]) for i in union}
        dn_top = {i: dn[i] for i in dn_top if i in dn}
        bm_top = {i: s for i, s in bm_top.items() if i in rows}
        shares = None
        if method == "hybrid":
            table = weight_table(bm25_weight)[LANGUAGES.index(detect_language(query))]
            shares = {i: float(table[languages[i]]) for i in union}
        fused = fuse(bm_top, dn_top, bm, dn, shares, method=method, fusion=fusion, rrf_k=rrf_k)
        order = sorted(fused, key=lambda i: (-fused[i], i))
        # Text only for the passages of the ``k`` documents found.
        picked: set[str] = set()
        for i in order:
            if len(picked) >= k:
                break
            picked.add(rows[i][1])
        keep = [i for i in order if rows[i][1] in picked]
        with connections[using].cursor() as cursor:
            cursor.execute(f"SELECT id, text, section FROM {PASSAGES} WHERE id = ANY(%s)", [keep])
            texts = {pid: (text, section) for pid, text, section in cursor.fetchall()}
        ranked = ((fused[i], Passage(rows[i][1], texts[i][0], {"section": texts[i][1]})) for i in keep if i in texts)
        return group_hits(ranked, k)


def _bm25_sum(tf: str, length: str) -> str:
    """BM25 (bm25s's Lucene form) summed over the matched query terms ``q(term, w)``, ``w`` being each
    term's idf times its count in the query; ``tf`` and ``length`` are SQL for the term's frequency
    in the passage and the passage's length. Takes avgdl as its one parameter."""
    return f"SUM(q.w * {tf} / ({tf} + {K1} * (1 - {B} + {B} * {length} / %s::float8)))"


POSTING_BM25 = _bm25_sum("o.tf", "o.length")
TOKENS_BM25 = _bm25_sum("array_length(u.positions, 1)", "p.length")


def new_passages(passages: list[Passage], vectors) -> dict[str, tuple[None, list[NewPassage]]]:
    """Passages with their vectors as ``replace`` takes them (no document behind them: a benchmark's
    corpus), numbered in order within each key."""
    rows: dict[str, tuple[None, list[NewPassage]]] = {}
    for passage, vector in zip(passages, vectors, strict=True):
        items = rows.setdefault(passage.doc_id, (None, []))[1]
        items.append(
            NewPassage(
                len(items), "", passage.text, LANGUAGES.index(passage_language(passage.text)), tokenize(passage.text), vector
            )
        )
    return rows


__all__ = ["B", "K1", "MAX_CANDIDATE_POSTINGS", "NewPassage", "PgCollection", "new_passages", "tsvector_literal"]
