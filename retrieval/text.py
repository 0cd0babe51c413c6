"""Tokenizing Turkish and English for BM25.

Each word is lowercased with Turkish rules (İ→i, I→ı), stemmed with Snowball
(Turkish and English), then folded to ASCII (ı→i, ş→s, ü→u…). So ``İzin``,
``izin`` and ``IZIN`` meet, and so do text typed without Turkish letters and text
with them (``yillik``/``yıllık``, ``mudur``/``müdür``). Company documents mix
both languages in one passage, so no per-text language guess decides the stems.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import Stemmer

from knowledge.text import fold, turkish_lower

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_TURKISH_LETTERS = set("ğışçöüĞİŞÇÖÜ")
# Frequent Turkish function words and question words that carry no Turkish letter.
_TURKISH_HINTS = {
    "ve",
    "bir",
    "bu",
    "da",
    "de",
    "ile",
    "mi",
    "mu",
    "ne",
    "kim",
    "nasil",
    "nedir",
    "hangi",
    "kac",
    "icin",
    "olan",
    "gibi",
    "daha",
    "en",
    "ya",
    "veya",
    "ama",
    "nerede",
    "zaman",
    "ki",
    "olarak",
    "var",
    "yok",
    "midir",
}
_ENGLISH_HINTS = {
    "the",
    "and",
    "of",
    "to",
    "in",
    "is",
    "what",
    "who",
    "which",
    "how",
    "for",
    "on",
    "with",
    "does",
    "did",
    "are",
    "was",
    "were",
    "when",
    "where",
    "why",
    "an",
    "a",
    "by",
    "from",
    "that",
    "this",
    "know",
    "knows",
}

STOPWORDS = frozenset(
    {
        # English
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "do",
        "does",
        "did",
        # Turkish (folded)
        "ve",
        "veya",
        "ile",
        "bir",
        "bu",
        "su",
        "o",
        "da",
        "de",
        "ki",
        "mi",
        "mu",
        "icin",
        "gibi",
        "ama",
        "ya",
    }
)

_local = threading.local()


def detect_language(text: str) -> str:
    """``tr`` or ``en``, by Turkish letters and frequent words; good enough to pick a stemmer."""
    if any(ch in _TURKISH_LETTERS for ch in text):
        return "tr"
    words = [fold(w) for w in _WORD.findall(text[:2000])]
    tr = sum(w in _TURKISH_HINTS for w in words)
    en = sum(w in _ENGLISH_HINTS for w in words)
    return "tr" if tr > en else "en"


def passage_language(text: str) -> str:
    """``tr`` or ``en`` for a passage: the language most of its words are in. Unlike
    ``detect_language`` (for short questions), one Turkish name in an English paragraph does not
    make it Turkish: a word with a Turkish letter counts as a Turkish word, as do frequent
    Turkish words, against frequent English ones. (About 20 µs a passage: an index of 100,000
    passages reads its languages in 2 s, and stores them.)"""
    head = text[:4000]
    tr = len(_TURKISH_WORD.findall(head))
    en = 0
    for word in _ASCII_WORD.findall(head.lower()):
        if word in _ENGLISH_HINTS:
            en += 1
        elif word in _TURKISH_HINTS:
            tr += 1
    return "tr" if tr > en else "en"


_TURKISH_WORD = re.compile(r"[^\W\d_]*[ğışçöüĞİŞÇÖÜ][^\W\d_]*")
# Words of ASCII letters only, not inside a longer word ("the" of "theater" is no word).
_ASCII_WORD = re.compile(r"(?<![^\W\d_])[a-z]+(?![^\W\d_])")


def _stemmer(language: str) -> Stemmer.Stemmer:
    # PyStemmer objects are not thread-safe: one per thread and language.
    stemmers = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    if language not in stemmers:
        stemmers[language] = Stemmer.Stemmer("turkish" if language == "tr" else "english")
    return stemmers[language]


@lru_cache(maxsize=200_000)
def _stem(word: str, language: str) -> str:
    return fold(_stemmer(language).stemWord(word))


def words(text: str) -> list[str]:
    """The words of ``text``, Turkish-lowercased, apostrophe suffixes split off
    (``Ankara'da`` → ``ankara``)."""
    result = []
    for match in _WORD.findall(turkish_lower(unicodedata.normalize("NFC", text))):
        word = re.split(r"['’]", match, maxsplit=1)[0]
        if word:
            result.append(word)
    return result


PREFIX_LENGTH = 4


def tokenize(text: str) -> list[str]:
    """BM25 tokens, the same for documents and queries and for both languages:
    per word its Turkish and its English Snowball stem (one token when they agree)
    and, for longer words, its first four folded letters. Turkish is agglutinative
    and Snowball under-stems many forms; the prefix lets ``izinlerimizden`` meet
    ``izin``. Measured on XQuAD (BM25 alone, nDCG@10): Turkish 0.954, English 0.972,
    against 0.936 and 0.965 with one stemmer per detected language."""
    tokens = []
    for word in words(text):
        tr = _stem(word, "tr")
        en = _stem(word, "en")
        if tr not in STOPWORDS:
            tokens.append(tr)
        if en != tr and en not in STOPWORDS:
            tokens.append(en)
        folded = fold(word)
        if len(folded) > PREFIX_LENGTH and not folded.isdigit():
            tokens.append("~" + folded[:PREFIX_LENGTH])
    return tokens
