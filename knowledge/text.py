"""Turkish-aware helpers for plain text matching.

Databases fold case with ASCII or locale rules, so ``izin`` does not find
``İzin`` (SQLite) and ``IZIN`` may not match ``ızın``. A short term is searched in
its Turkish case variants instead.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.translation import get_language

_UPPER = str.maketrans({"i": "İ", "ı": "I"})
_LOWER = str.maketrans({"İ": "i", "I": "ı"})
_FOLD = str.maketrans({"ı": "i", "ş": "s", "ğ": "g", "ü": "u", "ö": "o", "ç": "c", "â": "a", "î": "i", "û": "u"})


def tr_upper(text: str) -> str:
    return text.translate(_UPPER).upper()


def tr_lower(text: str) -> str:
    return text.translate(_LOWER).lower()


def case_variants(term: str) -> set[str]:
    """The term as typed, lower, upper and capitalised, under both Turkish and
    ordinary rules (so ``izin`` also looks for ``İzin`` and ``Izin``)."""
    variants = {term, term.lower(), term.upper(), tr_lower(term), tr_upper(term)}
    for word in (term.lower(), tr_lower(term)):
        if word:
            variants.add(tr_upper(word[0]) + word[1:])
            variants.add(word[0].upper() + word[1:])
    return {v for v in variants if v}


def turkish_lower(text: str) -> str:
    return tr_lower(text)


def fold(text: str) -> str:
    """ASCII folding after Turkish lowercasing (``İzin`` → ``izin``, ``Şahin`` →
    ``sahin``); other accents are stripped too."""
    text = tr_lower(text).translate(_FOLD)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# The Turkish alphabet, with q, w and x where the Latin alphabet has them: Ç after C, Ğ after G,
# I (ı) before İ (i), Ö after O, Ş after S, Ü after U. Each letter is mapped to a code point of its
# own, in that order, above every digit, space and punctuation mark, so a key is one string.
_TURKISH_ALPHABET = "abcçdefgğhıijklmnoöpqrsştuüvwxyz"
_TURKISH_KEY = str.maketrans({ch: chr(0xE000 + n) for n, ch in enumerate(_TURKISH_ALPHABET)})
_CIRCUMFLEX = str.maketrans({"â": "a", "î": "i", "û": "u"})
_NOT_MAPPED = re.compile("[\u0080-\udfff]")  # a letter left outside ASCII and the alphabet's codes


def collation_key(text: str, language: str | None = None) -> tuple[str, str]:
    """A sort key for names and titles as a reader of ``language`` expects them (``tr``: the Turkish
    alphabet; otherwise accents and case do not change the order); the active language by default.
    Ties are broken by the text itself, so the order is total."""
    if language is None:
        language = get_language() or "tr"
    if not language.startswith("tr"):
        return (fold(text), text)
    key = tr_lower(text).translate(_CIRCUMFLEX).translate(_TURKISH_KEY)
    if _NOT_MAPPED.search(key):
        # Other accented letters (é, ñ…) sort as their letter.
        key = unicodedata.normalize("NFKD", key)
        key = "".join(c for c in key if not unicodedata.combining(c)).translate(_TURKISH_KEY)
    return (key, text)
