from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.jwt import SESSION_CLAIM, SessionRefreshToken
from accounts.models import LoginSession
from accounts.services import login_session_touch
from conftest import PASSWORD

PROTECTED = "/api/documents/"


def obtain(client, username="alice", password=PASSWORD, **extra):
    return client.post("/api/auth/jwt/", {"username": username, "password": password}, content_type="application/json", **extra)


def refresh(client, token, **extra):
    return client.post("/api/auth/jwt/refresh/", {"refresh": token}, content_type="application/json", **extra)


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def get_with(client, access):
    return client.get(PROTECTED, **bearer(access))


def assert_refused(response, code):
    assert response.status_code == 401, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body


def reuse_events(caplog):
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "jwt_refresh_reuse"]


# --- signing in -------------------------------------------------------------------


def test_it_returns_tokens_and_records_the_sign_in(client, alice):
    response = obtain(client, HTTP_USER_AGENT="curl/8.5", REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}
    session = LoginSession.objects.get(user=alice)
    assert session.kind == "jwt" and session.ip == "10.9.8.7" and session.user_agent == "curl/8.5"
    refresh_token = RefreshToken(tokens["refresh"])
    access = AccessToken(tokens["access"])
    # Both name the sign-in; the refresh token is the family's newest.
    assert refresh_token[SESSION_CLAIM] == access[SESSION_CLAIM] == session.pk
    assert session.jti == refresh_token["jti"]
    # Both lifetimes count from the moment the pair was issued.
    assert access["exp"] - refresh_token["iat"] == 24 * 60 * 60
    assert refresh_token["exp"] - refresh_token["iat"] == 30 * 24 * 60 * 60
    assert session.expires_at.timestamp() == refresh_token["exp"]
    alice.refresh_from_db()
    assert alice.last_login is not None


def test_the_access_token_opens_the_api(client, alice):
    tokens = obtain(client).json()
    assert get_with(client, tokens["access"]).status_code == 200
    assert client.get(PROTECTED).status_code == 401


def test_a_wrong_password_is_a_401_and_records_nothing(client, alice):
    response = obtain(client, password="nope")
    assert_refused(response, "invalid_credentials")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not LoginSession.objects.exists()


def test_an_unknown_user_gets_the_same_401(client, db):
    assert_refused(obtain(client, username="ghost"), "invalid_credentials")


def test_an_inactive_user_gets_no_tokens(client, alice):
    alice.is_active = False
    alice.save()
    assert_refused(obtain(client), "invalid_credentials")


