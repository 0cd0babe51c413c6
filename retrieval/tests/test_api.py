from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_search_returns_ranked_results_with_the_spec_fields(client, alice, company):
    client.force_login(alice)
    response = client.get("/api/documents/", {"q": "yıllık izin"})
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert set(first) == {"key", "doc_type", "title", "score", "snippet", "url"}
    assert first["key"] == "PR1" and first["url"] == "/documents/PR1/"


def test_search_by_token_and_type(client, alice, company):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=alice)
    response = client.get("/api/documents/", {"q": "Kervan", "doc_type": "project"}, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert [r["key"] for r in response.json()["results"]] == ["P1"]


def test_search_without_a_query_lists_documents(client, alice, company):
    client.force_login(alice)
    results = client.get("/api/documents/", {"doc_type": "employee"}).json()["results"]
    assert {r["key"] for r in results} == {"E1", "E2", "E3"}


def test_bad_parameters_are_400_in_the_error_shape(client, alice, company):
    client.force_login(alice)
    for params in ({"q": "x" * 4001}, {"doc_type": "spaceship"}, {"limit": "lots"}):
        response = client.get("/api/documents/", params)
        assert response.status_code == 400, params
        assert "error" in response.json()


def test_anonymous_is_401(client, company):
    assert client.get("/api/documents/", {"q": "izin"}).status_code in (401, 403)


def test_reading_a_document_hides_sensitive_fields_from_employees(client, alice, hr_user, company):
    client.force_login(alice)
    body = client.get("/api/documents/E1/").json()["body"]
    assert "salary" not in body and "national_id" not in body and "phone" not in body
    client.force_login(hr_user)
    assert client.get("/api/documents/E1/").json()["body"]["salary"] == 85000


def test_unknown_and_hidden_documents_are_404(client, alice, company):
    client.force_login(alice)
    assert client.get("/api/documents/NOPE/").status_code == 404
    assert client.get("/api/documents/PR9/").status_code == 404


def test_the_search_page_uses_the_retriever(client, alice, company):
    client.force_login(alice)
    html = client.get("/documents/", {"q": "yillik izin nasil"}).content.decode()
    assert 'href="/documents/PR1/"' in html and "search-results" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kervan", "P1"),
        ("izin", "PR1"),
        ("YILLIK", "PR1"),
        ("pr1", "PR1"),
        ("E3", "E3"),
    ],
)
def test_the_search_page_ranks_the_right_document_first(client, alice, company, query, expected):
    client.force_login(alice)
    response = client.get("/documents/", {"q": query})
    assert response.context["results"][0].key == expected


def test_the_search_page_answers_htmx_with_the_results_partial(client, alice, company):
    client.force_login(alice)
    html = client.get("/documents/", {"q": "izin"}, HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="results">') and "<html" not in html


@pytest.mark.parametrize("q", ["", "   "])
def test_an_empty_search_is_a_400_while_no_q_lists(client, alice, company, q):
    client.force_login(alice)
    response = client.get("/api/documents/", {"q": q}, HTTP_ACCEPT_LANGUAGE="en")
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid" and list(error["details"]) == ["q"]
    listed = client.get("/api/documents/")
    assert listed.status_code == 200 and listed.json()["results"]
