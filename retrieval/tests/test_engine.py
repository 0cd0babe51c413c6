from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from retrieval.embeddings import get_embedder
from retrieval.engine import Passage, SearchIndex

PASSAGES = [
    Passage("leave", "Yıllık İzin. Yıllık izin talebi İK Portalı üzerinden en az 10 iş günü önceden yapılır."),
    Passage("travel", "Business Travel. The daily meal allowance on business trips is 1,200 TL in Türkiye."),
    Passage("kafka", "Ayşe Yılmaz is a Senior Software Engineer. Skills: Python, Django, Kafka."),
    Passage("empty", ""),
]


@pytest.fixture(scope="module")
def index():
    embedder = get_embedder("local")
    return SearchIndex(PASSAGES, embedder.embed_documents([p.text for p in PASSAGES])), embedder


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("yillik izin nasil alinir", "leave"),
        ("İZİN talebi", "leave"),
        ("What is the meal allowance when travelling?", "travel"),
        ("Which engineers know Kafka?", "kafka"),
    ],
)
@pytest.mark.parametrize("method", ["bm25", "hybrid"])
def test_the_right_passage_comes_first(index, query, expected, method):
    search_index, embedder = index
    hits = search_index.search(query, embedder.embed_query(query), k=3, method=method)
    assert hits[0].doc_id == expected


def test_dense_finds_a_paraphrase_bm25_cannot(index):
    search_index, embedder = index
    query = "per diem for food during work trips"
    assert search_index.search(query, embedder.embed_query(query), k=1, method="dense")[0].doc_id == "travel"


def test_the_permission_filter_is_applied_inside_the_search(index):
    search_index, embedder = index
    query = "Kafka engineer"
    hits = search_index.search(query, embedder.embed_query(query), k=3, allowed={"leave", "travel"})
    assert "kafka" not in {h.doc_id for h in hits}


@pytest.mark.parametrize("query", ["", "?!…", "🙂🙂", "x" * 4000])
def test_odd_queries_do_not_crash(index, query):
    search_index, embedder = index
    search_index.search(query, embedder.embed_query(query), k=3)


def test_an_empty_index_returns_nothing():
    assert SearchIndex([], np.zeros((0, 384), dtype=np.float32)).search("izin", None) == []


def test_hnsw_gives_the_same_top_hit(index):
    search_index, embedder = index
    hnsw = SearchIndex(PASSAGES, search_index.vectors, dense="hnsw")
    query = "meal allowance"
    vector = embedder.embed_query(query)
    assert hnsw.search(query, vector, k=1)[0].doc_id == search_index.search(query, vector, k=1)[0].doc_id


