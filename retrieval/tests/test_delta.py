"""The embedded backend's delta: an edit indexes only the changed documents beside the full index,
every process loads only that, and a merge folds it into a new full index off the edit path."""

from __future__ import annotations

import json

import numpy as np
import pytest

from knowledge.models import Document, Visibility
from knowledge.services import document_update
from retrieval import store
from retrieval.embeddings import get_embedder
from retrieval.engine import Passage, PassageTable, SearchIndex, SegmentedIndex
from retrieval.indexes import embedded
from retrieval.indexes.embedded import current_index, index_merge, index_rebuild
from retrieval.models import IndexState
from retrieval.services import search_documents
from retrieval.text import tokenize

WORDS = (
    "izin talebi portal yönetici onay bordro maaş proje kafka python django seyahat harcırah "
    "yemek kartı otopark güvenlik laptop ekipman uzaktan çalışma ofis eğitim bütçe sözleşme "
    "leave request manager approval payroll travel meal allowance parking badge security remote"
).split()


def _corpus(seed: int = 5, documents: int = 40):
    rng = np.random.default_rng(seed)
    passages, vectors = [], []
    for d in range(documents):
        for p in range(int(rng.integers(1, 4))):
            words = rng.choice(WORDS, size=int(rng.integers(4, 30)))
            passages.append(Passage(f"K{d:02d}", f"Belge {d} bölüm {p}: " + " ".join(words) + "."))
            vector = rng.standard_normal(16).astype(np.float32)
            vectors.append(vector / np.linalg.norm(vector))
    return passages, np.stack(vectors)


def _segment(passages, vectors) -> SearchIndex:
    return SearchIndex(passages, vectors, [tokenize(p.text) for p in passages])


def _ranked(hits):
    return [(hit.doc_id, round(hit.score, 5)) for hit in hits]


QUERIES = ["izin talebi onay", "kafka python", "meal allowance travel", "otopark güvenlik kartı", "bütçe"]


@pytest.mark.parametrize("method, fusion", [("bm25", "convex"), ("dense", "convex"), ("hybrid", "convex"), ("hybrid", "rrf")])
def test_a_delta_of_unchanged_documents_ranks_and_scores_exactly_as_the_main_index(method, fusion):
    """The delta's passages are scored with the main index's statistics: the same text scores
    the same, to the last digit of BM25 (bm25s's own formula) and of the dense side."""
    passages, vectors = _corpus()
    main = _segment(passages, vectors)
    keys = {"K03", "K17", "K29"}
    rows = [i for i, p in enumerate(passages) if p.doc_id in keys]
    segmented = SegmentedIndex(main, _segment([passages[i] for i in rows], vectors[rows]), keys)
    rng = np.random.default_rng(9)
    for query in QUERIES:
        vector = rng.standard_normal(16).astype(np.float32)
        vector /= np.linalg.norm(vector)
        expected = main.search(query, vector, k=10, method=method, fusion=fusion)
        assert _ranked(segmented.search(query, vector, k=10, method=method, fusion=fusion)) == _ranked(expected)
    assert len(segmented) == len(segmented.passages) == len(main)
    assert len(segmented.rows) == len(main) + len(rows)


def test_a_passage_table_holds_the_passages_as_arrays_and_gives_them_back_alike():
    passages, _ = _corpus()
    passages[3] = Passage(passages[3].doc_id, "Şirket içi eğitim — ğüşıöç İĞÜŞÖÇ.", {"section": "Adımlar"})
    table = PassageTable.of(passages)
    assert list(table) == passages and [p.meta for p in table] == [p.meta for p in passages]
    assert table[-1] == passages[-1] and table[2:4] == passages[2:4]
    assert list(table.rows_of({"K03", "K17", "nope"})) == [i for i, p in enumerate(passages) if p.doc_id in {"K03", "K17"}]
    index = SearchIndex(table, np.zeros((len(passages), 4), np.float32))
    assert index.rows_of({"K05"}).tolist() == SearchIndex(passages, index.vectors).rows_of({"K05"}).tolist()


def test_an_edited_document_matches_by_its_new_words_only_and_a_deleted_one_not_at_all():
    passages, vectors = _corpus()
    main = _segment(passages, vectors)
    new = [Passage("K05", "Belge 5: zeplin ile yolculuk artık serbest.")]
    segmented = SegmentedIndex(main, _segment(new, vectors[:1]), {"K05", "K06"})  # K06 deleted
    old_words = " ".join(sorted({w for p in passages if p.doc_id == "K05" for w in p.text.rstrip(".").split()[4:]}))
    for method in ("bm25", "hybrid", "dense"):
        for query in (old_words, "zeplin", QUERIES[0]):
            found = [hit.doc_id for hit in segmented.search(query, vectors[0], k=50, method=method)]
            assert "K06" not in found
            if query == "zeplin":
                assert found[0] == "K05"
    assert [hit.doc_id for hit in segmented.search(old_words, None, k=50, method="bm25")].count("K05") == 0
    assert segmented.knows("zeplin") and not main.knows("zeplin")
    assert {p.doc_id for p in segmented.passages} == {p.doc_id for p in passages} - {"K06"}


