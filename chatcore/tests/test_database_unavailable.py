"""A database that cannot be reached (restarting, failing over) is a 503 the client may
retry, never a 500 with a traceback; the API answers in its error shape."""

from __future__ import annotations

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError
from django.test import Client
from rest_framework.authtoken.models import Token

from conversations.api import views as conversation_views


def unreachable(*args, **kwargs):
    raise OperationalError("could not connect to server at db.internal:5432")


@pytest.fixture
def quiet_client():
    # Django's test client re-raises a view's exception by default; a server does not.
    return Client(raise_request_exception=False)


def test_an_api_request_gets_503_in_the_error_shape(quiet_client, alice, monkeypatch):
    token = Token.objects.create(user=alice)
    monkeypatch.setattr(conversation_views, "conversation_list", unreachable)
    response = quiet_client.get("/api/conversations/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {"error": {"code": "unavailable", "message": response.json()["error"]["message"], "details": {}}}
    assert "db.internal" not in response.content.decode()


def test_a_page_gets_503_when_the_session_cannot_be_read(quiet_client, alice, monkeypatch):
    quiet_client.force_login(alice)
    monkeypatch.setattr(SessionStore, "load", unreachable)
    response = quiet_client.get("/")
    assert response.status_code == 503
    assert "Traceback" not in response.content.decode() and "db.internal" not in response.content.decode()


def test_a_lost_connection_is_a_503_too(quiet_client, alice, monkeypatch):
    def lost(*args, **kwargs):
        raise InterfaceError("connection already closed")

    token = Token.objects.create(user=alice)
    monkeypatch.setattr(conversation_views, "conversation_list", lost)
    response = quiet_client.get("/api/conversations/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 503


def test_other_errors_stay_500(quiet_client, alice, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    token = Token.objects.create(user=alice)
    monkeypatch.setattr(conversation_views, "conversation_list", broken)
    response = quiet_client.get("/api/conversations/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
