from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.services import conversation_create

pytestmark = pytest.mark.django_db


def send(client, method, url, body=None):
    data = json.dumps(body) if body is not None else b""
    return client.generic(method.upper(), url, data, content_type="application/json")


def make_conversation(user, title="", *, minutes_ago=0):
    conversation = conversation_create(user=user, title=title)
    when = timezone.now() - dt.timedelta(minutes=minutes_ago)
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=when)
    return conversation


def add_message(conversation, role="user", content="Merhaba", **fields):
    message = Message.objects.create(conversation=conversation, role=role, content=content, created_at=timezone.now(), **fields)
    Conversation.objects.filter(pk=conversation.pk).update(message_count=conversation.messages.count())
    return message


# --- list ---------------------------------------------------------------------------


def test_it_lists_only_my_conversations_newest_first(client, alice, stranger):
    old = make_conversation(alice, "Eski", minutes_ago=30)
    new = make_conversation(alice, "Yeni", minutes_ago=1)
    make_conversation(stranger, "Not alice's")
    client.force_login(alice)
    response = client.get("/api/conversations/")
    assert response.status_code == 200
    data = response.json()
    assert [c["id"] for c in data["results"]] == [new.id, old.id]
    assert set(data["results"][0]) == {"id", "title", "message_count", "created_at", "updated_at", "url"}
    assert data["results"][0]["url"] == f"/c/{new.id}/"
    assert data["next"] is None and data["previous"] is None


def test_the_list_is_paginated_with_a_next_link(client, alice):
    for i in range(25):
        make_conversation(alice, f"Sohbet {i}", minutes_ago=i)
    client.force_login(alice)
    first = client.get("/api/conversations/").json()
    assert len(first["results"]) == 20 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 5 and second["next"] is None
    titles = [c["title"] for c in first["results"] + second["results"]]
    assert titles == [f"Sohbet {i}" for i in range(25)]


def test_page_size_is_honoured_up_to_a_hundred(client, alice):
    for i in range(3):
        make_conversation(alice, f"Sohbet {i}", minutes_ago=i)
    client.force_login(alice)
    assert len(client.get("/api/conversations/", {"page_size": 2}).json()["results"]) == 2


def test_a_damaged_cursor_is_a_400(client, alice, english):
    client.force_login(alice)
    response = client.get("/api/conversations/", {"cursor": "not-a-cursor"})
    assert response.status_code == 400 and response.json()["error"]["details"] == {"cursor": ["Invalid cursor."]}


def test_it_searches_titles_and_messages(client, alice):
    leave = make_conversation(alice, "İzin soruları")
    kafka = make_conversation(alice, "Başka")
    add_message(kafka, content="Who knows Kafka?")
    make_conversation(alice, "Alakasız")
    client.force_login(alice)
    assert [c["id"] for c in client.get("/api/conversations/", {"q": "izin"}).json()["results"]] == [leave.id]
    assert [c["id"] for c in client.get("/api/conversations/", {"q": "kafka"}).json()["results"]] == [kafka.id]


# --- create --------------------------------------------------------------------------


def test_it_creates_a_conversation_with_a_title(client, alice):
    client.force_login(alice)
    response = send(client, "post", "/api/conversations/", {"title": "  Bütçe  "})
    assert response.status_code == 201
    data = response.json()
    conversation = Conversation.objects.get(id=data["id"])
    assert conversation.owner == alice and conversation.title == "Bütçe"
    assert data["message_count"] == 0 and response["Location"] == f"/api/conversations/{conversation.id}/"


def test_the_title_is_optional_and_the_body_too(client, alice):
    client.force_login(alice)
    assert send(client, "post", "/api/conversations/", {}).status_code == 201
    assert client.generic("POST", "/api/conversations/", b"", content_type="application/json").status_code == 201
    assert list(Conversation.objects.values_list("title", flat=True)) == ["", ""]


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x" * 201},
        {"title": 5},
        {"title": None},
        {"titel": "typo"},
        {"title": "ok", "owner": 3},
        [],
    ],
)
def test_a_bad_create_is_400_and_writes_nothing(client, alice, body):
    client.force_login(alice)
    response = send(client, "post", "/api/conversations/", body)
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert not Conversation.objects.exists()


def test_unknown_fields_are_named_in_the_details(client, alice, english):
    client.force_login(alice)
    details = send(client, "post", "/api/conversations/", {"titel": "x"}).json()["error"]["details"]
    assert details == {"titel": ["Unknown field."]}


# --- one conversation -------------------------------------------------------------------


def test_it_reads_one_of_my_conversations(client, alice):
    conversation = make_conversation(alice, "Bir")
    client.force_login(alice)
    data = client.get(f"/api/conversations/{conversation.id}/").json()
    assert data["id"] == conversation.id and data["title"] == "Bir"


def test_it_renames_without_moving_the_conversation_in_the_list(client, alice):
    conversation = make_conversation(alice, "Eski ad", minutes_ago=10)
    before = Conversation.objects.get(pk=conversation.pk).updated_at
    client.force_login(alice)
    response = send(client, "patch", f"/api/conversations/{conversation.id}/", {"title": " Yeni ad "})
    assert response.status_code == 200 and response.json()["title"] == "Yeni ad"
    conversation.refresh_from_db()
    assert conversation.title == "Yeni ad" and conversation.updated_at == before


