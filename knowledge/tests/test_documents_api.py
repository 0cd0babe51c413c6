from __future__ import annotations

import json

import pytest

from knowledge.models import Document

pytestmark = pytest.mark.django_db

PARKING = {"title": "Otopark", "summary": "Otopark kartı güvenlikten alınır."}


def send(client, method, url, body=None):
    data = json.dumps(body) if body is not None else b""
    return client.generic(method, url, data, content_type="application/json")


def create(client, **fields):
    body = {"key": "PR2", "doc_type": "procedure", "body": PARKING, **fields}
    return send(client, "POST", "/api/documents/", body)


def snapshot():
    return sorted(Document.objects.values_list("key", "version", "title", "visibility"))


# --- create --------------------------------------------------------------------------


def test_hr_creates_a_document(client, hr_user, company):
    client.force_login(hr_user)
    response = create(client)
    assert response.status_code == 201
    data = response.json()
    assert data == {
        "key": "PR2",
        "doc_type": "procedure",
        "title": "Otopark",
        "body": PARKING,
        "visibility": "staff",
        "version": 1,
        "updated_at": data["updated_at"],
        "url": "/documents/PR2/",
    }
    assert response["Location"] == "/api/documents/PR2/"
    document = Document.objects.get(key="PR2")
    assert document.updated_by == hr_user and document.title == "Otopark"


def test_an_admin_creates_an_hr_only_document(client, admin_user, company):
    client.force_login(admin_user)
    response = create(client, visibility="hr")
    assert response.status_code == 201 and Document.objects.get(key="PR2").visibility == "hr"


def test_an_employee_may_not_create(client, alice, company):
    before = snapshot()
    client.force_login(alice)
    response = create(client)
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert snapshot() == before


def test_a_taken_key_is_409_and_the_stored_document_stays(client, hr_user, company):
    before = snapshot()
    client.force_login(hr_user)
    response = create(client, key="PR1")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict" and "PR1" in error["message"] and "key" in error["details"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"body": {"title": "Only a title"}}, "body"),  # a procedure needs text
        ({"body": {"title": "Otopark", "summary": 5}}, "body"),  # wrong type inside the body
        ({"body": {"title": "X", "summary": "y", "owner_department_id": "D404"}}, "body"),  # broken link
        ({"doc_type": "spaceship"}, "doc_type"),
        ({"key": "has space"}, "key"),
        ({"key": "a/b"}, "key"),
        ({"key": ""}, "key"),
        ({"visibility": "everyone"}, "visibility"),
        ({"body": "not an object"}, "body"),
        ({"title": "Titles come from the body"}, "title"),
        ({"version": 3}, "version"),
    ],
)
def test_an_invalid_document_is_400_and_nothing_is_written(client, hr_user, company, fields, field):
    before = snapshot()
    client.force_login(hr_user)
    response = create(client, **fields)
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]
    assert snapshot() == before


def test_schema_errors_name_the_body_field(client, hr_user, company):
    client.force_login(hr_user)
    body = {"first_name": "Can", "last_name": "Ak", "title": "Dev", "department_id": "D1", "salary": "lots"}
    details = create(client, key="E9", doc_type="employee", body=body).json()["error"]["details"]
    assert list(details) == ["body"] and "salary" in details["body"]


# --- read ----------------------------------------------------------------------------


def test_reading_hides_sensitive_fields_from_employees_only(client, alice, hr_user, company):
    client.force_login(alice)
    body = client.get("/api/documents/E1/").json()["body"]
    assert {"salary", "national_id", "phone"}.isdisjoint(body) and body["first_name"] == "Ayşe"
    client.force_login(hr_user)
    assert client.get("/api/documents/E1/").json()["body"]["salary"] == 85000


# --- replace -------------------------------------------------------------------------


def test_hr_replaces_a_document_and_the_version_goes_up(client, hr_user, company):
    client.force_login(hr_user)
    body = dict(company["PR1"].body, summary="Yeni özet.")
    response = send(client, "PUT", "/api/documents/PR1/", {"body": body, "visibility": "hr", "version": 1})
    assert response.status_code == 200
    data = response.json()
    assert data["version"] == 2 and data["visibility"] == "hr" and data["body"]["summary"] == "Yeni özet."
    document = Document.objects.get(key="PR1")
    assert document.version == 2 and document.updated_by == hr_user and document.visibility == "hr"


def test_the_title_follows_the_body(client, hr_user, company):
    client.force_login(hr_user)
    body = dict(company["P1"].body, name="Kervan 2")
    assert send(client, "PUT", "/api/documents/P1/", {"body": body, "visibility": "staff"}).json()["title"] == "Kervan 2"


def test_a_stale_version_is_409_and_nothing_is_written(client, hr_user, company):
    client.force_login(hr_user)
    first = dict(company["PR1"].body, summary="Birinci.")
    assert send(client, "PUT", "/api/documents/PR1/", {"body": first, "visibility": "staff", "version": 1}).status_code == 200
    second = dict(company["PR1"].body, summary="İkinci, eski sürümden.")
    response = send(client, "PUT", "/api/documents/PR1/", {"body": second, "visibility": "staff", "version": 1})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict" and "version" in response.json()["error"]["details"]
    document = Document.objects.get(key="PR1")
    assert document.version == 2 and document.body["summary"] == "Birinci."


def test_without_a_version_the_last_write_wins(client, hr_user, company):
    client.force_login(hr_user)
    Document.objects.filter(key="PR1").update(version=7)
    body = dict(company["PR1"].body, summary="Son.")
    assert send(client, "PUT", "/api/documents/PR1/", {"body": body, "visibility": "staff"}).json()["version"] == 8


