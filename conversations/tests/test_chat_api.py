from __future__ import annotations

import json

import pytest

from conversations.models import Conversation, Message
from conversations.services import conversation_create
from retrieval.llm import ProviderError, get_provider

from .sse import sse_events

pytestmark = pytest.mark.django_db(transaction=True)


def post(client, body, **headers):
    return client.post("/api/chat/", json.dumps(body), content_type="application/json", **headers)


def test_it_answers_with_cited_sources_and_stores_both_messages(client, alice, company):
    client.force_login(alice)
    response = post(client, {"message": "Yıllık izin talebi nereden yapılır?", "conversation": None})
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"conversation", "message_id", "answer", "sources", "provider", "model", "cached", "token_count"}
    assert "İK Portalı" in data["answer"] and "[1]" in data["answer"]
    assert data["sources"][0]["key"] == "PR1" and data["sources"][0]["url"] == "/documents/PR1/"
    assert data["provider"] == "local" and data["cached"] is False and data["token_count"] > 0
    conversation = Conversation.objects.get(id=data["conversation"])
    assert conversation.owner == alice and conversation.message_count == 2
    stored = Message.objects.get(id=data["message_id"])
    assert stored.role == "assistant" and stored.used_documents[0]["key"] == "PR1"
    assert stored.latency_ms is not None and not stored.incomplete


def test_the_same_question_again_is_served_from_the_cache(client, alice, company):
    client.force_login(alice)
    first = post(client, {"message": "Yıllık izin nasıl talep edilir?"}).json()
    second = post(client, {"message": "Yıllık izin nasıl talep edilir?", "conversation": first["conversation"]}).json()
    assert second["cached"] is True and second["answer"] == first["answer"]
    assert Message.objects.get(id=second["message_id"]).cached


def test_the_cache_is_never_shared_between_users(client, alice, stranger, company):
    client.force_login(alice)
    post(client, {"message": "Yıllık izin nasıl talep edilir?"})
    client.force_login(stranger)
    assert post(client, {"message": "Yıllık izin nasıl talep edilir?"}).json()["cached"] is False


def test_a_role_change_never_serves_an_answer_built_for_the_old_role(client, hr_user, company):
    client.force_login(hr_user)
    assert post(client, {"message": "Yıllık izin nasıl talep edilir?"}).json()["cached"] is False
    hr_user.role = "employee"
    hr_user.save(update_fields=["role"])
    assert post(client, {"message": "Yıllık izin nasıl talep edilir?"}).json()["cached"] is False


def test_exact_answers_are_never_cached_and_follow_an_edit_at_once(client, alice, company):
    from knowledge.services import document_update

    client.force_login(alice)
    first = post(client, {"message": "Kervan projesini kim yönetiyor?"}).json()
    assert first["cached"] is False and "Emre Şahin" in first["answer"]
    body = dict(company["P1"].body, lead_id="E1")
    document_update(document=company["P1"], body=body, by=None)
    second = post(client, {"message": "Kervan projesini kim yönetiyor?"}).json()
    assert second["cached"] is False and "Ayşe Yılmaz" in second["answer"] and "Emre" not in second["answer"]


def test_an_employee_never_gets_a_sensitive_value(client, alice, hr_user, company):
    client.force_login(alice)
    for question in ("Ayşe Yılmaz'ın maaşı ne kadar?", "What is Ayşe Yılmaz's national ID and phone?"):
        answer = post(client, {"message": question}).json()["answer"]
        for secret in ("85000", "12345678901", "111 2233"):
            assert secret not in answer
    client.force_login(hr_user)
    assert "85.000" in post(client, {"message": "Ayşe Yılmaz'ın maaşı ne kadar?"}).json()["answer"]