@pytest.mark.parametrize(
    "body", [{"title": ""}, {"title": "   "}, {"title": "x" * 201}, {"title": 7}, {}, {"title": "ok", "message_count": 3}]
)
def test_a_bad_rename_is_400_and_keeps_the_title(client, alice, body):
    conversation = make_conversation(alice, "Aynı")
    client.force_login(alice)
    response = send(client, "patch", f"/api/conversations/{conversation.id}/", body)
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.title == "Aynı" and conversation.message_count == 0


def test_it_deletes_a_conversation_with_its_messages(client, alice):
    conversation = make_conversation(alice, "Sil")
    add_message(conversation)
    client.force_login(alice)
    response = client.delete(f"/api/conversations/{conversation.id}/")
    assert response.status_code == 204 and response.content == b""
    assert not Conversation.objects.exists() and not Message.objects.exists()


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_the_stranger_gets_404_and_changes_nothing(client, alice, stranger, method):
    conversation = make_conversation(alice, "Alice's")
    add_message(conversation)
    client.force_login(stranger)
    response = send(client, method, f"/api/conversations/{conversation.id}/", {"title": "Mine now"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    conversation.refresh_from_db()
    assert conversation.title == "Alice's" and conversation.messages.count() == 1
    assert client.get(f"/api/conversations/{conversation.id}/messages/").status_code == 404


@pytest.mark.parametrize("bad_id", ["NOPE123456", "not%20valid!", "x" * 65, "ab'cd"])
def test_unknown_and_malformed_ids_are_404(client, alice, bad_id):
    client.force_login(alice)
    for url in (f"/api/conversations/{bad_id}/", f"/api/conversations/{bad_id}/messages/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"


# --- messages --------------------------------------------------------------------------


def test_messages_come_oldest_first_with_their_metadata(client, alice, company):
    conversation = make_conversation(alice, "İzin")
    add_message(conversation, content="Yıllık izin nasıl alınır?", token_count=4)
    add_message(
        conversation,
        role="assistant",
        content="İK Portalı üzerinden [1].",
        provider="local",
        model="extractive-v1",
        token_count=4,
        latency_ms=12,
        feedback=1,
        used_documents=[{"n": 1, "key": "PR1", "score": 0.9}],
    )
    client.force_login(alice)
    response = client.get(f"/api/conversations/{conversation.id}/messages/")
    assert response.status_code == 200
    question, answer = response.json()["results"]
    assert question["role"] == "user" and question["sources"] == [] and question["feedback"] is None
    assert answer == {
        "id": answer["id"],
        "role": "assistant",
        "content": "İK Portalı üzerinden [1].",
        "created_at": answer["created_at"],
        "provider": "local",
        "model": "extractive-v1",
        "cached": False,
        "incomplete": False,
        "feedback": 1,
        "token_count": 4,
        "latency_ms": 12,
        "sources": [
            {"n": 1, "key": "PR1", "doc_type": "procedure", "title": "Yıllık İzin", "score": 0.9, "url": "/documents/PR1/"}
        ],
    }


def test_a_source_the_reader_may_not_open_keeps_only_its_key(client, alice, company):
    conversation = make_conversation(alice)
    add_message(
        conversation,
        role="assistant",
        content="[1] [2]",
        used_documents=[{"n": 1, "key": "PR9", "score": 0.5}, {"n": 2, "key": "GONE", "score": 0.4}],
    )
    client.force_login(alice)
    sources = client.get(f"/api/conversations/{conversation.id}/messages/").json()["results"][0]["sources"]
    assert sources == [
        {"n": 1, "key": "PR9", "doc_type": None, "title": None, "score": 0.5, "url": None},
        {"n": 2, "key": "GONE", "doc_type": None, "title": None, "score": 0.4, "url": None},
    ]


def test_messages_are_paginated(client, alice, django_assert_max_num_queries):
    conversation = make_conversation(alice)
    for i in range(23):
        add_message(conversation, content=f"m{i}")
    client.force_login(alice)
    with django_assert_max_num_queries(8):
        first = client.get(f"/api/conversations/{conversation.id}/messages/").json()
    rest = client.get(first["next"]).json()
    assert [m["content"] for m in first["results"] + rest["results"]] == [f"m{i}" for i in range(23)]
    assert rest["next"] is None


def test_anonymous_gets_401_with_www_authenticate(client, alice):
    conversation = make_conversation(alice)
    for url in (
        "/api/conversations/",
        f"/api/conversations/{conversation.id}/",
        f"/api/conversations/{conversation.id}/messages/",
    ):
        response = client.get(url)
        assert response.status_code == 401 and response["WWW-Authenticate"]
        assert response.json()["error"]["code"] == "not_authenticated"


def test_a_token_works_as_well_as_a_session(client, alice):
    from rest_framework.authtoken.models import Token

    make_conversation(alice, "Token")
    token = Token.objects.create(user=alice)
    response = client.get("/api/conversations/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert [c["title"] for c in response.json()["results"]] == ["Token"]