def test_a_malformed_body_is_a_400_in_the_error_shape(client, db):
    response = client.post("/api/auth/jwt/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    missing = client.post("/api/auth/jwt/", {"username": "alice"}, content_type="application/json")
    assert missing.status_code == 400
    assert "password" in missing.json()["error"]["details"]


def test_get_is_405(client, db):
    assert client.get("/api/auth/jwt/").status_code == 405
    assert client.get("/api/auth/jwt/refresh/").status_code == 405


def test_drf_tokens_keep_working_alongside(client, alice):
    token = Token.objects.create(user=alice)
    assert client.get(PROTECTED, HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200


# --- rotation -----------------------------------------------------------------------


def test_refresh_rotates_and_the_old_refresh_token_is_used_up(client, alice):
    first = obtain(client).json()
    response = refresh(client, first["refresh"])
    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"] and second["access"] != first["access"]
    session = LoginSession.objects.get(user=alice)
    assert RefreshToken(second["refresh"])[SESSION_CLAIM] == session.pk
    assert session.jti == RefreshToken(second["refresh"])["jti"]
    assert get_with(client, second["access"]).status_code == 200
    # The old one is spent: using it again is a reuse.
    assert_refused(refresh(client, first["refresh"]), "token_reused")


def test_reusing_a_rotated_refresh_token_revokes_every_descendant(client, alice, caplog):
    first = obtain(client).json()
    second = refresh(client, first["refresh"]).json()
    third = refresh(client, second["refresh"]).json()
    with caplog.at_level(logging.WARNING):
        reused = refresh(client, first["refresh"], HTTP_USER_AGENT="thief/1.0", REMOTE_ADDR="203.0.113.9")
    assert_refused(reused, "token_reused")
    session = LoginSession.objects.get(user=alice)
    assert session.revoked_at is not None
    # The newest refresh token and every access token of the family stop working.
    assert BlacklistedToken.objects.filter(token__jti=session.jti).exists()
    assert_refused(refresh(client, third["refresh"]), "token_revoked")
    for tokens in (first, second, third):
        assert_refused(get_with(client, tokens["access"]), "token_revoked")
    # One structured security event, without any token in it.
    [event] = reuse_events(caplog)
    assert event["user_id"] == alice.pk and event["session_id"] == session.pk and event["ip"] == "203.0.113.9"
    logged = " ".join(r.getMessage() for r in caplog.records)
    for tokens in (first, second, third):
        assert tokens["refresh"] not in logged and tokens["access"] not in logged


def test_reuse_ends_only_that_family(client, alice):
    phone = obtain(client).json()
    laptop = obtain(client).json()
    refresh(client, phone["refresh"])
    assert_refused(refresh(client, phone["refresh"]), "token_reused")
    assert get_with(client, laptop["access"]).status_code == 200
    assert refresh(client, laptop["refresh"]).status_code == 200


def test_a_refresh_token_that_lost_a_rotation_race_counts_as_reuse(client, alice, caplog):
    # Two requests rotate the same token at once: one wins the swap of the family's newest
    # token id, the other must not mint a second branch.
    tokens = obtain(client).json()
    LoginSession.objects.filter(user=alice).update(jti="won-by-the-other-request")
    with caplog.at_level(logging.WARNING):
        assert_refused(refresh(client, tokens["refresh"]), "token_reused")
    assert LoginSession.objects.get(user=alice).revoked_at is not None
    assert len(reuse_events(caplog)) == 1


def test_an_invalid_refresh_token_is_a_401_in_the_error_shape(client, alice):
    tokens = obtain(client).json()
    assert_refused(refresh(client, "not-a-token"), "token_not_valid")
    # An access token is not a refresh token; a tampered one is not ours.
    assert_refused(refresh(client, tokens["access"]), "token_not_valid")
    head, payload, signature = tokens["refresh"].split(".")
    assert_refused(refresh(client, f"{head}.{payload}.{signature[:-4]}AAAA"), "token_not_valid")
    assert LoginSession.objects.get(user=alice).revoked_at is None


def test_an_expired_refresh_token_is_refused_without_alarm(client, alice, caplog):
    tokens = obtain(client).json()
    refresh(client, tokens["refresh"])
    old = RefreshToken(tokens["refresh"], verify=False)
    old.set_exp(from_time=timezone.now() - timedelta(days=31))
    with caplog.at_level(logging.WARNING):
        assert_refused(refresh(client, str(old)), "token_not_valid")
    # Expired, even though rotated: not a reuse, so the family lives on.
    assert not reuse_events(caplog)
    assert LoginSession.objects.get(user=alice).revoked_at is None


def test_an_expired_access_token_is_a_401_in_the_error_shape(client, alice):
    access = AccessToken(obtain(client).json()["access"])
    access.set_exp(from_time=timezone.now() - timedelta(days=2))
    body = assert_refused(get_with(client, str(access)), "token_not_valid")
    assert body["error"]["details"] == {}
    assert_refused(get_with(client, "garbage"), "token_not_valid")


def test_a_bearer_header_without_a_token_is_a_401(client, db):
    response = client.get(PROTECTED, HTTP_AUTHORIZATION="Bearer a b")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_authorization_header"


def test_tokens_that_name_no_login_session_grant_nothing(client, alice):
    # Signed with our key but minted outside a sign-in (no family), or naming a
    # session migrated from the legacy system: neither works.
    plain = RefreshToken.for_user(alice)
    assert_refused(get_with(client, str(plain.access_token)), "token_not_valid")
    assert_refused(refresh(client, str(plain)), "token_not_valid")
    legacy = LoginSession.objects.create(user=alice, kind=LoginSession.Kind.LEGACY, legacy_id="old-1")
    forged = SessionRefreshToken.for_login_session(legacy)
    assert_refused(get_with(client, str(forged.access_token)), "token_not_valid")
    assert_refused(refresh(client, str(forged)), "token_not_valid")


def test_a_deactivated_user_is_refused_at_once(client, alice):
    tokens = obtain(client).json()
    alice.is_active = False
    alice.save()
    assert_refused(get_with(client, tokens["access"]), "user_inactive")
    assert_refused(refresh(client, tokens["refresh"]), "user_inactive")


# --- signing out ----------------------------------------------------------------------


def test_logout_revokes_the_refresh_and_access_tokens_at_once(client, alice):
    tokens = obtain(client).json()
    response = client.post(
        "/api/auth/logout/", {"refresh": tokens["refresh"]}, content_type="application/json", **bearer(tokens["access"])
    )
    assert response.status_code == 204
    session = LoginSession.objects.get(user=alice)
    assert session.revoked_at is not None
    assert_refused(get_with(client, tokens["access"]), "token_revoked")
    assert_refused(refresh(client, tokens["refresh"]), "token_revoked")


def test_logout_with_a_rotated_refresh_token_ends_its_family(client, alice):
    first = obtain(client).json()
    second = refresh(client, first["refresh"]).json()
    response = client.post(
        "/api/auth/logout/", {"refresh": first["refresh"]}, content_type="application/json", **bearer(second["access"])
    )
    assert response.status_code == 204
    assert_refused(refresh(client, second["refresh"]), "token_revoked")


def test_logout_needs_credentials_and_a_refresh_token(client, alice):
    tokens = obtain(client).json()
    anonymous = client.post("/api/auth/logout/", {"refresh": tokens["refresh"]}, content_type="application/json")
    assert anonymous.status_code == 401
    missing = client.post("/api/auth/logout/", {}, content_type="application/json", **bearer(tokens["access"]))
    assert missing.status_code == 400 and "refresh" in missing.json()["error"]["details"]
    assert LoginSession.objects.get(user=alice).revoked_at is None


def test_logout_with_someone_elses_refresh_token_changes_nothing(client, alice, stranger):
    mine = obtain(client).json()
    theirs = obtain(client, username="charlie").json()
    response = client.post(
        "/api/auth/logout/", {"refresh": theirs["refresh"]}, content_type="application/json", **bearer(mine["access"])
    )
    assert_refused(response, "token_not_valid")
    assert LoginSession.objects.get(user=stranger).revoked_at is None
    assert get_with(client, theirs["access"]).status_code == 200


# --- activity -------------------------------------------------------------------------


def test_last_activity_is_written_at_most_once_a_minute(client, alice):
    tokens = obtain(client).json()
    session = LoginSession.objects.get(user=alice)
    long_ago = timezone.now() - timedelta(minutes=5)
    LoginSession.objects.filter(pk=session.pk).update(last_activity=long_ago)
    assert get_with(client, tokens["access"]).status_code == 200
    touched = LoginSession.objects.get(pk=session.pk).last_activity
    assert touched > long_ago
    assert get_with(client, tokens["access"]).status_code == 200
    assert LoginSession.objects.get(pk=session.pk).last_activity == touched


@pytest.mark.parametrize("age, queries", [(timedelta(seconds=30), 0), (timedelta(seconds=61), 1)])
def test_touching_a_login_session_costs_one_update_or_nothing(alice, django_assert_num_queries, age, queries):
    session = LoginSession.objects.create(user=alice, kind="jwt", last_activity=timezone.now() - age)
    with django_assert_num_queries(queries):
        assert login_session_touch(login_session=session) is bool(queries)


def test_of_two_processes_touching_at_once_only_one_writes(alice):
    stale = timezone.now() - timedelta(minutes=2)
    session = LoginSession.objects.create(user=alice, kind="jwt", last_activity=stale)
    elsewhere = LoginSession.objects.get(pk=session.pk)
    assert login_session_touch(login_session=session) is True
    # The other copy still holds the stale time, but the UPDATE's filter sees the new one.
    assert login_session_touch(login_session=elsewhere) is False


@pytest.mark.parametrize("path", ["/api/auth/token/", "/api/auth/jwt/"])
def test_a_login_body_with_an_unknown_field_is_refused(client, alice, path, english):
    response = client.post(
        path, {"username": alice.username, "password": PASSWORD, "remember": True}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"remember": ["Unknown field."]}
