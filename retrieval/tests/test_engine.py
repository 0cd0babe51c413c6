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


@pytest.mark.parametrize(("query", "expected"), [
    ("yillik izin nasil alinir", "leave"),
    ("İZİN talebi", "leave"),
    ("What is the meal allowance when travelling?", "travel"),
    ("Which engineers know Kafka?", "kafka"),
])
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
    call_command("eval_retrieval", "--dataset", str(write_beir(tmp_path / "set")))
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert set(result) == {"dataset", "method", "ndcg@10", "recall@100", "mrr@10", "p50_ms", "p95_ms", "docs", "queries"}
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
    (questions / "queries.jsonl").write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"_id": "q1", "text": "izin talebi kaç gün önce yapılır"}, {"_id": "q2", "text": "yemek harcırahı"}]))
    call_command("eval_retrieval", "--dataset", str(corpus), "--queries", str(questions), "--method", "bm25",
                 "--json")
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["dataset"] == "questions→corpus" and result["queries"] == 2 and result["docs"] == 4


def test_eval_retrieval_refuses_sets_that_are_not_parallel(tmp_path):
    corpus = write_beir(tmp_path / "corpus")
    questions = write_beir(tmp_path / "questions")
    (questions / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tnowhere\t1\n")
    with pytest.raises(CommandError, match="lacks .*not parallel"):
        call_command("eval_retrieval", "--dataset", str(corpus), "--queries", str(questions))


def test_bench_retrieval_runs_ours_and_a_scale_row(tmp_path, capsys):
    call_command("bench", "retrieval", "--dataset", str(write_beir(tmp_path / "set")), "--no-langchain",
                 "--scale", "500")
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [r["method"] for r in result["retrieval"]] == ["chatcore hybrid"]
    assert result["retrieval"][0]["ndcg@10"] == 1.0
    assert [r["method"] for r in result["scale"]] == ["scale flat", "scale hnsw"]
    assert all(r["passages"] == 500 and r["p50_ms"] > 0 for r in result["scale"])
