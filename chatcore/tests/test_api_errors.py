"""Every way a request can go wrong gets the right status and the one error shape,
and leaves nothing behind."""

from __future__ import annotations

import json

import pytest
from django.test import RequestFactory
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions

from chatcore.api import exception_handler
from chatcore.errors import server_error
from conversations.models import Conversation, Message
from conversations.services import conversation_create
from knowledge.models import Document

pytestmark = pytest.mark.django_db


def post_raw(client, url, raw, content_type="application/json", **extra):
    return client.generic("POST", url, raw, content_type=content_type, **extra)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


def nothing_stored():
    return not Conversation.objects.exists() and not Message.objects.exists()


# --- 400 -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["{oops", '{"title": "a",}', "\x00", '{"title": "a"', b"\xff\xfe{}", "{} {}"])
def test_malformed_json_is_a_parse_error(client, alice, raw):
    client.force_login(alice)
    assert_error(post_raw(client, "/api/conversations/", raw), 400, "parse_error")
    assert nothing_stored()


@pytest.mark.parametrize("raw", ['{"title": NaN}', '{"title": Infinity}', '{"title": -Infinity}'])
def test_nan_and_infinity_are_not_json(client, alice, raw):
    client.force_login(alice)
    error = assert_error(post_raw(client, "/api/conversations/", raw), 400, "parse_error")
    assert "not valid JSON" in error["message"]
    assert nothing_stored()


def test_a_key_given_twice_is_refused(client, alice):
    client.force_login(alice)
    error = assert_error(post_raw(client, "/api/conversations/", '{"title": "a", "title": "b"}'), 400, "parse_error")
    assert "duplicate key 'title'" in error["message"]
    assert nothing_stored()


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/conversations/", {"title": 5}, "title"),
        ("/api/conversations/", {"title": ["a"]}, "title"),
        ("/api/conversations/", {"title": {"a": 1}}, "title"),
        ("/api/chat/", {"message": True}, "message"),
        ("/api/chat/", {"message": "hi", "conversation": 12345}, "conversation"),
    ],
)
def test_wrong_types_are_400_with_the_field_named(client, alice, url, body, field):
    client.force_login(alice)
    error = assert_error(post_raw(client, url, json.dumps(body)), 400, "invalid")
    assert field in error["details"]
    assert nothing_stored()


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/conversations/", {"title": "ok", "owner": 1}),
        ("/api/chat/", {"message": "hi", "mesage": "typo"}),
    ],
)
def test_unknown_fields_are_400(client, alice, url, body, english):
    client.force_login(alice)
    error = assert_error(post_raw(client, url, json.dumps(body)), 400, "invalid")
    assert list(error["details"].values()) == [["Unknown field."]]
    assert nothing_stored()


def test_feedback_takes_only_the_numbers_1_and_minus_1(client, alice):
    conversation = conversation_create(user=alice)
    answer = Message.objects.create(conversation=conversation, role="assistant", content="x", created_at=conversation.created_at)
    client.force_login(alice)
    for value in ("1", True, 2):
        response = post_raw(client, f"/api/messages/{answer.id}/feedback/", json.dumps({"value": value}))
        assert_error(response, 400, "invalid")
    answer.refresh_from_db()
    assert answer.feedback is None


def test_a_question_over_4000_characters_is_400_and_stores_nothing(client, alice, company):
    client.force_login(alice)
    error = assert_error(post_raw(client, "/api/chat/", json.dumps({"message": "x" * 4001})), 400, "invalid")
    assert "message" in error["details"]
    assert nothing_stored()


def test_a_body_that_is_not_an_object_is_400(client, alice):
    client.force_login(alice)
    assert_error(post_raw(client, "/api/conversations/", "[1, 2]"), 400, "invalid")
    assert_error(post_raw(client, "/api/conversations/", '"title"'), 400, "invalid")
    assert nothing_stored()


# --- 401, 403 --------------------------------------------------------------------------


