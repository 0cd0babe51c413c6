"""How exact answers word things: names, values, filters, nouns and the small
readings of a question the writer needs (a yes/no question, amounts, the words used
for a value). Split from ``structured`` so the deciding and the wording stay readable."""

from __future__ import annotations

import re

from knowledge.doctypes import CHOICE, DATE, LIST, NUMBER, STEPS, Field, get_doctype
from knowledge.queries import Record
from knowledge.text import fold

from .glossary import word_translations
from .phrasing import (
    choice_in_words,
    date_in_words,
    field_label,
    join_words,
    label,
    language_name,
    number,
    tr_suffix,
)
from .questions import Analysis, strip_ending

_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:[.,]\d{3})+|\d{4,})(?![\w])")


def numbers(question: str) -> list[float]:
    """Amounts written in the question ("200,000", "200.000", "150000"); years are not amounts."""
    found = []
    for match in _NUMBER.finditer(question):
        text = match.group(1)
        digits = re.sub(r"[.,]", "", text)
        if len(text) == 4 and 1950 <= int(digits) <= 2099:
            continue
        found.append(float(digits))
    return found


NOUN = "{noun}"


def join_filters(phrases: list[str]) -> str:
    """English filter phrases in a row: "in Data & AI who know SQL", "based in Ankara and in Sales"."""
    out = ""
    for i, phrase in enumerate(phrases):
        if i and not phrase.startswith(("who ", "with ", "using ", "that ")):
            out += " and"
        out += (" " if out else "") + phrase
    return out


_YES_NO_OPENERS = frozenset("is are was were does do did has have can".split())
_YES_NO_PARTICLES = frozenset("mi mı mu mü midir mıdır mudur müdür miyim misin".split())


def yes_no(a: Analysis) -> bool:
    """A question answered by yes or no ("Is Ayşe on KERVAN?", "Ayşe KERVAN'da mı?")."""
    if a.words and a.words[0].base in _YES_NO_OPENERS:
        return True
    return any(w.text.lower() in _YES_NO_PARTICLES for w in a.words)


def question_words(a: Analysis, hit) -> str:
    """The words the question used for a value ("team leads", "engineers"); Turkish keeps
    the singular after a number, so a plural ending is taken off."""
    words = a.words[hit.start : hit.end]
    # Lower case, except words written with capitals inside ("DevOps", "QA").
    text = " ".join(w.text if any(c.isupper() for c in w.text[1:]) else w.text.lower() for w in words)
    if a.language == "tr" and words and words[-1].base.endswith(("ler", "lar")):
        return text[:-3]
    return text


def alternatives_of(value: str) -> list[str]:
    """The value and its other-language words ("Mühendisi" also finds "Engineer")."""
    if " " in value:
        return [value]
    folded = fold(value)
    others = set(word_translations(folded)) | set(word_translations(strip_ending(folded) or folded))
    return [value, *sorted(others)]


def noun_for(doc_type: str, language: str, n: int) -> str:
    schema = get_doctype(doc_type)
    if language == "tr":
        return label(schema.label, "tr").lower()  # Turkish keeps the singular after a number
    word = schema.label if n == 1 else schema.label_plural
    return word.lower()


def name_of(record: Record, language: str, by_key: dict[str, Record]) -> str:
    code = record.body.get("code")
    if record.doc_type == "project" and isinstance(code, str) and code and code.lower() not in record.title.lower():
        return f"{record.title} ({code})"
    return record.title


def value_words(spec: Field, value, language: str) -> str:
    if spec.kind == DATE:
        return date_in_words(value, language)
    if spec.kind == CHOICE:
        return choice_in_words(str(value), language)
    if spec.kind == NUMBER and isinstance(value, (int, float)):
        return number(value, language)
    if spec.kind in (LIST, STEPS) and isinstance(value, list):
        return join_words([language_name(v, language) or str(v) if len(str(v)) == 2 else str(v) for v in value], language)
    if isinstance(value, str) and len(value) == 2 and language_name(value, language):
        return language_name(value, language)
    return str(value)


# The asker, as a filter names them ("reporting to you", "size bağlı", "sizin yer aldığınız").
YOU = {
    "en": {"value": "you", "value_loc": "you", "value_gen": "your", "value_dat": "you"},
    "tr": {"value": "siz", "value_loc": "sizde", "value_gen": "sizin", "value_dat": "size"},
}


def filter_phrase(spec: Field, value: str, language: str, *, you: bool = False) -> str:
    template = spec.filter_says[1 if language == "tr" else 0] if any(spec.filter_says) else ""
    shown_label = field_label(spec, language).lower()
    if not template or NOUN in template:
        template = "{label}: {value} olan" if language == "tr" else "with {label} {value}"
    if you:
        text = template.format(label=shown_label, **YOU["tr" if language == "tr" else "en"])
        if language == "tr":
            # The participle agrees with "siz": "yer aldığı" → "yer aldığınız".
            text = re.sub(r"([dt][ıiuü]ğ)([ıiuü])\b", lambda m: m.group(1) + m.group(2) + "n" + m.group(2) + "z", text)
        return text
    return template.format(
        value=value,
        label=shown_label,
        value_loc=tr_suffix(value, "de") if value else value,
        value_gen=tr_suffix(value, "in") if value else value,
        value_dat=tr_suffix(value, "e") if value else value,
    )


def owner_phrase(record: Record, spec: Field, subject: str, language: str) -> str:
    """How a list of the documents a subject links to is introduced ("on the ATLAS team")."""
    shown_label = field_label(spec, language).lower()
    if language == "tr":
        return f"{subject} kaydında listelenen"
    return f"listed as {shown_label} of {subject}"


__all__ = [
    "NOUN",
    "alternatives_of",
    "filter_phrase",
    "join_filters",
    "name_of",
    "noun_for",
    "numbers",
    "owner_phrase",
    "question_words",
    "value_words",
    "yes_no",
]
