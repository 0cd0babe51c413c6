from __future__ import annotations

import pytest

from knowledge.queries import (
    MAX_LIMIT,
    Condition,
    QueryError,
    SensitiveFieldError,
    find_documents,
    knowledge_snapshot,
    text_has,
)


def keys(result):
    return [r.key for r in result.records]


def test_it_filters_lists_by_an_item_and_text_by_its_words(alice, company):
    assert keys(find_documents(user=alice, doc_type="employee", where=[Condition("skills", "has", "kafka")])) == ["E1"]
    result = find_documents(user=alice, doc_type="employee", where=[Condition("title", "has", ["specialist", "cto"])])
    assert sorted(keys(result)) == ["E2", "E3"] and result.total == 2


def test_it_follows_links_both_ways(alice, company):
    members = find_documents(user=alice, doc_type="project", where=[Condition("members", "links", "E1")])
    reports = find_documents(user=alice, doc_type="employee", where=[Condition("manager_id", "links", "E2")])
    assert keys(members) == ["P1"] and sorted(keys(reports)) == ["E1", "E3"]


def test_it_hides_sensitive_fields_from_employees_in_reads_filters_and_sorting(alice, hr_user, company):
    assert "salary" not in knowledge_snapshot(user=alice).by_key()["E1"].body
    for call in ({"where": [Condition("salary", "gt", 100_000)]}, {"order_by": "-salary"}):
        with pytest.raises(SensitiveFieldError):
            find_documents(user=alice, doc_type="employee", **call)
    richest = find_documents(user=hr_user, doc_type="employee", where=[Condition("salary", "gt", 100_000)])
    assert keys(richest) == ["E2"]


def test_it_never_returns_documents_the_viewer_may_not_see(alice, hr_user, company):
    assert "PR9" not in keys(find_documents(user=alice, doc_type="procedure"))
    assert "PR9" in keys(find_documents(user=hr_user, doc_type="procedure"))


def test_bad_queries_are_clear_errors(alice, company):
    with pytest.raises(QueryError, match="no field shoe_size"):
        find_documents(user=alice, doc_type="employee", where=[Condition("shoe_size", "eq", 42)])
    with pytest.raises(QueryError, match="Unknown document type"):
        find_documents(user=alice, doc_type="spaceship")
    with pytest.raises(QueryError, match="operator"):
        find_documents(user=alice, doc_type="employee", where=[Condition("title", "like", "x")])
    with pytest.raises(QueryError, match="limit"):
        find_documents(user=alice, doc_type="employee", limit=-1)


def test_a_huge_limit_is_capped_and_the_total_still_counts_everything(alice, company):
    result = find_documents(user=alice, doc_type="employee", limit=10**9)
    assert result.total == 3 and len(result.records) <= MAX_LIMIT


def test_the_snapshot_follows_an_edit(alice, company):
    from knowledge.services import document_update

    assert knowledge_snapshot(user=alice).by_key()["P1"].body["lead_id"] == "E2"
    document_update(document=company["P1"], body=dict(company["P1"].body, lead_id="E1"), by=None)
    assert knowledge_snapshot(user=alice).by_key()["P1"].body["lead_id"] == "E1"


def test_text_has_matches_inflected_words_in_order():
    assert text_has("Kıdemli Yazılım Mühendisi", "mühendis") and text_has("Senior Software Engineers", "engineer")
    assert not text_has("Software Engineer", "senior engineer")
