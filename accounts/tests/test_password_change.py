"""A new password ends every other sign-in and token of its user, by whatever route it
is set: the user's own change in admin, an admin's change of someone else's, a reset
from code. A migrated user's first sign-in re-hashes the same password: not a change."""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client, RequestFactory
from rest_framework.authtoken.models import Token

from accounts.hashers import LegacyPBKDF2SHA256Hasher
from accounts.models import LoginSession, User
from accounts.services import api_token_create, jwt_login, user_create
from conftest import PASSWORD

PROTECTED = "/api/documents/"
NEW_PASSWORD = "a brand new Şifre 2025"


@pytest.fixture(autouse=True)
def _roomy_ip_limit(settings):
    # These tests sign in many times from one address; the per-IP limit has tests of its own.
    settings.RATELIMIT_LOGIN_IP = "1000/m"


def sign_in(username: str, password: str = PASSWORD, user_agent: str = "Firefox/140") -> Client:
    """A browser signed in through the login page, so its sign-in is recorded."""
    browser = Client(HTTP_USER_AGENT=user_agent, HTTP_ACCEPT_LANGUAGE="en")
    assert browser.post("/login/", {"username": username, "password": password}).status_code == 302
    return browser


@dataclass
class SignedIn:
    """Everything a holder of the old password could have obtained."""

    browser: Client
    session_key: str
    access: str
    refresh: str
    token: str


def signed_in_everywhere(username: str) -> SignedIn:
    browser = sign_in(username, user_agent="Safari/18")
    pair = Client().post("/api/auth/jwt/", {"username": username, "password": PASSWORD}, content_type="application/json").json()
    token = (
        Client()
        .post("/api/auth/token/", {"username": username, "password": PASSWORD}, content_type="application/json")
        .json()["token"]
    )
    signed_in = SignedIn(browser, browser.session.session_key, pair["access"], pair["refresh"], token)
    assert_all_work(signed_in)
    return signed_in


def api_status(authorization: str) -> int:
    return Client(HTTP_AUTHORIZATION=authorization).get(PROTECTED).status_code


def refresh_status(refresh: str) -> int:
    return Client().post("/api/auth/jwt/refresh/", {"refresh": refresh}, content_type="application/json").status_code


def assert_all_work(signed_in: SignedIn) -> None:
    assert api_status(f"Bearer {signed_in.access}") == 200
    assert api_status(f"Token {signed_in.token}") == 200
    assert signed_in.browser.get("/sessions/").status_code == 200


def assert_all_ended(signed_in: SignedIn) -> None:
    assert api_status(f"Bearer {signed_in.access}") == 401
    assert refresh_status(signed_in.refresh) == 401
    assert api_status(f"Token {signed_in.token}") == 401
    assert not Session.objects.filter(session_key=signed_in.session_key).exists()
    assert signed_in.browser.get("/sessions/").status_code == 302


def live_sessions(user: User) -> list[LoginSession]:
    return list(LoginSession.objects.filter(user=user, revoked_at__isnull=True))


def password_changed_events(caplog) -> list[dict]:
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "password_changed"]


def test_an_admin_changing_a_users_password_ends_all_their_sign_ins(admin_user, alice, english, caplog):
    theirs = signed_in_everywhere("alice")
    admin = sign_in("root")
    with caplog.at_level(logging.INFO):
        response = admin.post(
            f"/admin/accounts/user/{alice.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, follow=True
        )
    assert response.status_code == 200
    assert "2 sign-ins of alice were ended. The API token of alice was deleted." in response.content.decode()
    assert_all_ended(theirs)
    assert live_sessions(alice) == []
    [event] = password_changed_events(caplog)
    assert event["user_id"] == alice.pk and event["sign_ins_ended"] == 2 and event["api_token_deleted"]
    assert event["by_user_id"] == admin_user.pk and not event["kept_current"]
    # The admin's own sign-in is untouched, though Django gave its session a new key.
    assert admin.get("/admin/").status_code == 200
    [admins] = live_sessions(admin_user)
    assert admins.session_key == admin.session.session_key
    # The new password works.
    assert sign_in("alice", NEW_PASSWORD).get("/sessions/").status_code == 200