def write_beir(directory):
    (directory / "qrels").mkdir(parents=True)
    corpus = [{"_id": p.doc_id, "title": p.doc_id, "text": p.text} for p in PASSAGES]
    queries = [{"_id": "q1", "text": "yıllık izin kaç gün önceden?"}, {"_id": "q2", "text": "meal allowance"}]
    (directory / "corpus.jsonl").write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in corpus))
    (directory / "queries.jsonl").write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in queries))
    (directory / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tleave\t1\nq2\ttravel\t1\n")
    return directory


def test_eval_retrieval_prints_a_table_and_a_json_line(tmp_path, capsys):
    call_command("eval_retrieval", "--dataset", str(write_beir(tmp_path / "set")), "--backend", "embedded")
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert set(result) == {
        "dataset",
        "method",
        "ndcg@10",
        "recall@100",
        "mrr@10",
        "p50_ms",
        "p95_ms",
        "docs",
        "queries",
        "backend",
        "relevance_cut",
    }
    assert result["backend"] == "embedded"
    # Both questions' right documents are listed at once, at the configured cut and every candidate.
    assert result["relevance_cut"]["gold_hidden"] == 0.0 and set(result["relevance_cut"]["by_cut"]) >= {"0.5"}
    assert result["ndcg@10"] == 1.0 and result["queries"] == 2 and result["docs"] == 4
    assert "nDCG@10" in lines[0]


def test_eval_retrieval_names_a_missing_file(tmp_path):
    directory = write_beir(tmp_path / "set")
    (directory / "queries.jsonl").unlink()
    with pytest.raises(CommandError, match="queries.jsonl is missing"):
        call_command("eval_retrieval", "--dataset", str(directory))


def test_eval_retrieval_asks_one_sets_questions_over_another_sets_corpus(tmp_path, capsys):
    corpus = write_beir(tmp_path / "corpus")
    questions = write_beir(tmp_path / "questions")
    # The same judgements, other words: the questions of the second set over the first's passages.
    (questions / "queries.jsonl").write_text(
        "\n".join(
            json.dumps(q, ensure_ascii=False)
            for q in [{"_id": "q1", "text": "izin talebi kaç gün önce yapılır"}, {"_id": "q2", "text": "yemek harcırahı"}]
        )
    )
    call_command(
        "eval_retrieval",
        "--dataset",
        str(corpus),
        "--queries",
        str(questions),
        "--backend",
        "embedded",
        "--method",
        "bm25",
        "--json",
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["dataset"] == "questions→corpus" and result["queries"] == 2 and result["docs"] == 4


def test_eval_retrieval_refuses_sets_that_are_not_parallel(tmp_path):
    corpus = write_beir(tmp_path / "corpus")
    questions = write_beir(tmp_path / "questions")
    (questions / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tnowhere\t1\n")
    with pytest.raises(CommandError, match="lacks .*not parallel"):
        call_command("eval_retrieval", "--dataset", str(corpus), "--queries", str(questions))


def test_bench_retrieval_runs_ours_and_a_scale_row(tmp_path, capsys):
    call_command(
        "bench",
        "retrieval",
        "--dataset",
        str(write_beir(tmp_path / "set")),
        "--no-langchain",
        "--scale",
        "500",
        "--embedder",
        "local",
    )
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    # Each embedder timed on its own: the configured one, then the one asked for.
    assert [r["embedder"] for r in result["embedders"]] == ["multilingual-e5-small-q4-g2", "all-MiniLM-L6-v2"]
    assert all(r["query_p50_ms"] > 0 and r["passages_per_s"] > 0 for r in result["embedders"])
    assert "passages/s" in out
    assert [r["method"] for r in result["retrieval"]] == ["chatcore hybrid"]
    assert result["retrieval"][0]["ndcg@10"] == 1.0
    assert [r["method"] for r in result["scale"]] == ["scale flat", "scale hnsw"]
    assert all(r["passages"] == 500 and r["p50_ms"] > 0 for r in result["scale"])


def _two_language_index():
    from retrieval.engine import Passage, SearchIndex

    passages = [
        Passage("TR", "Yıllık izin talepleri Kervan sistemi üzerinden yöneticiye iletilir ve onaylanır."),
        Passage("EN", "Annual leave requests go through the Kervan system to the manager for approval."),
        Passage("OTHER", "The cafeteria serves lunch between noon and half past one."),
    ]
    # The dense side prefers the English passage a little; BM25 prefers the Turkish one.
    vectors = np.array([[0.8, 0.6], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    return SearchIndex(passages, vectors), np.array([1.0, 0.0], dtype=np.float32)


def test_each_passage_is_weighted_by_its_own_language():
    index, vector = _two_language_index()
    assert list(index.languages) == [0, 1, 1]  # LANGUAGES: tr, en
    question = "yıllık izin Kervan"
    # With no BM25 share for Turkish passages the English one, nearer in meaning, wins.
    first = index.search(question, vector, k=3, bm25_weight={"tr": {"tr": 0.0, "en": 0.5}})
    assert first[0].doc_id == "EN"
    # A large BM25 share for Turkish passages lets the Turkish one, with every word, win.
    second = index.search(question, vector, k=3, bm25_weight={"tr": {"tr": 0.9, "en": 0.5}})
    assert second[0].doc_id == "TR"
    # The English question's row is not used for a Turkish question.
    third = index.search(question, vector, k=3, bm25_weight={"tr": {"tr": 0.9, "en": 0.5}, "en": {"tr": 0.0}})
    assert third[0].doc_id == "TR"


def test_a_flat_weight_applies_to_both_passage_languages():
    from retrieval.engine import DEFAULT_BM25_WEIGHT, weight_table

    assert np.allclose(weight_table({"tr": 0.7, "en": 0.4}), [[0.7, 0.7], [0.4, 0.4]])
    table = weight_table(None)
    assert table[0, 1] == pytest.approx(DEFAULT_BM25_WEIGHT["tr"]["en"])
    assert weight_table({"tr": {"tr": 5.0}})[0, 0] == 1.0  # clamped to [0, 1]


@pytest.mark.parametrize(
    "text, language",
    [
        ("The policy applies to all employees; Ayşe Yılmaz in İstanbul approves it.", "en"),
        ("Çalışanlar yıllık izinlerini Kervan üzerinden talep eder.", "tr"),
        ("Bu belge remote work policy için geçerlidir ve tüm ekip için uygulanır.", "tr"),
        ("", "en"),
    ],
)
def test_a_passages_language_is_the_one_most_of_its_words_are_in(text, language):
    from retrieval.text import passage_language

    assert passage_language(text) == language


def test_the_question_languages_own_passages_get_no_head_start():
    """A multilingual model scores every passage in the question's language a little higher;
    that offset is taken off, so the passage that answers, in the other language, comes first."""
    from retrieval.engine import Passage, SearchIndex

    rng = np.random.default_rng(3)
    question = np.zeros(16, dtype=np.float32)
    question[0] = 1.0

    def unit(first: float) -> np.ndarray:
        rest = rng.standard_normal(15).astype(np.float32)
        rest *= np.sqrt(1 - first**2) / np.linalg.norm(rest)
        return np.concatenate([[first], rest]).astype(np.float32)

    # Turkish passages sit at 0.30 to the question, English ones at 0.10 — except the English
    # passage that answers, at 0.28: below every Turkish passage, far above its own language.
    passages = [Passage(f"TR{i}", "Bu belge çalışanların izin ve seyahat kurallarını anlatır.") for i in range(25)]
    passages += [Passage(f"EN{i}", "This document describes the rules of the company for staff.") for i in range(25)]
    vectors = [unit(0.30) for _ in range(25)] + [unit(0.10) for _ in range(24)] + [unit(0.28)]
    index = SearchIndex(passages, np.stack(vectors))
    hits = index.search("şirket kuralları nedir", question, k=3, method="dense")
    assert hits[0].doc_id == "EN24"
    # With one language only (or too few of the other), scores are left as they are.
    alone = SearchIndex(passages[25:], np.stack(vectors[25:]))
    assert not alone.language_offsets(question).any()


def test_each_embedder_brings_its_own_shares_and_settings_override_them(settings):
    from retrieval.embeddings import get_embedder
    from retrieval.engine import DEFAULT_BM25_WEIGHT, merge_weights
    from retrieval.services import bm25_weights

    assert bm25_weights(get_embedder("e5")) == DEFAULT_BM25_WEIGHT
    assert bm25_weights(get_embedder("local"))["tr"] == {"tr": 0.85, "en": 0.85}
    settings.RETRIEVAL = {**settings.RETRIEVAL, "BM25_WEIGHT": {"tr": {"en": 0.4}}}
    weights = bm25_weights(get_embedder("e5"))
    assert weights["tr"] == {"tr": DEFAULT_BM25_WEIGHT["tr"]["tr"], "en": 0.4}
    assert weights["en"] == DEFAULT_BM25_WEIGHT["en"]
    assert merge_weights(None, {"en": 0.6})["en"] == {"tr": 0.6, "en": 0.6}
