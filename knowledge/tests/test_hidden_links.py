"""A staff-visible document that links to an HR-only one (an employee in a restricted
department, reporting to a restricted manager, a project with a restricted member) shows
employees neither the hidden document's name nor its key: not on the document page, not
in the API, not in search snippets, not in chat answers. HR sees everything."""

from __future__ import annotations

import json

import pytest

from knowledge.models import Document, Visibility
from retrieval.services import index_rebuild

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_NAME, SECRET_KEY = "Gizli Birim", "DX9"
SECRET_BOSS, SECRET_BOSS_KEY = "Kâmil Saklı", "EX9"


@pytest.fixture
def hidden(company):
    Document.objects.create(
        key=SECRET_KEY, doc_type="department", title=SECRET_NAME, body={"name": SECRET_NAME}, visibility=Visibility.HR
    )
    Document.objects.create(
        key=SECRET_BOSS_KEY,
        doc_type="employee",
        title=SECRET_BOSS,
        body={"first_name": "Kâmil", "last_name": "Saklı", "title": "Director", "department_id": SECRET_KEY},
        visibility=Visibility.HR,
    )
    Document.objects.create(
        key="E7",
        doc_type="employee",
        title="Deniz Açık",
        body={
            "first_name": "Deniz",
            "last_name": "Açık",
            "title": "Analyst",
            "department_id": SECRET_KEY,
            "manager_id": SECRET_BOSS_KEY,
            "skills": ["Kafka"],
        },
    )
    project = company["P1"]
    project.body = {**project.body, "members": ["E1", "E2", SECRET_BOSS_KEY]}
    project.save()
    index_rebuild()


def leaks(text: str) -> list[str]:
    return [s for s in (SECRET_NAME, SECRET_KEY, SECRET_BOSS, "Kâmil", "Saklı", SECRET_BOSS_KEY) if s in text]


def test_the_document_page_and_the_api_show_no_hidden_name_or_key(client, alice, hr_user, hidden):
    client.force_login(alice)
    for path in ("/documents/E7/", "/documents/P1/"):
        page = client.get(path)
        assert page.status_code == 200 and not leaks(page.content.decode()), path
    body = client.get("/api/documents/E7/").json()["body"]
    assert body["department_id"] is None and body["manager_id"] is None
    assert client.get("/api/documents/P1/").json()["body"]["members"] == ["E1", "E2"]
    client.force_login(hr_user)
    assert SECRET_NAME in client.get("/documents/E7/").content.decode()
    assert client.get("/api/documents/E7/").json()["body"]["manager_id"] == SECRET_BOSS_KEY


def test_search_snippets_and_the_staff_index_hold_no_hidden_name(client, alice, hr_user, hidden):
    from retrieval.chunking import HR, STAFF
    from retrieval.services import current_index

    index = current_index()
    staff_text = " ".join(p.text for p in index.views[STAFF].passages)
    assert "Deniz" in staff_text and not leaks(staff_text)
    # The staff index never claims the hidden manager does not exist either.
    assert "Deniz Açık reports to no one" not in staff_text
    assert SECRET_BOSS in " ".join(p.text for p in index.views[HR].passages)
    client.force_login(alice)
    for query in ("Deniz Açık", "Gizli Birim", "Kâmil Saklı", "Kervan members"):
        response = client.get("/api/documents/", {"q": query})
        assert response.status_code == 200 and not leaks(json.dumps(response.json(), ensure_ascii=False)), query


def test_chat_answers_name_no_hidden_document(client, alice, hidden):
    client.force_login(alice)
    for question in (
        "Deniz Açık hangi birimde çalışıyor?",
        "Who is Deniz Açık's manager?",
        "Who works on Kervan?",
        "Deniz Açık kimdir?",
    ):
        response = client.post("/api/chat/", json.dumps({"message": question}), content_type="application/json")
        assert response.status_code == 200
        data = response.json()
        assert not leaks(data["answer"]), (question, data["answer"])
        assert not leaks(json.dumps(data["sources"], ensure_ascii=False)), question


def test_a_department_made_hr_only_leaves_the_staff_passages_that_named_it_at_once(alice, hr_user, company):
    """Its employees' staff passages named it: they are indexed again with it, not at the next rebuild."""
    from knowledge.services import document_update
    from retrieval.services import search_documents

    index_rebuild()

    def naming(query: str) -> list[str]:
        return [r.key for r in search_documents(user=alice, query=query, k=10, method="bm25") if query in r.snippet]

    assert "E1" in naming("Yazılım")
    document_update(document=company["D1"], body=company["D1"].body, visibility=Visibility.HR, by=hr_user)
    assert naming("Yazılım") == []


def test_renaming_a_department_renames_it_in_its_employees_passages(alice, hr_user, company):
    from knowledge.services import document_update
    from retrieval.services import search_documents

    index_rebuild()
    document_update(document=company["D1"], body={**company["D1"].body, "name": "Platform Mühendisliği"}, by=hr_user)
    found = {r.key: r.snippet for r in search_documents(user=alice, query="Platform Mühendisliği", k=10, method="bm25")}
    assert {key for key, snippet in found.items() if "Platform Mühendisliği" in snippet} == {"D1", "E1", "E2", "P1"}


def test_the_referrers_of_a_document_are_found_by_single_and_multiple_links(company):
    from knowledge.selectors import document_referrers

    assert document_referrers(keys=["D1"]) == ["E1", "E2", "P1"]  # department_id, and the project's department
    assert document_referrers(keys=["E1"]) == ["P1"]  # a member
    assert document_referrers(keys=["E2"]) == ["D1", "E1", "E3", "P1"]  # head, manager, lead
    assert document_referrers(keys=["E1", "P1"]) == []  # among themselves only
    assert document_referrers(keys=[]) == [] and document_referrers(keys=["NOPE"]) == []
