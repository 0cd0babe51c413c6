"""Turkish-aware helpers for plain text matching.

Databases fold case with ASCII or locale rules, so ``izin`` does not find
``İzin`` (SQLite) and ``IZIN`` may not match ``ızın``. A short term is searched in
its Turkish case variants instead.
"""

from __future__ import annotations

import unicodedata

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
