from __future__ import annotations

from retrieval.answers import renumber_citations
from retrieval.llm.base import Source


def source(n: int, key: str) -> Source:
    return Source(n=n, key=key, doc_type="procedure", title=key, score=1.0, passages=())


def test_citations_are_numbered_in_the_order_they_first_appear_and_the_sources_follow():
    sources = [source(1, "A"), source(2, "B"), source(3, "C"), source(4, "D")]
    answer, cited = renumber_citations("İzin portaldan istenir [3]. Onay yöneticiden gelir [1][3]. Bkz. [9].", sources)
    assert answer == "İzin portaldan istenir [1]. Onay yöneticiden gelir [2][1]. Bkz. [9]."
    assert [(s.n, s.key) for s in cited] == [(1, "C"), (2, "A")]  # B and D were not cited
    assert renumber_citations("Hiçbir kaynak yok.", sources) == ("Hiçbir kaynak yok.", [])