def test_it_streams_server_sent_events(client, alice, company):
    client.force_login(alice)
    response = post(client, {"message": "Yıllık izin nasıl alınır?"}, HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
    events = sse_events(response)
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "started" and kinds[-2:] == ["sources", "done"]
    assert kinds.count("token") > 3
    assert "".join(d["text"] for k, d in events if k == "token") == events[-1][1]["answer"]
    assert events[-1][1]["message_id"] == Message.objects.filter(role="assistant").get().id


def test_a_follow_up_question_uses_the_conversation(client, alice, company):
    client.force_login(alice)
    first = post(client, {"message": "Who leads the Kervan project?"}).json()
    follow = post(client, {"message": "and its members?", "conversation": first["conversation"]}).json()
    assert "P1" in [s["key"] for s in follow["sources"]]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"message": ""}, 400),
        ({"message": "   "}, 400),
        ({"message": "x" * 4001}, 400),
        ({}, 400),
        ({"message": "hi", "conversation": "not a valid id!"}, 400),
        ({"message": 5}, 400),
    ],
)
def test_bad_requests_are_400_and_store_nothing(client, alice, company, body, status):
    client.force_login(alice)
    response = post(client, body)
    assert response.status_code == status and "error" in response.json()
    assert not Message.objects.exists()


def test_malformed_json_is_400(client, alice):
    client.force_login(alice)
    response = client.post("/api/chat/", "{oops", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error"


def test_someone_elses_conversation_is_404(client, alice, stranger, company):
    conversation = conversation_create(user=alice, title="Mine")
    client.force_login(stranger)
    assert post(client, {"message": "hi", "conversation": conversation.id}).status_code == 404
    assert not Message.objects.exists()


def test_anonymous_is_refused(client, company):
    assert post(client, {"message": "hi"}).status_code in (401, 403)


def test_a_failing_provider_falls_back_to_the_offline_answer_with_a_notice(client, alice, company, settings):
    from retrieval import llm

    class Broken:
        name, model = "broken", "x"

        def stream(self, messages, options):
            yield "garbage"
            raise ProviderError("upstream 500", retryable=True)

    llm.reset_providers()
    llm.providers.set("broken", Broken())
    settings.LLM_PROVIDER = "broken"
    try:
        client.force_login(alice)
        events = sse_events(post(client, {"message": "Yıllık izin nasıl alınır?"}, HTTP_ACCEPT="text/event-stream"))
    finally:
        llm.reset_providers()
    kinds = [k for k, _ in events]
    assert "notice" in kinds and "reset" in kinds
    done = events[-1][1]
    assert done["provider"] == "local" and "garbage" not in done["answer"] and "[1]" in done["answer"]
    assert get_provider("local").name == "local"


def test_a_client_that_disconnects_leaves_the_partial_answer_marked_incomplete(alice, company):
    from conversations.answering import ask

    events = ask(user=alice, question="Yıllık izin nasıl alınır?")
    for event in events:
        if event.kind == "token":
            break
    events.close()
    stored = Message.objects.get(role="assistant")
    assert stored.incomplete and stored.content


def test_a_question_about_what_no_document_mentions_says_so_and_cites_nothing(client, alice, company):
    client.force_login(alice)
    data = post(client, {"message": "What is the policy on pets in the office?"}).json()
    assert data["answer"] == "I could not find anything about “pets” in the company knowledge."
    assert data["sources"] == [] and data["cached"] is False
    turkish = post(client, {"message": "Otopark ücreti ne kadar?"}).json()
    assert turkish["answer"] == "Şirket bilgilerinde “Otopark” ile ilgili bir bilgi bulamadım." and turkish["sources"] == []
    # What the documents do cover is answered as before.
    assert "İK Portalı" in post(client, {"message": "Yıllık izin politikası nedir?"}).json()["answer"]


class BackwardsCiter:
    """A model that cites the last source it was given first, then the first one."""

    name, model = "backwards", "backwards-1"

    def stream(self, messages, options):
        numbers = [s.n for s in options.sources]
        yield f"İzin İK Portalı'ndan istenir [{numbers[-1]}]. "
        yield f"Onayı yönetici verir [{numbers[0]}][{numbers[-1]}]."


def test_an_answers_citations_read_1_2_in_order_and_its_sources_match(client, alice, company, use_provider):
    use_provider("backwards", BackwardsCiter())
    client.force_login(alice)
    data = post(client, {"message": "Yıllık izin talebi nereden yapılır, kim onaylar?"}).json()
    assert data["answer"] == "İzin İK Portalı'ndan istenir [1]. Onayı yönetici verir [2][1]."
    assert [s["n"] for s in data["sources"]] == [1, 2]
    stored = Message.objects.get(id=data["message_id"])
    assert stored.content == data["answer"] and [d["n"] for d in stored.used_documents] == [1, 2]
    assert [d["key"] for d in stored.used_documents] == [s["key"] for s in data["sources"]]