def test_no_credentials_is_401_with_www_authenticate(client):
    response = client.get("/api/conversations/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize("header", ["Token not-a-real-token", "Bearer not.a.jwt", "Token", "Token a b"])
def test_bad_credentials_are_401(client, db, header):
    response = client.get("/api/conversations/", HTTP_AUTHORIZATION=header)
    error = assert_error(response, 401, response.json()["error"]["code"])
    assert error["code"] in {"authentication_failed", "token_not_valid"}
    assert response["WWW-Authenticate"]


def test_forbidden_is_403_in_the_shape(client, alice, company):
    client.force_login(alice)
    assert_error(client.delete("/api/documents/PR1/"), 403, "permission_denied")
    assert Document.objects.filter(key="PR1").exists()


# --- 404, 405 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/nope/", "/api/conversations/abc/def/ghi/", "/api/documents/PR1/extra/", "/api/messages/notanumber/feedback/"]
)
def test_unknown_api_urls_are_404_in_the_shape(client, alice, url):
    client.force_login(alice)
    assert_error(client.get(url), 404, "not_found")


def test_unknown_api_urls_are_404_for_anonymous_clients_too(client, db):
    assert_error(client.get("/api/nope/"), 404, "not_found")
    assert_error(post_raw(client, "/api/nope/", "{}"), 404, "not_found")


def test_unknown_api_urls_are_json_even_in_debug(client, alice, settings):
    settings.DEBUG = True
    client.force_login(alice)
    assert_error(client.get("/api/nope/"), 404, "not_found")


def test_a_missing_trailing_slash_is_named_not_redirected(client, alice):
    client.force_login(alice)
    error = assert_error(post_raw(client, "/api/conversations", '{"title": "x"}'), 404, "not_found")
    assert "/api/conversations/" in error["message"]
    assert nothing_stored()


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("PUT", "/api/conversations/", {"GET", "POST"}),
        ("DELETE", "/api/chat/", {"POST"}),
        ("GET", "/api/chat/", {"POST"}),
        ("POST", "/api/conversations/{id}/", {"GET", "PATCH", "DELETE"}),
        ("PUT", "/api/conversations/{id}/", {"GET", "PATCH", "DELETE"}),
        ("POST", "/api/conversations/{id}/messages/", {"GET"}),
        ("PATCH", "/api/documents/", {"GET", "POST"}),
        ("POST", "/api/documents/PR1/", {"GET", "PUT", "DELETE"}),
    ],
)
def test_a_wrong_method_is_405_with_allow(client, alice, company, method, url, allowed):
    conversation = conversation_create(user=alice, title="Mine")
    client.force_login(alice)
    response = client.generic(method, url.format(id=conversation.id), "{}", content_type="application/json")
    assert_error(response, 405, "method_not_allowed")
    assert allowed <= {m.strip() for m in response["Allow"].split(",")}
    assert Conversation.objects.get().title == "Mine"


