"""Helpers shared by the answer pipeline and ``eval_answers``: citations and word counts."""

from __future__ import annotations

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


def word_count(answer: str) -> int:
    """Words of the answer as read: citation markers are not words."""
    return len(CITATION.sub(" ", answer).split())
