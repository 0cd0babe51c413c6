from __future__ import annotations

import io
import json
import re
import time

import pytest

from knowledge.models import Document
from knowledge.services import document_create, document_update
from retrieval import services
from retrieval.indexes import embedded
from retrieval.indexes.embedded import current_index, index_rebuild
from retrieval.models import IndexState
from retrieval.services import QueryError, search_documents

# The embedded backend's life cycle: versions on disk, loading, swapping (the PostgreSQL
# backend's is in test_postgres_backend.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_backend")]


def keys(results):
    return [r.key for r in results]


def test_search_needs_a_signed_in_user(company):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionError):
        search_documents(user=AnonymousUser(), query="izin")
    with pytest.raises(PermissionError):
        search_documents(user=None, query="izin")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Yıllık izin nasıl alınır?", "PR1"),
        ("yillik izin", "PR1"),
        ("Who leads Kervan?", "P1"),
        ("Kafka bilen kim?", "E1"),
    ],
)
def test_employees_find_the_right_document(alice, company, query, expected):
    assert expected in keys(search_documents(user=alice, query=query, k=5))


def test_it_never_returns_sensitive_values_to_an_employee(alice, hr_user, company):
    for query in ("Ayşe Yılmaz maaş salary", "12345678901", "+90 532 111 2233", "Yazılım bütçe budget 900000"):
        for result in search_documents(user=alice, query=query, k=10):
            for secret in ("85000", "12345678901", "111 2233", "900000"):
                assert secret not in result.snippet
    index = current_index()
    staff = " ".join(p.text for p in index.views["staff"].passages)
    hr = " ".join(p.text for p in index.views["hr"].passages)
    for secret in ("85000", "12345678901", "111 2233", "900000"):
        assert secret not in staff
        assert secret in hr


def test_hr_only_documents_are_invisible_to_employees(alice, hr_user, company):
    assert "PR9" not in keys(search_documents(user=alice, query="Bordro Kapanışı payroll", k=10))
    assert "PR9" in keys(search_documents(user=hr_user, query="Bordro Kapanışı payroll", k=10))


def test_a_document_restricted_a_moment_ago_is_hidden_at_once(alice, company):
    current_index()
    Document.objects.filter(key="PR1").update(visibility="hr")  # no re-index yet
    assert "PR1" not in keys(search_documents(user=alice, query="Yıllık izin", k=10))


def test_an_edit_is_searchable_within_two_seconds(alice, company, hr_user):
    current_index()
    started = time.monotonic()
    document_update(document=company["PR1"], body=dict(company["PR1"].body, summary="Zeplin ile izin talebi."), by=hr_user)
    found = keys(search_documents(user=alice, query="zeplin", k=3))
    assert found[:1] == ["PR1"]
    assert time.monotonic() - started < 2.0


def test_a_new_document_is_indexed_and_only_it_is_embedded(alice, company, monkeypatch):
    current_index()
    embedded = []
    from retrieval.embeddings import get_embedder

    embedder = get_embedder()
    original = embedder.embed_documents
    monkeypatch.setattr(embedder, "embed_documents", lambda texts: embedded.extend(texts) or original(texts))
    document_create(key="PR2", doc_type="procedure", body={"title": "Otopark", "summary": "Otopark kartı güvenlikten alınır."})
    # Only the new document's passage (once, shared by both views) was embedded.
    assert embedded == ["Otopark. Otopark kartı güvenlikten alınır."]
    assert keys(search_documents(user=alice, query="otopark kartı", k=1)) == ["PR2"]


def test_rebuild_bumps_the_version(company):
    first = index_rebuild().version
    assert index_rebuild().version == first + 1 == IndexState.objects.get().version


@pytest.mark.parametrize("query", ["", "   ", "x" * 4001])
def test_empty_or_oversized_queries_are_refused(alice, company, query):
    with pytest.raises(QueryError):
        search_documents(user=alice, query=query)


@pytest.mark.parametrize("query", ["?!...", "🙂🙂🙂", "x" * 4000, "' OR 1=1 --"])
def test_odd_queries_answer_without_crashing(alice, company, query):
    search_documents(user=alice, query=query)


def test_a_corrupt_index_on_disk_is_rebuilt_by_itself(alice, company, settings):
    version = index_rebuild().version
    services.reset_process_cache()
    (settings.INDEX_DIR / f"v{version}" / "staff.vectors.npy").write_bytes(b"garbage")
    assert "PR1" in keys(search_documents(user=alice, query="yıllık izin", k=3))