def test_changing_my_own_password_ends_my_other_sign_ins_but_not_this_one(admin_user, english, caplog):
    elsewhere = signed_in_everywhere("root")
    here = sign_in("root")
    with caplog.at_level(logging.INFO):
        response = here.post(
            "/admin/password_change/",
            {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
            follow=True,
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your 2 other sign-ins were ended." in html and "Your API token was deleted" in html
    assert_all_ended(elsewhere)
    [event] = password_changed_events(caplog)
    assert event["user_id"] == admin_user.pk and event["sign_ins_ended"] == 2 and event["kept_current"]
    # This browser stays signed in, and its sign-in stays listed as this device.
    assert here.get("/admin/").status_code == 200
    [mine] = live_sessions(admin_user)
    assert mine.session_key == here.session.session_key
    assert "This device" in here.get("/sessions/").content.decode()


def test_changing_my_own_password_in_the_user_admin_keeps_this_sign_in_too(admin_user):
    elsewhere = signed_in_everywhere("root")
    here = sign_in("root")
    response = here.post(
        f"/admin/accounts/user/{admin_user.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert_all_ended(elsewhere)
    assert here.get("/admin/").status_code == 200
    assert [s.session_key for s in live_sessions(admin_user)] == [here.session.session_key]


def test_a_reset_from_code_ends_every_sign_in(alice, caplog):
    first = signed_in_everywhere("alice")
    second = sign_in("alice", user_agent="Edge/1")
    legacy = LoginSession.objects.create(user=alice, kind=LoginSession.Kind.LEGACY, legacy_id="old-1")
    user = User.objects.get(pk=alice.pk)  # as a management command or the shell would load it
    with caplog.at_level(logging.INFO):
        user.set_password(NEW_PASSWORD)
        user.save()
    assert_all_ended(first)
    assert second.get("/sessions/").status_code == 302
    legacy.refresh_from_db()
    assert legacy.revoked_at is not None
    [event] = password_changed_events(caplog)
    assert event["sign_ins_ended"] == 4 and event["by_user_id"] is None


def test_disabling_the_password_ends_every_sign_in(alice):
    theirs = signed_in_everywhere("alice")
    alice.set_unusable_password()
    alice.save(update_fields=["password"])
    assert_all_ended(theirs)


def test_a_save_that_keeps_the_password_ends_nothing(alice, django_assert_num_queries, caplog):
    theirs = signed_in_everywhere("alice")
    user = User.objects.get(pk=alice.pk)
    with caplog.at_level(logging.INFO):
        user.full_name = "Ayşe Y."
        user.save()
        with django_assert_num_queries(1):  # nothing read when the password is not written
            user.save(update_fields=["full_name"])
    assert_all_work(theirs)
    assert not password_changed_events(caplog)


def test_only_the_changed_users_sign_ins_end(alice, stranger):
    theirs = signed_in_everywhere("charlie")
    alice.set_password(NEW_PASSWORD)
    alice.save()
    assert_all_work(theirs)


def test_re_running_seed_users_ends_nothing(db, tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", PASSWORD)
    call_command("seed_users", logins_file=str(tmp_path / "logins.txt"), stdout=io.StringIO())
    theirs = signed_in_everywhere("admin")
    call_command("seed_users", logins_file=str(tmp_path / "logins.txt"), stdout=io.StringIO())
    assert_all_work(theirs)


# --- a migrated user's first sign-in ------------------------------------------------


@pytest.fixture
def migrated(db) -> User:
    salt = "00112233445566778899aabbccddeeff"
    digest = hashlib.pbkdf2_hmac("sha256", b"eski-Sifre1", bytes.fromhex(salt), 100_000).hex()
    return user_create(username="legacy", encoded_password=LegacyPBKDF2SHA256Hasher.from_legacy(salt_hex=salt, hash_hex=digest))


def test_a_migrated_users_first_sign_in_re_hashes_without_ending_anything(migrated, caplog):
    carried_over = LoginSession.objects.create(user=migrated, kind=LoginSession.Kind.LEGACY, legacy_id="old-1")
    # Signed in before the re-hash (e.g. issued for them during the migration).
    pair = jwt_login(user=migrated, request=RequestFactory().post("/"))
    token = api_token_create(user=migrated).key
    with caplog.at_level(logging.INFO):
        browser = sign_in("legacy", "eski-Sifre1")
    migrated.refresh_from_db()
    assert not migrated.password.startswith("legacy_pbkdf2_sha256$")
    assert not password_changed_events(caplog)
    carried_over.refresh_from_db()
    assert carried_over.revoked_at is None
    assert api_status(f"Bearer {pair['access']}") == 200
    assert refresh_status(pair["refresh"]) == 200
    assert api_status(f"Token {token}") == 200
    assert Token.objects.filter(user=migrated).exists()
    assert browser.get("/sessions/").status_code == 200
    assert len(live_sessions(migrated)) == 3


def test_a_migrated_users_first_api_sign_in_re_hashes_without_ending_anything(migrated):
    earlier = jwt_login(user=migrated, request=RequestFactory().post("/"))
    response = Client().post("/api/auth/jwt/", {"username": "legacy", "password": "eski-Sifre1"}, content_type="application/json")
    assert response.status_code == 200
    assert not User.objects.get(pk=migrated.pk).password.startswith("legacy_pbkdf2_sha256$")
    assert api_status(f"Bearer {earlier['access']}") == 200
    assert len(live_sessions(migrated)) == 2