def test_the_hnsw_graph_is_asked_for_as_many_more_neighbours_as_it_holds_replaced_passages():
    passages, vectors = _corpus()
    main = SearchIndex(passages, vectors, dense="hnsw")
    replaced = {p.doc_id for p in passages[:12]}
    segmented = SegmentedIndex(main, _segment([], np.zeros((0, 16), np.float32)), replaced)
    # The passages nearest to the question are exactly the replaced ones: none may come back,
    # and there are still as many candidates as asked for.
    ids, _ = segmented.dense_candidates(vectors[0], 10)
    assert len(ids) == 10 and not {segmented.rows[i].doc_id for i in ids} & replaced


def _keys(results):
    return [r.key for r in results]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("embedded_backend")
class TestEmbeddedDelta:
    def test_an_edit_publishes_a_delta_that_a_process_serving_the_base_loads_alone(
        self, alice, company, hr_user, settings, monkeypatch
    ):
        base = index_rebuild()
        document_update(document=company["PR1"], body=dict(company["PR1"].body, summary="Zeplin ile izin talebi."), by=hr_user)
        version = IndexState.objects.get().version
        manifest = store.read_manifest(settings.INDEX_DIR, version)
        assert manifest["kind"] == "delta" and manifest["base"] == base.version and list(manifest["changed"]) == ["PR1"]
        assert sorted(p.name for p in (settings.INDEX_DIR / f"v{version}").iterdir()) == [
            "documents.json",
            "hr.languages.npy",
            "hr.passages.json",
            "hr.vectors.npy",
            "manifest.json",
            "staff.languages.npy",
            "staff.passages.json",
            "staff.vectors.npy",
        ]
        alone = store.load(settings.INDEX_DIR, version, embedder=get_embedder())  # reads the base too
        monkeypatch.setattr(store.bm25s.BM25, "load", lambda *a, **k: pytest.fail("the base was loaded again"))
        delta = store.load(settings.INDEX_DIR, version, embedder=get_embedder(), serving=base)
        assert delta.main is base and delta.documents == alone.documents
        vector = get_embedder().embed_query("zeplin izin")
        for view in ("staff", "hr"):
            assert _ranked(delta.views[view].search("zeplin izin", vector)) == _ranked(
                alone.views[view].search("zeplin izin", vector)
            )
        embedded._set_loaded(base)  # a process that has not seen the edit yet
        settings.RETRIEVAL = {**settings.RETRIEVAL, "VERSION_CHECK_SECONDS": 0}
        current_index()
        embedded.wait_for_loader()
        assert _keys(search_documents(user=alice, query="zeplin", k=3))[:1] == ["PR1"]

    def test_every_edit_since_the_base_stays_in_the_delta_and_the_base_stays_on_disk(self, alice, company, hr_user, settings):
        base = index_rebuild()
        for word in ("zeplin", "balon", "kano", "yelken"):
            document_update(
                document=Document.objects.get(key="PR1"), body=dict(company["PR1"].body, summary=f"{word} ile izin."), by=hr_user
            )
        document_update(document=Document.objects.get(key="E3"), body=dict(company["E3"].body, skills=["Bordro"]), by=hr_user)
        index = current_index()
        assert index.base == base.version and set(index.changed) == {"PR1", "E3"}
        assert (settings.INDEX_DIR / f"v{base.version}").is_dir()  # older than the two newest, kept as base
        assert _keys(search_documents(user=alice, query="yelken", k=3))[:1] == ["PR1"]
        assert "PR1" not in _keys(search_documents(user=alice, query="zeplin", k=10, method="bm25"))
        assert _keys(search_documents(user=alice, query="bordro", k=3))[:1] == ["E3"]
        assert len([p for p in index.views["staff"].passages if p.doc_id == "PR1"]) == len(
            [p for p in base.views["staff"].passages if p.doc_id == "PR1"]
        )

    def test_a_document_moved_to_hr_only_leaves_the_staff_view_of_the_delta(self, alice, hr_user, company):
        index_rebuild()
        document_update(document=company["P1"], body=company["P1"].body, visibility=Visibility.HR, by=hr_user)
        index = current_index()
        assert index.main is not None
        assert "P1" not in {p.doc_id for p in index.views["staff"].passages}
        assert "P1" in {p.doc_id for p in index.views["hr"].passages}
        assert "P1" not in [hit.key for hit in search_documents(user=alice, query="Kervan", k=10)]

    def test_a_merge_folds_the_delta_and_carries_an_edit_made_while_it_built(
        self, alice, company, hr_user, monkeypatch, settings
    ):
        index_rebuild()
        document_update(document=company["PR1"], body=dict(company["PR1"].body, summary="Zeplin ile izin."), by=hr_user)
        build = store.build

        def build_with_an_edit_meanwhile(**kwargs):
            merged = build(**kwargs)  # read the database before this edit
            document_update(
                document=Document.objects.get(key="E3"), body=dict(company["E3"].body, skills=["Origami"]), by=hr_user
            )
            return merged

        monkeypatch.setattr(store, "build", build_with_an_edit_meanwhile)
        merged = index_merge()
        monkeypatch.undo()
        assert merged.version == IndexState.objects.get().version
        assert merged.main is not None and set(merged.changed) == {"E3"}  # PR1 is in the new base
        assert store.read_manifest(settings.INDEX_DIR, merged.base).get("kind") is None
        assert _keys(search_documents(user=alice, query="zeplin", k=3))[:1] == ["PR1"]
        assert _keys(search_documents(user=alice, query="origami", k=3))[:1] == ["E3"]
        assert index_merge().changed == {}  # the carried edit folded in its turn
        assert index_merge() is None  # nothing left
        assert _keys(search_documents(user=alice, query="origami", k=3))[:1] == ["E3"]

    def test_a_merge_overtaken_by_a_rebuild_publishes_nothing(self, company, hr_user, monkeypatch, settings):
        index_rebuild()
        document_update(document=company["PR1"], body=dict(company["PR1"].body, summary="Zeplin."), by=hr_user)
        build = store.build

        def build_then_rebuild(**kwargs):
            merged = build(**kwargs)
            monkeypatch.setattr(store, "build", build)
            index_rebuild()
            return merged

        monkeypatch.setattr(store, "build", build_then_rebuild)
        version = IndexState.objects.get().version
        assert index_merge() is None
        assert IndexState.objects.get().version == version + 1  # the rebuild's only
        assert not list(settings.INDEX_DIR.glob(".tmp-*"))  # the merged files it wrote are gone

    def test_a_delta_that_outgrows_its_share_is_merged_by_a_process_of_its_own(
        self, alice, company, hr_user, settings, monkeypatch
    ):
        settings.RETRIEVAL = {**settings.RETRIEVAL, "DELTA_SHARE": 0.0, "VERSION_CHECK_SECONDS": 0}
        monkeypatch.setattr(embedded, "MIN_DELTA_PASSAGES", 0)
        index_rebuild()
        document_update(document=company["PR1"], body=dict(company["PR1"].body, summary="Zeplin ile izin."), by=hr_user)
        merger = embedded._merger
        assert merger is not None and merger.args[-1] == "merge_index"
        embedded.wait_for_merge()
        assert merger.returncode == 0
        state = IndexState.objects.get()
        assert store.read_manifest(settings.INDEX_DIR, state.version).get("kind") is None  # a full version
        current_index()
        embedded.wait_for_loader()
        index = current_index()
        assert index.main is None and index.version == state.version
        assert _keys(search_documents(user=alice, query="zeplin", k=3))[:1] == ["PR1"]

    def test_merge_index_says_when_there_is_nothing_to_merge(self, company):
        from io import StringIO

        from django.core.management import call_command

        index_rebuild()
        out = StringIO()
        call_command("merge_index", stdout=out)
        assert out.getvalue().strip() == "Nothing to merge."

    def test_with_workers_the_merge_is_queued_as_a_task(self, company, settings, monkeypatch):
        from retrieval import tasks

        settings.RETRIEVAL = {**settings.RETRIEVAL, "DELTA_SHARE": 0.0}
        settings.CELERY_TASK_ALWAYS_EAGER = False
        monkeypatch.setattr(embedded, "MIN_DELTA_PASSAGES", 0)
        queued = []
        monkeypatch.setattr(tasks.merge_index, "delay", lambda: queued.append(True))
        index_rebuild()
        Document.objects.filter(key="PR1").update(title="Yıllık İzin Kuralları")
        embedded.index_update(keys=["PR1"])
        assert queued == [True]
        assert tasks.merge_index.run() > 0  # what the worker runs
        assert current_index().main is None

    def test_an_index_of_an_older_format_is_rebuilt(self, alice, company, settings):
        built = index_rebuild()
        path = settings.INDEX_DIR / f"v{built.version}" / "manifest.json"
        manifest = store.read_manifest(settings.INDEX_DIR, built.version)
        path.write_text(json.dumps({**manifest, "format": 2}))
        embedded.reset_process_cache()
        assert _keys(search_documents(user=alice, query="yıllık izin", k=3))[:1] == ["PR1"]
        # Served from a version built again in this format, not from the old files.
        assert store.read_manifest(settings.INDEX_DIR, built.version)["format"] == store.FORMAT
