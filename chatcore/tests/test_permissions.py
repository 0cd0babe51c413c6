"""Who may do what: every page and API endpoint, for an anonymous visitor, an employee,
HR and an admin; and a stranger gets 404 on everything that belongs to someone else."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.urls import Resolver404, resolve
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.services import conversation_create

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "employee", "hr", "admin")


@dataclass(frozen=True)
class Row:
    method: str
    url: str  # {c}: a conversation of the caller's; {m}: an answer in it
    expected: tuple[int, int, int, int]  # anonymous, employee, hr, admin
    body: dict | None = None
    api: bool = True

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


def every(status: int) -> tuple[int, int, int, int]:
    return (status, status, status, status)


def signed_in(status: int, *, anonymous: int = 401) -> tuple[int, int, int, int]:
    return (anonymous, status, status, status)


PAGE = 302  # a page redirects an anonymous visitor to the sign-in page

DOCUMENT = {"key": "PR5", "doc_type": "procedure", "body": {"title": "Otopark", "summary": "Kart güvenlikte."}}
REPLACEMENT = {"body": {"title": "Bordro", "summary": "Yeni özet."}, "visibility": "hr"}

TABLE = [
    # Pages
    Row("GET", "/", signed_in(200, anonymous=PAGE), api=False),
    Row("GET", "/c/{c}/", signed_in(200, anonymous=PAGE), api=False),
    Row("GET", "/c/{c}/rename/", signed_in(200, anonymous=PAGE), api=False),
    Row("POST", "/c/{c}/delete/", signed_in(302, anonymous=PAGE), api=False),
    Row("GET", "/conversations/", signed_in(302, anonymous=PAGE), api=False),
    Row("POST", "/m/{m}/feedback/", signed_in(200, anonymous=PAGE), body={"value": "1"}, api=False),
    Row("GET", "/documents/", signed_in(200, anonymous=PAGE), api=False),
    Row("GET", "/documents/PR1/", signed_in(200, anonymous=PAGE), api=False),
    Row("GET", "/documents/PR9/", (PAGE, 404, 200, 200), api=False),
    Row("GET", "/sessions/", signed_in(200, anonymous=PAGE), api=False),
    Row("GET", "/admin/", (PAGE, PAGE, 200, 200), api=False),
    Row("GET", "/admin/knowledge/document/", (PAGE, PAGE, 200, 200), api=False),
    Row("GET", "/admin/accounts/user/", (PAGE, PAGE, 403, 200), api=False),
    Row("GET", "/login/", (200, 302, 302, 302), api=False),
    Row("GET", "/healthz", every(200), api=False),
    # API: sign-in endpoints are open (an empty body is a 400), the rest need a signed-in caller
    Row("POST", "/api/auth/token/", every(400), body={}),
    Row("POST", "/api/auth/jwt/", every(400), body={}),
    Row("POST", "/api/auth/jwt/refresh/", every(400), body={}),
    Row("POST", "/api/auth/logout/", signed_in(400), body={}),
    Row("GET", "/api/schema/", every(200)),
    Row("GET", "/api/docs/", every(200), api=False),
    Row("GET", "/api/conversations/", signed_in(200)),
    Row("POST", "/api/conversations/", signed_in(201), body={"title": "Yeni"}),
    Row("GET", "/api/conversations/{c}/", signed_in(200)),
    Row("PATCH", "/api/conversations/{c}/", signed_in(200), body={"title": "Yeni ad"}),
    Row("DELETE", "/api/conversations/{c}/", signed_in(204)),
    Row("GET", "/api/conversations/{c}/messages/", signed_in(200)),
    Row("POST", "/api/chat/", signed_in(200), body={"message": "Yıllık izin nasıl alınır?", "conversation": "{c}"}),
    Row("POST", "/api/messages/{m}/feedback/", signed_in(200), body={"value": -1}),
    Row("GET", "/api/documents/", signed_in(200)),
    Row("POST", "/api/documents/", (401, 403, 201, 201), body=DOCUMENT),
    Row("GET", "/api/documents/PR1/", signed_in(200)),
    Row(
        "PUT",
        "/api/documents/PR1/",
        (401, 403, 200, 200),
        body={"body": {"title": "Yıllık İzin", "summary": "Portal."}, "visibility": "staff"},
    ),
    Row("DELETE", "/api/documents/PR1/", (401, 403, 204, 204)),
    # HR-only: an employee does not learn it exists, not even from a write
    Row("GET", "/api/documents/PR9/", (401, 404, 200, 200)),
    Row("PUT", "/api/documents/PR9/", (401, 404, 200, 200), body=REPLACEMENT),
    Row("DELETE", "/api/documents/PR9/", (401, 404, 204, 204)),
]


def _route_exists(url: str) -> bool:
    try:
        resolve(url.split("?")[0].replace("{c}", "abcdefghij").replace("{m}", "1"))
    except Resolver404:
        return False
    return True


def _own_things(user) -> tuple[Conversation, Message]:
    conversation = conversation_create(user=user, title="Mine")
    now = timezone.now()
    Message.objects.create(conversation=conversation, role="user", content="Soru?", created_at=now)
    answer = Message.objects.create(conversation=conversation, role="assistant", content="Cevap.", created_at=now)
    return conversation, answer


def _request(client, row: Row, *, conversation: Conversation, answer: Message):
    url = row.url.format(c=conversation.id, m=answer.id)
    if row.body is None:
        return client.generic(row.method, url)
    if row.api:
        body = json.loads(json.dumps(row.body).replace("{c}", conversation.id))
        return client.generic(row.method, url, json.dumps(body), content_type="application/json")
    return client.post(url, row.body)


@pytest.fixture
def people(alice, hr_user, admin_user):
    return {"anonymous": None, "employee": alice, "hr": hr_user, "admin": admin_user}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", TABLE, ids=str)
def test_the_permission_matrix(client, people, alice, company, role, row):
    if not _route_exists(row.url):
        pytest.skip(f"{row.url} is not routed in this build")
    user = people[role]
    conversation, answer = _own_things(user or alice)
    if user is not None:
        client.force_login(user)
    response = _request(client, row, conversation=conversation, answer=answer)
    expected = row.expected[ROLES.index(role)]
    assert response.status_code == expected, f"{role}: {row} -> {response.status_code}"
    if row.api and response.status_code >= 400:
        assert set(response.json()) == {"error"}
    if response.status_code == 401:
        assert response["WWW-Authenticate"]
    if row.api and response.status_code == PAGE:
        pytest.fail("an API endpoint redirected instead of answering")


# --- the stranger ---------------------------------------------------------------------


STRANGER_ROWS = [
    Row("GET", "/c/{c}/", (), api=False),
    Row("GET", "/c/{c}/rename/", (), api=False),
    Row("POST", "/c/{c}/rename/", (), body={"title": "Mine now"}, api=False),
    Row("POST", "/c/{c}/delete/", (), api=False),
    Row("POST", "/m/{m}/feedback/", (), body={"value": "1"}, api=False),
    Row("GET", "/api/conversations/{c}/", ()),
    Row("PATCH", "/api/conversations/{c}/", (), body={"title": "Mine now"}),
    Row("DELETE", "/api/conversations/{c}/", ()),
    Row("GET", "/api/conversations/{c}/messages/", ()),
    Row("POST", "/api/chat/", (), body={"message": "Merhaba", "conversation": "{c}"}),
    Row("POST", "/api/messages/{m}/feedback/", (), body={"value": 1}),
]


def _state():
    return (
        sorted(Conversation.objects.values_list("id", "title", "message_count")),
        sorted(Message.objects.values_list("id", "content", "feedback")),
    )


@pytest.mark.parametrize("row", STRANGER_ROWS, ids=str)
def test_the_stranger_gets_404_on_everything_of_alices(client, alice, stranger, company, row):
    conversation, answer = _own_things(alice)
    before = _state()
    client.force_login(stranger)
    response = _request(client, row, conversation=conversation, answer=answer)
    assert response.status_code == 404
    if row.api:
        assert response.json()["error"]["code"] == "not_found"
    assert _state() == before


def test_every_api_route_is_in_the_table():
    from django.urls import get_resolver

    def routes(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                yield from routes(pattern, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern)

    documented = {
        row.url.replace("{c}", "<str:conversation_id>")
        .replace("{m}", "<int:message_id>")
        .replace("PR1", "<str:key>")
        .replace("PR9", "<str:key>")
        for row in TABLE
    }
    # The ^api/ catch-all (unknown URLs are a JSON 404) is not an endpoint.
    api_routes = {route for route in routes(get_resolver()) if route.startswith("api/")}
    missing = sorted(r for r in api_routes if f"/{r}" not in documented)
    assert not missing, f"add these API routes to the permission table: {missing}"
