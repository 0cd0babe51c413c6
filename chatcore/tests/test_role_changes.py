"""A role change reaches every place that answers from what the user may see: the chat
API (page session and API token alike), its answer cache, the structured-records snapshot,
search and the document API. Nothing built for the old role is served after it."""

from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token

from knowledge.queries import knowledge_snapshot
from retrieval.services import index_rebuild

pytestmark = pytest.mark.django_db(transaction=True)

SECRETS = ("85.000", "85000", "12345678901", "111 2233")


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def ask(client, question: str, **headers) -> dict:
    response = client.post("/api/chat/", json.dumps({"message": question}), content_type="application/json", **headers)
    assert response.status_code == 200, response.content[:300]
    return response.json()


# Exact answers (never cached) and passage answers (cached per user and view) alike.
QUESTIONS = ("Ayşe Yılmaz'ın maaşı ne kadar?", "What is Ayşe Yılmaz's phone number?", "maaş bilgileri", "E1 salary")


@pytest.mark.parametrize("how", ["session", "token"])
def test_a_demoted_hr_user_is_answered_as_an_employee_at_once(client, hr_user, company, how):
    index_rebuild()
    headers = {}
    if how == "session":
        client.force_login(hr_user)
    else:
        headers = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=hr_user).key}"}
    before = [ask(client, q, **headers)["answer"] for q in QUESTIONS]
    assert any(leaked(a) for a in before), before  # HR is told
    search = client.get("/api/documents/", {"q": "Ayşe Yılmaz maaş"}, **headers).json()
    document = client.get("/api/documents/E1/", **headers).json()
    assert document["body"]["salary"] == 85000 and search
    hr_user.role = "employee"
    hr_user.save()
    for question in QUESTIONS:
        for _ in range(2):  # the second time is where a cached HR answer would come back
            answer = ask(client, question, **headers)
            assert not leaked(answer["answer"]), (question, answer["answer"])
    assert "salary" not in client.get("/api/documents/E1/", **headers).json()["body"]
    search = client.get("/api/documents/", {"q": "Ayşe Yılmaz maaş"}, **headers)
    assert not leaked(json.dumps(search.json(), ensure_ascii=False))
    assert not client.get("/api/documents/PR9/", **headers).status_code == 200  # HR-only procedure


def test_the_records_snapshot_follows_the_role(hr_user, company):
    assert knowledge_snapshot(user=hr_user).hr
    assert any(r.body.get("salary") for r in knowledge_snapshot(user=hr_user).records)
    hr_user.role = "employee"
    hr_user.save()
    snapshot = knowledge_snapshot(user=hr_user)
    assert not snapshot.hr and not any("salary" in r.body for r in snapshot.records)
    assert "PR9" not in snapshot.keys