def test_an_index_built_by_another_embedder_is_rebuilt(alice, company, settings):
    version = index_rebuild().version
    services.reset_process_cache()
    manifest = settings.INDEX_DIR / f"v{version}" / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(dict(data, embedder="some-other-model")))
    assert "PR1" in keys(search_documents(user=alice, query="yıllık izin", k=3))


def test_a_missing_index_dir_is_built_on_demand(alice, company, settings):
    index_rebuild()
    services.reset_process_cache()
    import shutil

    shutil.rmtree(settings.INDEX_DIR)
    assert "P1" in keys(search_documents(user=alice, query="Kervan", k=3))


def test_a_crash_mid_build_leaves_the_previous_version_serving(alice, company, monkeypatch):
    before = index_rebuild().version
    from retrieval import store

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store.np, "save", explode)
    with pytest.raises(RuntimeError):
        index_rebuild()
    monkeypatch.undo()
    services.reset_process_cache()
    assert IndexState.objects.get().version == before
    assert "PR1" in keys(search_documents(user=alice, query="yıllık izin", k=3))


def test_a_deleted_document_leaves_the_index(alice, company):
    from knowledge.services import document_delete

    assert "P1" in keys(search_documents(user=alice, query="Kervan", k=3))
    document_delete(document=company["P1"])
    assert "P1" not in keys(search_documents(user=alice, query="Kervan", k=10))
    assert "P1" not in current_index().documents


def test_after_a_model_change_the_old_index_serves_with_its_own_model_until_the_rebuild(alice, company, settings):
    from django.core.management import call_command

    from retrieval.embeddings import embedders, get_embedder

    old = index_rebuild()
    assert old.embedder == get_embedder("e5").name
    # EMBEDDING_PROVIDER now names MiniLM: the published index is still e5's.
    settings.EMBEDDING_PROVIDER = "local"
    embedders.reset()
    services.reset_process_cache()
    served = current_index()
    assert served.version == old.version and served.embedder == old.embedder
    assert services.query_embedder(served).name == old.embedder
    assert "PR1" in keys(search_documents(user=alice, query="yıllık izin", k=3))

    out = io.StringIO()
    call_command("rebuild_index", "--if-missing", verbosity=0, stdout=out)
    assert f"was built with {old.embedder}" in out.getvalue()
    new = current_index()
    assert new.version > old.version and new.embedder == "all-MiniLM-L6-v2"
    assert services.query_embedder(new).name == "all-MiniLM-L6-v2"
    assert "PR1" in keys(search_documents(user=alice, query="annual leave", k=3))

    out = io.StringIO()
    call_command("index_versions", "--json", stdout=out)
    rows = {row["version"]: row for row in map(json.loads, out.getvalue().splitlines())}
    assert rows[new.version]["embedder"] == "all-MiniLM-L6-v2" and rows[new.version]["current"]
    assert rows[old.version]["embedder"] == old.embedder and rows[old.version]["stale"]
    assert rows[old.version]["servable"] and not rows[old.version]["current"]
    out = io.StringIO()
    call_command("index_versions", stdout=out)
    assert f"v{new.version} (current, published): all-MiniLM-L6-v2" in out.getvalue()
    embedders.reset()


@pytest.fixture
def bilingual(company):
    """Two procedures only in English, one only in Turkish, beside the tiny company."""
    Document.objects.create(
        key="PR20",
        doc_type="procedure",
        title="Remote Work Policy",
        body={
            "title": "Remote Work Policy",
            "summary": "Employees may work from home two days a week.",
            "content": "Working from abroad is allowed for at most 30 calendar days a year, with manager approval.",
        },
    )
    Document.objects.create(
        key="PR21",
        doc_type="procedure",
        title="Password Policy",
        body={"title": "Password Policy", "summary": "Passwords must be at least 14 characters long and are changed yearly."},
    )
    Document.objects.create(
        key="PR22",
        doc_type="procedure",
        title="Masraf İadesi",
        body={"title": "Masraf İadesi", "summary": "Harcama fişleri 30 gün içinde sisteme yüklenir; onayı bölüm müdürü verir."},
    )
    return company


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Evden haftada kaç gün çalışabilirim?", "PR20"),  # Turkish question, English-only policy
        ("Şifre en az kaç karakter olmalı?", "PR21"),
        ("How do I request my annual leave?", "PR1"),  # English question, Turkish-only procedure
        ("remote work kaç gün?", "PR20"),  # both languages in one question
        ("yillik izin kac gun", "PR1"),  # Turkish typed without its letters
    ],
)
def test_a_question_finds_the_procedure_in_the_other_language(alice, bilingual, query, expected):
    assert expected in keys(search_documents(user=alice, query=query, k=3))


