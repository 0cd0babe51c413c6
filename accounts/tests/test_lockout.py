"""The per-username lockout after failed sign-ins: short, growing, capped, not lengthened
by attempts while locked, never for another username, never from the owner's own address."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import cache
from prometheus_client import REGISTRY

from accounts.lockout import _key
from conftest import PASSWORD

OWNER_IP = "10.1.1.1"
ATTACKER_IP = "10.9.9.9"


@pytest.fixture(autouse=True)
def _roomy_ip_limit(settings):
    # These tests are about the username; the per-IP limit has tests of its own.
    settings.RATELIMIT_LOGIN_IP = "1000/m"


def token(client, username="alice", password="wrong", ip=ATTACKER_IP):
    return client.post(
        "/api/auth/token/", {"username": username, "password": password}, content_type="application/json", REMOTE_ADDR=ip
    )


def sign_in(client, username="alice", password="wrong", ip=ATTACKER_IP):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail(client, times, username="alice", ip=ATTACKER_IP):
    for _ in range(times):
        assert token(client, username, ip=ip).status_code == 401


def lockout_passes(username="alice"):
    """What the clock does after Retry-After seconds."""
    cache.delete(_key("until", username))


def assert_locked(response) -> int:
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "login_locked"
    return int(response["Retry-After"])


def lockout_events(caplog):
    return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "login_locked_out"]


def test_five_failures_lock_the_username_even_against_the_right_password(client, alice, caplog):
    before = REGISTRY.get_sample_value("chatcore_rate_limited_total", {"scope": "lockout"}) or 0.0
    with caplog.at_level(logging.WARNING):
        fail(client, 5)
    retry_after = assert_locked(token(client, password=PASSWORD))
    assert 55 <= retry_after <= 60
    assert REGISTRY.get_sample_value("chatcore_rate_limited_total", {"scope": "lockout"}) == before + 1
    [event] = lockout_events(caplog)
    assert event["user_id"] == alice.pk and event["seconds"] == 60 and event["failures"] == 5
    assert event["ip"] == ATTACKER_IP and "alice" not in str(event)


def test_the_page_refuses_a_locked_username_with_429_and_says_so(client, alice, english):
    fail(client, 5)
    response = sign_in(client, password=PASSWORD)
    assert response.status_code == 429 and 1 <= int(response["Retry-After"]) <= 60
    assert "Too many failed sign-ins for this account. Try again in" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_page_failures_count_towards_the_same_lockout(client, alice):
    for _ in range(5):
        assert sign_in(client).status_code == 400
    assert_locked(token(client, password=PASSWORD))


def test_other_usernames_are_not_affected(client, alice, stranger):
    fail(client, 5)
    assert_locked(token(client, password=PASSWORD))
    assert token(client, "charlie", PASSWORD).status_code == 200
    assert sign_in(client, "charlie", PASSWORD).status_code == 302


def test_the_owner_still_signs_in_from_an_address_they_used_before(client, alice):
    assert sign_in(client, password=PASSWORD, ip=OWNER_IP).status_code == 302
    client.logout()
    fail(client, 5)
    assert_locked(token(client, password=PASSWORD))
    assert token(client, password=PASSWORD, ip=OWNER_IP).status_code == 200
    assert sign_in(client, password=PASSWORD, ip=OWNER_IP).status_code == 302


def test_the_right_password_works_once_the_lockout_has_passed(client, alice):
    fail(client, 5)
    assert_locked(token(client, password=PASSWORD))
    lockout_passes()
    assert token(client, password=PASSWORD).status_code == 200


def test_hammering_a_locked_username_does_not_lengthen_the_lockout(client, alice, caplog):
    fail(client, 5)
    first = assert_locked(token(client))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for _ in range(30):
            assert_locked(token(client))
    assert assert_locked(token(client)) <= first
    assert not lockout_events(caplog)
    # Nothing was counted while locked: afterwards it takes five new failures again.
    lockout_passes()
    fail(client, 4)
    assert token(client, password=PASSWORD).status_code == 200


def test_repeated_lockouts_grow_but_never_beyond_the_cap(client, alice):
    lengths = []
    for _ in range(7):
        fail(client, 5)
        lengths.append(assert_locked(token(client)))
        lockout_passes()
    expected = [60, 120, 240, 480, 900, 900, 900]
    assert all(want - 2 <= got <= want for got, want in zip(lengths, expected, strict=True)), lengths


def test_the_cap_is_a_setting(client, alice, settings):
    settings.LOGIN_LOCKOUT = {**settings.LOGIN_LOCKOUT, "FAILURES": 2, "FIRST": 10, "MAX": 15}
    lengths = []
    for _ in range(3):
        fail(client, 2)
        lengths.append(assert_locked(token(client)))
        lockout_passes()
    assert 8 <= lengths[0] <= 10 and all(13 <= n <= 15 for n in lengths[1:]), lengths


def test_a_username_typed_with_spaces_is_the_same_username(client, alice):
    fail(client, 5)
    assert_locked(token(client, " alice ", PASSWORD))


def test_unknown_usernames_lock_the_same_way(client, db):
    # Otherwise a lockout would tell which usernames exist.
    fail(client, 5, username="nobody")
    assert_locked(token(client, "nobody"))


def test_the_jwt_endpoint_refuses_a_locked_username(client, alice):
    fail(client, 5)
    response = client.post(
        "/api/auth/jwt/", {"username": "alice", "password": PASSWORD}, content_type="application/json", REMOTE_ADDR=ATTACKER_IP
    )
    assert_locked(response)