@pytest.mark.parametrize(
    "payload",
    [
        {"body": {"title": "Yıllık İzin"}, "visibility": "staff"},  # no text left
        {"body": {"title": "x", "summary": "y"}},  # visibility missing
        {"body": {"title": "x", "summary": "y"}, "visibility": "staff", "key": "PR77"},  # key never changes
        {"body": {"title": "x", "summary": "y"}, "visibility": "staff", "version": "1"},  # wrong type
        {"body": {"title": "x", "summary": "y"}, "visibility": "staff", "version": 0},
    ],
)
def test_a_bad_replacement_is_400_and_keeps_the_document(client, hr_user, company, payload):
    before = snapshot()
    client.force_login(hr_user)
    response = send(client, "PUT", "/api/documents/PR1/", payload)
    assert response.status_code == 400, response.json()
    assert snapshot() == before


def test_an_employee_may_not_replace_or_delete(client, alice, company):
    before = snapshot()
    client.force_login(alice)
    put = send(client, "PUT", "/api/documents/PR1/", {"body": company["PR1"].body, "visibility": "staff"})
    assert put.status_code == 403
    assert client.delete("/api/documents/PR1/").status_code == 403
    assert snapshot() == before


def test_hr_only_documents_are_404_for_employees_even_for_writes(client, alice, company):
    client.force_login(alice)
    assert client.get("/api/documents/PR9/").status_code == 404
    assert send(client, "PUT", "/api/documents/PR9/", {"body": {}, "visibility": "staff"}).status_code == 404
    assert client.delete("/api/documents/PR9/").status_code == 404
    assert Document.objects.filter(key="PR9").exists()


def test_unknown_keys_are_404(client, hr_user, company):
    client.force_login(hr_user)
    assert send(client, "PUT", "/api/documents/NOPE/", {"body": PARKING, "visibility": "staff"}).status_code == 404
    assert client.delete("/api/documents/NOPE/").status_code == 404
    assert not Document.objects.filter(key="NOPE").exists()


# --- delete --------------------------------------------------------------------------


def test_hr_deletes_a_document(client, hr_user, company):
    client.force_login(hr_user)
    response = client.delete("/api/documents/PR9/")
    assert response.status_code == 204 and response.content == b""
    assert not Document.objects.filter(key="PR9").exists()


def test_anonymous_writes_are_401(client, company):
    before = snapshot()
    assert create(client).status_code == 401
    assert send(client, "PUT", "/api/documents/PR1/", {"body": PARKING, "visibility": "staff"}).status_code == 401
    assert client.delete("/api/documents/PR1/").status_code == 401
    assert snapshot() == before


# --- the index follows ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_writes_through_the_api_reach_the_search_index(client, alice, hr_user, company):
    from retrieval.services import current_index

    current_index()
    client.force_login(hr_user)
    assert create(client).status_code == 201
    body = dict(company["PR1"].body, summary="Zeplin ile izin talebi.")
    assert send(client, "PUT", "/api/documents/PR1/", {"body": body, "visibility": "staff"}).status_code == 200
    client.force_login(alice)

    def found(q):
        return [r["key"] for r in client.get("/api/documents/", {"q": q, "limit": 3}).json()["results"]]

    assert found("otopark kartı")[:1] == ["PR2"]
    assert found("zeplin")[:1] == ["PR1"]
    client.force_login(hr_user)
    assert client.delete("/api/documents/PR2/").status_code == 204
    client.force_login(alice)
    assert "PR2" not in found("otopark kartı")


# --- sensitive fields under other spellings ----------------------------------------------


def test_another_spelling_of_a_sensitive_field_is_stored_as_the_field(client, hr_user, company):
    client.force_login(hr_user)
    body = dict(company["E3"].body, Salary=64000, **{"national-ID": "11122233344"})
    response = send(client, "PUT", "/api/documents/E3/", {"body": body, "visibility": "staff"})
    assert response.status_code == 200
    stored = Document.objects.get(key="E3").body
    assert (stored["salary"], stored["national_id"]) == (64000, "11122233344")
    assert "Salary" not in stored and "national-ID" not in stored


def test_two_spellings_of_a_sensitive_field_that_disagree_are_400(client, hr_user, company):
    before = snapshot()
    client.force_login(hr_user)
    body = dict(company["E1"].body, SALARY=1)
    response = send(client, "PUT", "/api/documents/E1/", {"body": body, "visibility": "staff"})
    assert response.status_code == 400
    assert "different values" in response.json()["error"]["details"]["body"]["salary"][0]
    assert snapshot() == before


def test_sensitive_looking_extra_fields_are_hidden_from_employees(client, alice, hr_user, company):
    client.force_login(hr_user)
    body = dict(company["E3"].body, IBAN="TR33 0006 1005", **{"Maaş Bilgisi": "brüt 64.000", "badge": "B-7"})
    assert send(client, "PUT", "/api/documents/E3/", {"body": body, "visibility": "staff"}).status_code == 200
    assert client.get("/api/documents/E3/").json()["body"]["IBAN"] == "TR33 0006 1005"
    client.force_login(alice)
    shown = client.get("/api/documents/E3/").json()["body"]
    assert {"IBAN", "Maaş Bilgisi"}.isdisjoint(shown) and shown["badge"] == "B-7"
    page = client.get("/documents/E3/").content.decode()
    assert "TR33" not in page and "64.000" not in page and "B-7" in page