@pytest.mark.parametrize(
    "query",
    [
        "Как оформить отпуск?",
        "Wie beantrage ich Urlaub?",
        "休暇の申請方法は？",
        "🙂 🙂 🙂",
        "Kervan " + "lorem ipsum dolor sit amet " * 140,  # pasted text, 3,900 characters
    ],
)
def test_a_third_language_or_pasted_text_still_answers(alice, bilingual, query):
    assert len(query) <= services.MAX_QUERY_CHARS
    results = search_documents(user=alice, query=query, k=3)
    assert isinstance(results, list)
    if query.startswith("Kervan"):
        # The model reads the first 512 tokens; BM25 reads every word.
        assert "P1" in keys(results)


def test_a_process_keeps_serving_while_it_loads_a_newer_version(alice, company, settings, monkeypatch):
    from retrieval import store

    settings.RETRIEVAL = {**settings.RETRIEVAL, "VERSION_CHECK_SECONDS": 0}
    old = index_rebuild()
    new = index_rebuild()
    embedded._set_loaded(old)  # as a process that has not seen the new version yet
    original = store.load

    def slow_load(*args, **kwargs):
        time.sleep(1.0)
        return original(*args, **kwargs)

    monkeypatch.setattr(store, "load", slow_load)
    started = time.monotonic()
    assert current_index().version == old.version
    assert keys(search_documents(user=alice, query="yıllık izin", k=3))[:1] == ["PR1"]
    assert time.monotonic() - started < 0.5  # nothing waited for the load
    services.wait_for_loader()
    assert current_index().version == new.version


def test_the_permission_check_reads_only_the_documents_found(alice, company):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(30):
        Document.objects.create(
            key=f"PR{100 + n}",
            doc_type="procedure",
            title=f"Otopark kuralı {n}",
            body={"title": f"Otopark kuralı {n}", "summary": f"Otopark kartı kuralı numara {n}."},
        )
    index_rebuild()
    # 26 of them restricted behind the index's back (no re-index): the search must still find
    # three that the employee may see, asking the database about the documents it found only.
    hidden = [f"PR{100 + n}" for n in range(26)]
    Document.objects.filter(key__in=hidden).update(visibility="hr")
    with CaptureQueriesContext(connection) as queries:
        found = keys(search_documents(user=alice, query="otopark kartı kuralı", k=3))
    assert len(found) == 3 and not set(found) & set(hidden)
    assert set(found) <= {f"PR{100 + n}" for n in range(26, 30)}
    # Every read of document keys names the keys it wants: at most the first 16 found, then 64.
    reads = [q["sql"] for q in queries.captured_queries if '"knowledge_document"' in q["sql"]]
    lists = [re.search(r'"key" IN \(([^)]*)\)', sql) for sql in reads]
    # (and the one lookup of the query as a key, case-insensitive: LIKE on SQLite, UPPER on PostgreSQL)
    assert reads and all(found is not None or "LIKE" in sql or "UPPER(" in sql for found, sql in zip(lists, reads, strict=True))
    assert max(len(found.group(1).split(",")) for found in lists if found) <= 64


def test_a_loaded_index_searches_as_the_built_one_without_tokenizing_again(alice, company, settings, monkeypatch):
    from retrieval import engine, store
    from retrieval.embeddings import get_embedder

    built = index_rebuild()
    calls = []
    monkeypatch.setattr(engine, "tokenize", lambda text: calls.append(text) or [])
    monkeypatch.setattr(engine, "passage_language", lambda text: calls.append(text) or "en")
    loaded = store.load(settings.INDEX_DIR, built.version, embedder=get_embedder())
    assert not calls  # BM25 index and passage languages come from the files
    monkeypatch.undo()
    embedder = get_embedder()
    for query in ["yıllık izin", "Who leads Kervan?", "Kafka", "otopark"]:
        vector = embedder.embed_query(query)
        for view in ("staff", "hr"):
            a = [(h.doc_id, round(h.score, 5)) for h in built.views[view].search(query, vector, k=5)]
            b = [(h.doc_id, round(h.score, 5)) for h in loaded.views[view].search(query, vector, k=5)]
            assert a == b, (query, view)
    assert list(loaded.views["staff"].languages) == list(built.views["staff"].languages)
