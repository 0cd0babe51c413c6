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


NAMES = ["Ümit", "Şule", "Özge", "İpek", "Çağla", "Cem", "Irmak", "Oya", "Selin", "Uğur"]


def test_names_sort_in_the_turkish_alphabet_in_turkish_and_by_their_letters_in_english():
    from knowledge.text import collation_key

    assert sorted(NAMES, key=lambda n: collation_key(n, "tr")) == [
        "Cem",
        "Çağla",
        "Irmak",
        "İpek",
        "Oya",
        "Özge",
        "Selin",
        "Şule",
        "Uğur",
        "Ümit",
    ]
    assert sorted(NAMES, key=lambda n: collation_key(n, "en")) == [
        "Çağla",
        "Cem",
        "İpek",
        "Irmak",
        "Oya",
        "Özge",
        "Selin",
        "Şule",
        "Uğur",
        "Ümit",
    ]
    assert sorted(["ağaç", "Ağaç", "ağa", "a ğ"], key=lambda n: collation_key(n, "tr"))[:2] == ["a ğ", "ağa"]
