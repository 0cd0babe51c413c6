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


# The Turkish alphabet, with q, w and x where the Latin alphabet has them: Ç after C, Ğ after G,
# I (ı) before İ (i), Ö after O, Ş after S, Ü after U.
_TURKISH_ORDER = {ch: n for n, ch in enumerate("abcçdefgğhıijklmnoöpqrsştuüvwxyz")}


def collation_key(text: str, language: str | None = None) -> tuple:
    """A sort key for names and titles as a reader of ``language`` expects them (``tr``: the Turkish
    alphabet; otherwise accents and case do not change the order); the active language by default.
    Ties are broken by the text itself, so the order is total."""
    if language is None:
        from django.utils.translation import get_language

        language = get_language() or "tr"
    if not language.startswith("tr"):
        return (fold(text), text)
    key = []
    for ch in tr_lower(text):
        if ch in _TURKISH_ORDER:
            key.append(100 + _TURKISH_ORDER[ch])
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base in _TURKISH_ORDER:  # â, î, û and other accented letters sort as their letter
            key.append(100 + _TURKISH_ORDER[base])
        elif ch.isdigit():
            key.append(10 + int(ch) if ch.isascii() else 50)
        elif ch.isspace():
            key.append(0)
        else:
            key.append(200 + ord(ch))
    return (tuple(key), text)
