"""A wrong password takes as long for every kind of account as for a username that
does not exist, so the sign-in endpoints cannot tell which usernames are real.

These tests use the production hashers (the test settings use a fast one). To keep the
run short both PBKDF2 hashers do a tenth of their production work, in the production
ratio (the legacy hashes are a tenth as costly as the default one); the property is
equality, which holds at any cost."""

from __future__ import annotations

import hashlib
import random
import statistics
import time
from dataclasses import dataclass

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.test import Client

from accounts.hashers import LegacyPBKDF2SHA256Hasher
from accounts.services import user_create
from chatcore.settings import base

TRIES = 50
# The largest relative median over the smallest: each kind within 25% of the others.
MAX_RATIO = 1.25
DEFAULT_ITERATIONS = PBKDF2PasswordHasher.iterations // 10
LEGACY_ITERATIONS = LegacyPBKDF2SHA256Hasher.iterations // 10
SECRET = "the-right-one-Şifre"


@pytest.fixture
def production_hashers(settings, monkeypatch):
    # Not the test settings' fast hasher, which costs next to nothing for everyone.
    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    monkeypatch.setattr(PBKDF2PasswordHasher, "iterations", DEFAULT_ITERATIONS)
    monkeypatch.setattr(LegacyPBKDF2SHA256Hasher, "iterations", LEGACY_ITERATIONS)
    # Every try counts as a wrong password, not as a refused attempt.
    settings.RATELIMIT_LOGIN_IP = "100000/m"
    settings.LOGIN_LOCKOUT = {**settings.LOGIN_LOCKOUT, "FAILURES": 100_000}


def legacy_encoded(password: str) -> str:
    salt = "00112233445566778899aabbccddeeff"
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt), LEGACY_ITERATIONS)
    return LegacyPBKDF2SHA256Hasher.from_legacy(salt_hex=salt, hash_hex=digest.hex(), iterations=LEGACY_ITERATIONS)


@pytest.fixture
def usernames(db, production_hashers) -> dict[str, str]:
    """One username of each kind an attacker might probe."""
    user_create(username="current", password=SECRET)
    user_create(username="migrated", encoded_password=legacy_encoded(SECRET))
    user_create(username="disabled", password=SECRET, is_active=False)
    user_create(username="no-password")  # unusable password
    return {
        "current": "current",
        "migrated": "migrated",
        "disabled": "disabled",
        "no-password": "no-password",
        "unknown": "nobody-by-this-name",
    }


def page_sign_in(client: Client, username: str) -> int:
    return client.post("/login/", {"username": username, "password": "wrong-guess"}).status_code


def api_sign_in(client: Client, username: str) -> int:
    return client.post(
        "/api/auth/jwt/", {"username": username, "password": "wrong-guess"}, content_type="application/json"
    ).status_code


@dataclass
class Timing:
    seconds: dict[str, float]  # median per kind of username
    relative: dict[str, float]  # median per kind of its time over its round's median


def time_sign_ins(sign_in, usernames: dict[str, str], *, expect: tuple[int, ...] = (400, 401)) -> Timing:
    """``TRIES`` rounds of one try per kind, in a new order each round. Comparing each
    try with the others of its round cancels the load of a shared machine, which comes
    and goes over seconds."""
    client = Client()
    for username in usernames.values():  # warm up caches and lazy imports
        sign_in(client, username)
    times: dict[str, list[float]] = {kind: [] for kind in usernames}
    relative: dict[str, list[float]] = {kind: [] for kind in usernames}
    kinds = list(usernames)
    for _ in range(TRIES):
        random.shuffle(kinds)
        round_times = {}
        for kind in kinds:
            start = time.perf_counter()
            status = sign_in(client, usernames[kind])
            round_times[kind] = time.perf_counter() - start
            assert status in expect, (kind, status)
        typical = statistics.median(round_times.values())
        for kind, seconds in round_times.items():
            times[kind].append(seconds)
            relative[kind].append(seconds / typical)
    return Timing(
        seconds={kind: statistics.median(values) for kind, values in times.items()},
        relative={kind: statistics.median(values) for kind, values in relative.items()},
    )


def assert_indistinguishable(timing: Timing) -> None:
    shown = ", ".join(f"{kind} {timing.seconds[kind] * 1000:.1f} ms ({timing.relative[kind]:.2f})" for kind in timing.seconds)
    print(f"median sign-in time (relative to its round): {shown}")
    assert max(timing.relative.values()) / min(timing.relative.values()) <= MAX_RATIO, shown


def test_the_hashers_are_the_production_ones_at_a_tenth_of_the_work(usernames):
    assert make_password("x").startswith(f"pbkdf2_sha256${DEFAULT_ITERATIONS}$")
    assert DEFAULT_ITERATIONS == 10 * LEGACY_ITERATIONS


def test_a_wrong_password_on_the_page_takes_as_long_for_every_username(usernames):
    assert_indistinguishable(time_sign_ins(page_sign_in, usernames))


def test_a_wrong_password_on_the_api_takes_as_long_for_every_username(usernames):
    assert_indistinguishable(time_sign_ins(api_sign_in, usernames))


def test_a_locked_username_is_refused_as_fast_whether_it_exists_or_not(usernames, settings):
    # The lockout counts failures per username, known or not, and refuses without a
    # password check; the refusal must not tell the two apart either.
    settings.LOGIN_LOCKOUT = {**settings.LOGIN_LOCKOUT, "FAILURES": 5}
    client = Client()
    for username in usernames.values():
        for _ in range(5):
            api_sign_in(client, username)
    assert_indistinguishable(time_sign_ins(api_sign_in, usernames, expect=(429,)))
    assert_indistinguishable(time_sign_ins(page_sign_in, usernames, expect=(429,)))
