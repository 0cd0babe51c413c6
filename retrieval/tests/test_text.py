from __future__ import annotations

import pytest

from retrieval.text import detect_language, fold, query_tokens, tokenize, turkish_lower, words


def test_turkish_case_folding_of_dotted_and_dotless_i():
    assert turkish_lower("İSTANBUL") == "istanbul"
    assert turkish_lower("IŞIK") == "ışık"
    assert fold("Işık") == "isik"


@pytest.mark.parametrize("variants", [
    ["İzin", "izin", "IZIN", "izin"],
    ["yıllık", "yillik", "YILLIK", "Yıllık"],
    ["müdür", "mudur", "MÜDÜR", "Müdür"],
    ["çalışan", "calisan", "ÇALIŞAN"],
])
def test_spellings_of_one_turkish_word_meet(variants):
    tokens = {tuple(tokenize(v, "tr")) for v in variants}
    assert len(tokens) == 1, tokens


def test_a_short_ascii_query_meets_both_languages():
    turkish = set(tokenize("Yıllık izin hakkı", "tr"))
    for query in ("izin", "IZIN", "İzin", "yillik izin"):
        assert set(query_tokens(query)) & turkish, query
    assert "leav" in query_tokens("leave")


def test_the_language_is_detected_when_not_given():
    assert detect_language("Yıllık izin nasıl alınır?") == "tr"
    assert detect_language("kac gun izin var") == "tr"
    assert detect_language("Who leads the ATLAS project?") == "en"


def test_turkish_inflections_share_a_stem():
    assert tokenize("izinler", "tr") == tokenize("izinleri", "tr")
    assert tokenize("projeler", "tr") == tokenize("projeleri", "tr")


def test_english_is_stemmed_with_the_english_stemmer():
    assert tokenize("engineers knowing Kafka", "en") == tokenize("engineer knows kafka", "en")


def test_apostrophe_suffixes_are_split_off():
    assert words("Ankara'da ve İzmir’e") == ["ankara", "ve", "izmir"]
    assert tokenize("Kervan'ı kim yönetiyor?", "tr")[0] == tokenize("Kervan", "tr")[0]


def test_stopwords_and_punctuation_are_dropped():
    assert tokenize("the and of", "en") == []
    assert tokenize("?!... 🙂 —", "en") == []
    assert tokenize("", "tr") == []


def test_codes_and_numbers_survive():
    assert "atlas" in tokenize("Who leads the ATLAS project?")
    assert "2024" in tokenize("2024 bütçesi")
