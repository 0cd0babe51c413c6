"""The offline answerer: no model, no key, deterministic. It answers with the sentence
of the retrieved passages that best matches the question, whole, and a second one
only when it adds something asked about and fits whole; each is followed by its
citation. It says plainly when the company knowledge does not cover the question.

Measured on XQuAD with hybrid retrieval and multilingual-e5-small (answer holds a gold
answer / its first sentence does / cites the gold paragraph / median words): Turkish
78.3% / 77.7% / 93.9% / 23, English 82.9% / 82.5% / 97.1% / 28 (with the English-only
MiniLM: Turkish 75.0% / 74.4% / 90.8%).
The naive "top paragraph, best BM25 sentence" holds a gold answer in 61.8% / 72.9%.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..chunking import TAGS_LABEL
from ..glossary import query_tokens
from ..text import fold, tokenize
from .base import Options, Provider, Source

MAX_WORDS = 25
MAX_SENTENCES = 3
# The share of a sentence's meaning-similarity to the question in its score, when the
# embedder understands the question's language (MiniLM: English only).
DENSE_WEIGHT = {"tr": 0.5, "en": 0.5}
RANK_PENALTY = 0.15
NUMBER_BONUS = 0.1
# "Bordro kapanışı nedir?", "What is the travel policy?": a question whose words all name one of
# the sources (its title) is answered by that document's own opening sentence, in whatever
# language the document is written, even where no other word of the question meets it.
NAMED_BONUS = 1.0
_QUANTITY = re.compile(
    r"\b(kaç\w*|kac\w*|ne kadar|ne zaman|saat\w*|hangi tarih\w*|how (many|much|long|often|soon)|"
    r"when|what time|which year|what year|hours?|deadline|limit\w*|süre\w*)\b",
    re.I,
)
_DIGIT = re.compile(r"\d")
_TIGHT = re.compile(r"\s+([.,;:!?)]|['’][a-zçğıöşü])")
# Phrases of the question found as they are. Turkish suffixes change the word forms,
# so the pairs rarely match there and only add noise.
BIGRAM_WEIGHT = {"tr": 0.0, "en": 0.2}
# On the embedder's relatedness scale (0 unrelated … 1 the same).
MIN_DENSE_SUPPORT = 0.35
DENSE_SHORTLIST = 12
SENTENCE_CACHE_SIZE = 20_000

NOT_COVERED = {
    "tr": "Şirket bilgi kaynaklarında bu soruyu yanıtlayan bir bilgi bulamadım.",
    "en": "I could not find anything in the company knowledge that answers this question.",
}

# A sentence ends at . ! ? … before a capital, but not after an initial ("John C. Messenger").
_SENTENCE_END = re.compile(r"(?<![\s(][A-ZÇĞİÖŞÜ]\.)(?<=[.!?…])\s+(?=[A-ZÇĞİÖŞÜ0-9\"'“(\[])")
# List items flattened into a passage (" - item", " 2. item") are sentences of their own.
_LIST_ITEM = re.compile(r"(?:^|(?<=[.!?…:;]))\s*(?:[-•*]|\d{1,2}[.)])\s+")
_BARE = re.compile(r"[\w\s/]{0,40}:|\d{1,2}[.)]?")
_QUESTION_WORDS = frozenset(
    tokenize(
        "what which who whom whose when where why how many much did does do was were is are "
        "kim kimin kime ne neyi nedir neler hangi hangisi kaç kaçta nasıl neden niçin nerede nereye nereden zaman "
        "mıdır midir"
    )
)


@dataclass
class _Candidate:
    source: Source
    rank: int
    text: str
    tokens: frozenset[str]


def _sentences(passage: str, title: str) -> list[str]:
    # Passages start with their document's title ("Title. …" or "Title — Section. …").
    body = passage
    if title and body.startswith(title):
        head, sep, rest = body.partition(". ")
        if sep and len(head) <= len(title) + 80:
            body = rest
    sentences = []
    for item in _LIST_ITEM.split(body):
        sentences += [s.strip() for s in _SENTENCE_END.split(item)]
    # A bare list number or a label with nothing after it ("Steps:") answers nothing.
    return [s for s in sentences if len(s) > 1 and not _BARE.fullmatch(s) and not s.startswith(TAGS_LABEL)]


class LocalProvider(Provider):
    name = "local"
    model = "extractive-v1"

    def __init__(self, embedder: str | None = None, max_words: int = MAX_WORDS) -> None:
        self.embedder_name = embedder
        self.max_words = max_words
        self._cache: dict[tuple[object, str], np.ndarray] = {}
        self._cache_lock = threading.Lock()

    def _embedder(self):
        from ..embeddings import get_embedder

        return get_embedder(self.embedder_name)

    def compose(self, options: Options) -> str:
        if options.prepared is not None:
            return options.prepared
        language = options.language if options.language in NOT_COVERED else "en"
        asked = set(query_tokens(options.question))
        question_tokens = asked - _QUESTION_WORDS or asked
        candidates = [
            _Candidate(source, rank, sentence, frozenset(tokenize(sentence)))
            for rank, source in enumerate(options.sources[:3])
            for passage in source.passages[:3]
            for sentence in _sentences(passage, source.title)
        ]
        if not candidates or not question_tokens:
            return NOT_COVERED[language]
        frequency: dict[str, int] = {}
        for candidate in candidates:
            for token in candidate.tokens & question_tokens:
                frequency[token] = frequency.get(token, 0) + 1
        n = len(candidates)
        weight = {t: float(np.log(1 + n / frequency.get(t, n))) for t in question_tokens}
        best_possible = sum(weight.values()) or 1.0
        lexical = [sum(weight[t] for t in c.tokens & question_tokens) / best_possible for c in candidates]
        dense = [0.0] * n
        embedder = self._embedder()
        dense_weight = DENSE_WEIGHT.get(language, 0.0) if embedder.understands(language) else 0.0
        if dense_weight or max(lexical) == 0:
            # Only the sentences that could still win are embedded: a sentence that is
            # far behind on words cannot catch up on meaning alone (dense ≤ 1).
            if max(lexical) > 0:
                ranked = sorted(range(n), key=lambda i: lexical[i] - RANK_PENALTY * candidates[i].rank, reverse=True)
                shortlist = ranked[:DENSE_SHORTLIST]
            else:
                shortlist = list(range(n))
            vectors = self._sentence_vectors(embedder, [candidates[i].text for i in shortlist], owner=options.owner)
            query = embedder.embed_query(options.question, owner=options.owner)
            for i, vector in zip(shortlist, vectors, strict=True):
                dense[i] = embedder.relatedness(float(vector @ query))
        # The opening sentence of a source the question names by its title.
        named_words = frozenset(tokenize(options.question)) - _QUESTION_WORDS
        opening: set[int] = set()
        for i, candidate in enumerate(candidates):
            if (
                named_words
                and named_words <= frozenset(tokenize(candidate.source.title))
                and not any(c.source is candidate.source for c in candidates[:i])
            ):
                opening.add(i)
        if max(lexical) == 0 and max(dense) < MIN_DENSE_SUPPORT and not opening:
            return NOT_COVERED[language]
        bigram_weight = BIGRAM_WEIGHT.get(language, 0.0)
        pairs = self._question_pairs(options.question) if bigram_weight else []
        # "Kaç gün?", "How long?", "When?": the sentence with the number or the time answers it.
        wants_number = bool(_QUANTITY.search(options.question))
        scores = [
            lexical[i]
            + dense_weight * dense[i]
            + bigram_weight * self._bigrams(pairs, c.text)
            - RANK_PENALTY * c.rank
            + (NUMBER_BONUS if wants_number and _DIGIT.search(c.text) else 0.0)
            + (NAMED_BONUS if i in opening else 0.0)
            for i, c in enumerate(candidates)
        ]
        order = sorted(range(n), key=scores.__getitem__, reverse=True)[:MAX_SENTENCES]
        # The best sentence, whole; another only when it adds something the question asks
        # about and fits whole. A sentence is never cut, nor a fact said twice.
        best = candidates[order[0]]
        parts = [f"{best.text} [{best.source.n}]"]
        used = len(best.text.split())
        covered = set(best.tokens & question_tokens)
        seen = {fold(best.text)}
        for i in order[1:]:
            candidate = candidates[i]
            adds = (candidate.tokens & question_tokens) - covered
            size = len(candidate.text.split())
            if not adds or used + size > self.max_words or fold(candidate.text) in seen:
                continue
            parts.append(f"{candidate.text} [{candidate.source.n}]")
            used += size
            covered |= adds
            seen.add(fold(candidate.text))
        # Joined fields and stripped bold must not leave "per year ." or "TL 'dir" behind.
        return _TIGHT.sub(r"\1", " ".join(parts))

    @staticmethod
    def _question_pairs(question: str) -> list[str]:
        """Adjacent word pairs of the question ("super bowl", "oldest quarterback"),
        leaving out pairs made only of question words ("how many")."""
        words = [w.strip("?.,!;:'\"") for w in fold(question).split()]
        words = [w for w in words if w]
        return [
            f"{a} {b}"
            for a, b in zip(words, words[1:], strict=False)
            if not (set(tokenize(a)) <= _QUESTION_WORDS and set(tokenize(b)) <= _QUESTION_WORDS)
        ]

    @staticmethod
    def _bigrams(pairs: list[str], text: str) -> float:
        """The share of the question's word pairs that the sentence holds as they are."""
        if not pairs:
            return 0.0
        folded = fold(text)
        return sum(pair in folded for pair in pairs) / len(pairs)

    def _sentence_vectors(self, embedder, texts: list[str], *, owner: object = None) -> list[np.ndarray]:
        """Sentence vectors, cached per asker: the same documents answer many of their
        questions, and a shared entry would tell by its speed which documents answered
        someone else's."""
        with self._cache_lock:
            known = {t: self._cache[(owner, t)] for t in texts if (owner, t) in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            fresh = dict(zip(missing, embedder.embed_documents(missing), strict=True))
            known.update(fresh)
            with self._cache_lock:
                for text, vector in fresh.items():
                    if len(self._cache) >= SENTENCE_CACHE_SIZE:
                        self._cache.pop(next(iter(self._cache)))
                    self._cache[(owner, text)] = vector
        return [known[t] for t in texts]

    def stream(self, messages: list[dict], options: Options) -> Iterator[str]:
        answer = self.compose(options)
        # Split at spaces only: a list's line breaks stay inside the words that carry them.
        words = answer.split(" ")
        for i, word in enumerate(words):
            yield word if i == 0 else " " + word
