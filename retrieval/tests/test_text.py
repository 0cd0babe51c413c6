from __future__ import annotations

import pytest

from retrieval.text import detect_language, fold, tokenize, turkish_lower, words


def test_turkish_case_folding_of_dotted_and_dotless_i():
    assert turkish_lower("İSTANBUL") == "istanbul"
    assert turkish_lower("IŞIK") == "ışık"
    assert fold("Işık") == "isik"


@pytest.mark.parametrize(
    "variants",
    [
        ["İzin", "izin", "IZIN"],
        ["yıllık", "yillik", "YILLIK", "Yıllık"],
        ["müdür", "mudur", "MÜDÜR", "Müdür"],
        ["çalışan", "calisan", "ÇALIŞAN"],
    ],
)
def test_spellings_of_one_turkish_word_meet(variants):
    tokens = {tuple(tokenize(v)) for v in variants}
    assert len(tokens) == 1, tokens


def test_a_short_ascii_query_meets_turkish_text():
    turkish = set(tokenize("Yıllık izin hakkı"))
    for query in ("izin", "IZIN", "İzin", "yillik izin"):
        assert set(tokenize(query)) & turkish, query


def test_turkish_inflections_meet():
    assert set(tokenize("izinler")) & set(tokenize("izinlerimizden"))
    assert set(tokenize("projeler")) & set(tokenize("projeleri"))


def test_english_inflections_meet():
    assert set(tokenize("engineers knowing Kafka")) >= {"engin", "kafka"}
    assert set(tokenize("engineer knows kafka")) >= {"engin", "kafka"}
    assert "leav" in tokenize("leave")


def test_the_language_of_a_text_is_detected():
    assert detect_language("Yıllık izin nasıl alınır?") == "tr"
    assert detect_language("kac gun izin var") == "tr"
    assert detect_language("Who leads the ATLAS project?") == "en"


def test_apostrophe_suffixes_are_split_off():
    assert words("Ankara'da ve İzmir’e") == ["ankara", "ve", "izmir"]
    assert tokenize("Kervan'ı kim yönetiyor?")[0] == tokenize("Kervan")[0]


def test_stopwords_punctuation_and_emoji_give_no_token():
    assert tokenize("the and of") == []
    assert tokenize("?!... 🙂 —") == []
    assert tokenize("") == []


def test_codes_and_numbers_survive():
    assert "atlas" in tokenize("Who leads the ATLAS project?")
    assert "2024" in tokenize("2024 bütçesi")
