"""Helpers shared by the answer pipeline and ``eval_answers``: citations and word counts."""

from __future__ import annotations

import dataclasses
import re

from .llm.base import Source

CITATION = re.compile(r"\[(\d{1,3})\]")


def cited_sources(answer: str, sources: list[Source]) -> list[Source]:
    """The sources an answer cites, in order of first citation; unknown numbers are ignored."""
    by_number = {s.n: s for s in sources}
    cited: dict[int, Source] = {}
    for match in CITATION.finditer(answer):
        n = int(match.group(1))
        if n in by_number:
            cited.setdefault(n, by_number[n])
    return list(cited.values())


def renumber_citations(answer: str, sources: list[Source]) -> tuple[str, list[Source]]:
    """The answer with its citations numbered 1, 2, 3… in the order they first appear, and the
    sources it cites in that order with those numbers: a reader never sees an answer start at [3]
    or a source list that skips. A number that names no source is left as written."""
    cited = cited_sources(answer, sources)
    new_number = {s.n: i for i, s in enumerate(cited, 1)}

    def replace(match: re.Match) -> str:
        n = int(match.group(1))
        return f"[{new_number[n]}]" if n in new_number else match.group(0)

    return CITATION.sub(replace, answer), [dataclasses.replace(s, n=new_number[s.n]) for s in cited]


def word_count(answer: str) -> int:
    """Words of the answer as read: citation markers are not words."""
    return len(CITATION.sub(" ", answer).split())
