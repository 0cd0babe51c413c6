from __future__ import annotations

import hashlib

from accounts.hashers import LegacyPBKDF2SHA256Hasher
from accounts.services import user_create
from conftest import PASSWORD


def test_it_returns_a_token_for_good_credentials(client, alice):
    response = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, content_type="application/json")
    assert response.status_code == 200
    token = response.json()["token"]
    assert len(token) == 40
    # Asking again returns the same token rather than piling up new ones.
    again = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, content_type="application/json")
    assert again.json()["token"] == token


def test_it_answers_401_for_a_wrong_password(client, alice):
    response = client.post("/api/auth/token/", {"username": "alice", "password": "x"}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_it_accepts_a_legacy_password(client, db):
    salt = "ffeeddccbbaa99887766554433221100"
    digest = hashlib.pbkdf2_hmac("sha256", b"legacy-pass", bytes.fromhex(salt), 100_000).hex()
    user_create(username="old", encoded_password=LegacyPBKDF2SHA256Hasher.from_legacy(salt_hex=salt, hash_hex=digest))
    response = client.post("/api/auth/token/", {"username": "old", "password": "legacy-pass"}, content_type="application/json")
    assert response.status_code == 200


def test_malformed_json_is_a_400_in_the_error_shape(client, db):
    response = client.post("/api/auth/token/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_missing_fields_are_a_400_with_details(client, db):
    response = client.post("/api/auth/token/", {"username": "alice"}, content_type="application/json")
    assert response.status_code == 400
    assert "password" in response.json()["error"]["details"]


def test_get_is_405(client, db):
    assert client.get("/api/auth/token/").status_code == 405


def test_an_inactive_user_gets_no_token(client, alice):
    alice.is_active = False
    alice.save()
    response = client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, content_type="application/json")
    assert response.status_code == 401
