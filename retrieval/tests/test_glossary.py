from __future__ import annotations

import numpy as np

from retrieval.engine import Passage, SearchIndex
from retrieval.glossary import expand, query_tokens
from retrieval.llm import Options, Source, get_provider
from retrieval.text import tokenize

PASSAGES = [
    Passage("password", "Password & Access Policy. Passwords must be at least 14 characters long."),
    Passage("leave", "Yıllık İzin Prosedürü. Yıllık izin talebi İK Portalı üzerinden yapılır."),
    Passage("travel", "İş Seyahati. Günlük yemek harcırahı yurt içinde 1.200 TL'dir."),
]


def test_a_turkish_question_gets_the_english_terms_and_the_reverse():
    assert "password" in query_tokens("Şifre kaç karakter olmalı?")
    assert {"izin", "yillik"} <= set(query_tokens("How do I request annual leave?"))
    # A phrase needs all of its words: "date" alone is not "date of birth".
    assert "dogum" not in expand(tokenize("What is the start date?"))


def test_a_question_finds_a_document_written_in_the_other_language():
    index = SearchIndex(PASSAGES, np.zeros((len(PASSAGES), 4), dtype=np.float32))
    assert index.search("Şifre kaç karakter olmalı?", None, k=1, method="bm25")[0].doc_id == "password"
    assert index.search("What is the daily meal allowance?", None, k=1, method="bm25")[0].doc_id == "travel"


def test_the_offline_answer_comes_from_the_other_language_too():
    source = Source(1, "PR8", "procedure", "Password & Access Policy", 0.9, (PASSAGES[0].text,))
    text = "".join(
        get_provider("local").stream([], Options(question="Şifre kaç karakter olmalı?", language="tr", sources=[source]))
    )
    assert "14 characters" in text and "[1]" in text


def test_translated_terms_count_less_than_the_questions_own_words():
    passages = [
        Passage("approvals", "Onaylar. Bölüm müdürü, birim yöneticisi ve departman yöneticisi onaylar."),
        Passage("hr", "People. The manager of the department is Sevgi Aslan."),
    ]
    index = SearchIndex(passages, np.zeros((2, 4), dtype=np.float32))
    assert index.search("Who is the manager of the department?", None, k=1, method="bm25")[0].doc_id == "hr"


def test_a_turkish_word_with_its_endings_is_the_glossary_word():
    # "yardımı", "kapatılır", "Yurt dışından": the word and its endings, not only the stem Snowball gives.
    assert "allowance" in expand(tokenize("İnternet yardımı ne kadar?"))
    assert "disabl" in expand(tokenize("Hesaplar ne zaman kapatılır?"))
    assert "abroad" in expand(tokenize("Yurt dışından çalışabilir miyim?"))
    # English words by their stems only: "terminate" is no "term", "internet" no "intern".
    assert "vade" not in expand(tokenize("When can they terminate the contract?"))
    assert "stajyer" not in expand(tokenize("Is there an internet allowance?"))


def test_a_phrase_the_glossary_knows_translates_as_one():
    from retrieval.glossary import phrase_translations

    found = phrase_translations(tokenize("upload my sick note"))
    assert found and all(members == {"sick", "note"} and "rapor" in other for members, other in found)
