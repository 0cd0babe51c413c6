"""Bad input is a clear 400, never a 500, on every JSON endpoint (signed in or not); /readyz
tells anonymous callers only ok or failing; a production secret key must be random."""

from __future__ import annotations

import json
import secrets

import pytest
from django.core.management.utils import get_random_secret_key

from chatcore.parsers import loads_strict
from chatcore.settings.base import secret_key_weakness

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECTS = '{"a":' * 5000 + "1" + "}" * 5000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECTS, '{"username": ' + "[" * 100_000])
@pytest.mark.parametrize("path", ["/api/auth/token/", "/api/auth/jwt/", "/api/auth/jwt/refresh/"])
def test_deeply_nested_json_is_a_400_before_signing_in(client, path, body):
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.parametrize("path", ["/api/chat/", "/api/documents/", "/api/conversations/"])
def test_deeply_nested_json_is_a_400_signed_in(client, hr_user, path):
    client.force_login(hr_user)
    response = client.post(path, DEEP_OBJECTS, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error"


def test_the_nesting_limit_leaves_ordinary_bodies_alone():
    assert loads_strict(json.dumps({"a": [[[{"b": [1, 2, {"c": None}]}]]]})) == {"a": [[[{"b": [1, 2, {"c": None}]}]]]}
    assert loads_strict("[" * 32 + "]" * 32) is not None
    for text in ("[" * 33 + "]" * 33, DEEP, '{"a": NaN}', '{"a": 1, "a": 2}'):
        with pytest.raises(ValueError):
            loads_strict(text)


def test_readyz_tells_anonymous_callers_only_ok_or_failing(client, settings):
    settings.METRICS_ALLOWED_IPS = []
    report = client.get("/readyz").json()
    assert set(report) == {"status", "checks"}
    assert all(check.keys() == {"status"} for check in report["checks"].values()), report
    assert "documents" not in json.dumps(report) and "passages" not in json.dumps(report)


def test_readyz_details_for_admins(client, settings, admin_user):
    settings.METRICS_ALLOWED_IPS = []
    client.force_login(admin_user)
    assert "latency_ms" in client.get("/readyz").json()["checks"]["database"]


@pytest.mark.parametrize(
    "key",
    [
        "a" * 50,
        "abcde" * 10,
        "0123456789abcdef" * 4,
        "abcdefghijklmnopqrstuvwxy" * 2,
        "django-insecure-" + get_random_secret_key(),
        "short-but-random-" + secrets.token_hex(8),
    ],
)
def test_a_weak_secret_key_is_refused(key):
    assert secret_key_weakness(key) is not None


def test_generated_secret_keys_pass():
    for _ in range(300):
        for key in (get_random_secret_key(), secrets.token_hex(32), secrets.token_urlsafe(50)):
            assert secret_key_weakness(key) is None, key


def test_production_settings_refuse_a_weak_key(tmp_path):
    import os
    import subprocess
    import sys

    from chatcore.tests.test_faults import ROOT

    env = {**os.environ, "DJANGO_ENV": "production", "ALLOWED_HOSTS": "chat.example.com", "SECRET_KEY": "x1y2z" * 10}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "SECRET_KEY is too weak" in result.stderr, result.stderr[-500:]