# --- 413, 415 --------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_and_stores_nothing(client, alice, settings):
    client.force_login(alice)
    raw = json.dumps({"title": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    error = assert_error(post_raw(client, "/api/conversations/", raw), 413, "request_too_large")
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in error["message"]
    assert nothing_stored()


def test_the_limit_holds_when_the_client_understates_the_length(client, alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    client.force_login(alice)
    raw = json.dumps({"title": "x" * 4000})
    # A lying Content-Length makes Django read less, never more: the parser sees a cut body.
    response = post_raw(client, "/api/conversations/", raw, CONTENT_LENGTH="100")
    assert response.status_code == 400
    assert nothing_stored()


def test_the_limit_comes_from_the_setting(client, alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    client.force_login(alice)
    assert post_raw(client, "/api/conversations/", json.dumps({"title": "ok"})).status_code == 201
    assert_error(post_raw(client, "/api/conversations/", json.dumps({"title": "x" * 3000})), 413, "request_too_large")
    assert Conversation.objects.count() == 1


def test_an_oversized_document_is_413_for_hr_too(client, hr_user, company, settings):
    client.force_login(hr_user)
    body = {
        "key": "PR3",
        "doc_type": "procedure",
        "body": {"title": "Big", "content": "y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)},
    }
    assert_error(post_raw(client, "/api/documents/", json.dumps(body)), 413, "request_too_large")
    assert not Document.objects.filter(key="PR3").exists()


def test_an_oversized_form_post_to_a_page_is_413(client, alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    conversation = conversation_create(user=alice, title="Same")
    client.force_login(alice)
    response = client.post(f"/c/{conversation.id}/rename/", {"title": "x" * 5000})
    assert response.status_code == 413
    conversation.refresh_from_db()
    assert conversation.title == "Same"


def test_a_chunked_body_without_a_length_is_411(client, alice):
    client.force_login(alice)
    response = post_raw(client, "/api/conversations/", '{"title": "x"}', HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH="")
    assert_error(response, 411, "length_required")
    assert nothing_stored()


def test_chat_errors_are_json_when_the_client_asked_for_a_stream(client, alice):
    client.force_login(alice)
    for url in ("/api/chat/", "/api/chat/?format=sse"):
        response = post_raw(client, url, json.dumps({"message": ""}), HTTP_ACCEPT="text/event-stream")
        assert_error(response, 400, "invalid")
    response = post_raw(
        client, "/api/chat/", json.dumps({"message": "hi", "conversation": "NOPE123456"}), HTTP_ACCEPT="text/event-stream"
    )
    assert_error(response, 404, "not_found")
    assert nothing_stored()


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/xml", "multipart/form-data; boundary=x"]
)
def test_a_body_that_is_not_json_is_415(client, alice, content_type):
    client.force_login(alice)
    response = post_raw(client, "/api/conversations/", "title=hello", content_type=content_type)
    error = assert_error(response, 415, "unsupported_media_type")
    assert content_type.split(";")[0] in error["message"]
    assert nothing_stored()


# --- 429, 500 --------------------------------------------------------------------------


def test_throttled_keeps_retry_after_and_the_shape(rf):
    response = exception_handler(exceptions.Throttled(wait=42), {"request": rf.get("/api/x/"), "view": None})
    assert response.status_code == 429 and response["Retry-After"] == "42"
    assert response.data["error"]["code"] == "throttled"


def test_django_ratelimit_is_a_429_not_a_403(rf):
    response = exception_handler(Ratelimited(), {"request": rf.get("/api/x/"), "view": None})
    assert response.status_code == 429 and response.data["error"]["code"] == "throttled"


def test_a_crash_under_the_api_is_a_json_500():
    response = server_error(RequestFactory().get("/api/conversations/"))
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"


def test_a_crash_on_a_page_stays_html():
    response = server_error(RequestFactory().get("/documents/"))
    assert response.status_code == 500 and not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("language", "message", "detail"),
    [
        ("tr", "İstek geçerli değil.", "Bilinmeyen alan."),
        ("en", "The request is not valid.", "Unknown field."),
    ],
)
def test_an_error_speaks_one_language_the_requests_with_the_same_codes(client, alice, language, message, detail):
    client.force_login(alice)
    response = client.post(
        "/api/conversations/",
        json.dumps({"titel": "x", "title": ""}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid"
    assert error["message"] == message and error["details"]["titel"] == [detail]
    missing = client.get("/api/conversations/nope/", HTTP_ACCEPT_LANGUAGE=language).json()["error"]
    assert (
        missing["code"] == "not_found"
        and missing["message"] == {"tr": "Böyle bir sohbet yok.", "en": "No such conversation."}[language]
    )
    unknown = client.get("/api/nowhere/", HTTP_ACCEPT_LANGUAGE=language).json()["error"]
    assert unknown == {"code": "not_found", "message": {"tr": "Bulunamadı.", "en": "Not found."}[language], "details": {}}


@pytest.mark.parametrize(
    ("path", "language", "expected"),
    [
        ("/documents/", "tr", "Çok fazla istek"),
        ("/documents/", "en", "Too many requests"),
    ],
)
def test_a_rate_limited_page_is_our_429_page_with_retry_after(rf, path, language, expected, alice):
    from django.utils import translation
    from django_ratelimit.exceptions import Ratelimited

    from chatcore.errors import permission_denied

    request = rf.get(path)
    request.user = alice
    exception = Ratelimited()
    exception.wait = 42
    with translation.override(language):
        response = permission_denied(request, exception)
    assert response.status_code == 429 and response["Retry-After"] == "42"
    assert expected in response.content.decode() and 'class="topbar"' in response.content.decode()
    api = permission_denied(rf.get("/api/documents/"), exception)
    assert api.status_code == 429 and json.loads(api.content)["error"]["code"] == "throttled"
