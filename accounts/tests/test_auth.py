from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth import authenticate

from accounts.hashers import LegacyPBKDF2SHA256Hasher
from accounts.models import LoginSession, Role, User
from accounts.services import user_create
from conftest import PASSWORD


def legacy_hash(password: str, salt_hex: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt_hex), 100_000).hex()


@pytest.fixture
def legacy_user(db):
    salt = "00112233445566778899aabbccddeeff"
    encoded = LegacyPBKDF2SHA256Hasher.from_legacy(salt_hex=salt, hash_hex=legacy_hash("eski-Şifre1", salt))
    return user_create(username="legacy", encoded_password=encoded)


def test_a_legacy_password_signs_in_and_is_upgraded(legacy_user):
    assert authenticate(username="legacy", password="eski-Şifre1") == legacy_user
    legacy_user.refresh_from_db()
    assert not legacy_user.password.startswith("legacy_pbkdf2_sha256$")
    # The upgraded hash still accepts the same password.
    assert authenticate(username="legacy", password="eski-Şifre1") == legacy_user


def test_a_wrong_legacy_password_is_refused_and_not_upgraded(legacy_user):
    assert authenticate(username="legacy", password="wrong") is None
    legacy_user.refresh_from_db()
    assert legacy_user.password.startswith("legacy_pbkdf2_sha256$")


def test_roles_drive_admin_access(db):
    hr = user_create(username="h", role=Role.HR, password=PASSWORD)
    employee = user_create(username="e", role=Role.EMPLOYEE, password=PASSWORD)
    admin = user_create(username="a", role=Role.ADMIN, password=PASSWORD)
    assert hr.is_staff and not hr.is_superuser and hr.has_perm("knowledge.change_document")
    assert not hr.has_perm("accounts.change_user")
    assert not employee.is_staff and not employee.has_perm("knowledge.change_document")
    assert admin.is_superuser and admin.is_hr
    assert hr.is_hr and not employee.is_hr


def test_login_page_signs_in_and_records_the_device(client, alice):
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD}, HTTP_USER_AGENT="Firefox/140", REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 302 and response.url == "/"
    session = LoginSession.objects.get(user=alice)
    assert session.kind == "web" and session.ip == "10.1.2.3" and session.user_agent == "Firefox/140"
    assert session.session_key == client.session.session_key


def test_wrong_password_says_so_without_detail(client, alice, english):
    response = client.post("/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Please enter a correct username and password" in body
    assert not LoginSession.objects.exists()


def test_unknown_user_gets_the_same_message(client, db, english):
    response = client.post("/login/", {"username": "ghost", "password": "nope"})
    assert response.status_code == 400
    assert "Please enter a correct username and password" in response.content.decode()


def test_login_does_not_redirect_off_site(client, alice):
    response = client.post("/login/", {"username": "alice", "password": PASSWORD, "next": "https://evil.example/"})
    assert response.url == "/"


def test_logout_ends_the_recorded_session(client, alice):
    client.post("/login/", {"username": "alice", "password": PASSWORD})
    response = client.post("/logout/")
    assert response.status_code == 302
    assert LoginSession.objects.get(user=alice).revoked_at is not None
    assert client.get("/").status_code == 302


def test_logout_by_get_only_asks(client, alice):
    client.force_login(alice)
    assert client.get("/logout/").status_code == 200
    assert client.get("/").status_code == 200


def test_deleting_a_user_deletes_their_sessions(alice):
    LoginSession.objects.create(user=alice, kind="web")
    alice.delete()
    assert not LoginSession.objects.exists()
    assert not User.objects.filter(username="alice").exists()
