from __future__ import annotations

from knowledge.text import case_variants, tr_lower, tr_upper


def test_turkish_case_folding():
    assert tr_upper("izin") == "İZİN"
    assert tr_lower("IŞIK") == "ışık"
    assert tr_lower("İzin") == "izin"


def test_case_variants_meet_the_title_as_written():
    assert "İzin" in case_variants("izin")
    assert "Izin" in case_variants("izin")
    assert "YILLIK" in case_variants("yıllık")
    assert "ıZIN".lower() in {v.lower() for v in case_variants("ıZIN")}
