"""/readyz: every dependency touched for real; 503 as soon as one is down, and
never a host name or a password in the answer."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from retrieval.services import index_rebuild

PARTS = {"database", "cache", "channel_layer", "index"}


@pytest.fixture
def built_index(company):
    return index_rebuild()


def redis_cache_at(url: str) -> dict:
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }


def test_it_is_ready_when_every_part_answers(client, built_index):
    response = client.get("/readyz")
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok" and set(data["checks"]) == PARTS
    for check in data["checks"].values():
        assert check["status"] == "ok" and check["latency_ms"] >= 0
    index = data["checks"]["index"]
    assert index["version"] == built_index.version and index["passages"] == built_index.chunk_count > 0


def test_it_needs_no_sign_in_and_is_never_cached(client, built_index):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]


def test_it_is_not_ready_before_an_index_was_built(client, db):
    response = client.get("/readyz")
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "fail" and data["checks"]["index"]["status"] == "fail"
    assert data["checks"]["database"]["status"] == "ok"


def test_a_stopped_redis_fails_the_cache_check_fast_without_naming_the_host(client, built_index, settings, closed_port):
    url = f"redis://:hunter2secret@127.0.0.1:{closed_port}/0"
    settings.CACHES = redis_cache_at(url)
    response = client.get("/readyz")
    assert response.status_code == 503
    cache_check = response.json()["checks"]["cache"]
    assert cache_check["status"] == "fail" and cache_check["latency_ms"] < 3000
    assert response.json()["checks"]["database"]["status"] == "ok"
    body = response.content.decode()
    assert "127.0.0.1" not in body and str(closed_port) not in body and "hunter2secret" not in body


def test_a_broken_channel_layer_fails_its_check(client, built_index, settings, closed_port):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{closed_port}/0"]},
        }
    }
    settings.READYZ_TIMEOUT = 1.0
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"]["status"] == "fail"


def test_a_failing_database_fails_its_check(client, built_index, monkeypatch):
    from chatcore import health

    class Unreachable:
        def cursor(self):
            raise connection.Database.OperationalError("could not connect to server at db.internal:5432")

    monkeypatch.setattr(health, "connection", Unreachable())
    response = client.get("/readyz")
    assert response.status_code == 503
    database = response.json()["checks"]["database"]
    assert database == {"status": "fail", "latency_ms": database["latency_ms"], "error": "OperationalError"}
    assert "db.internal" not in response.content.decode()


@pytest.mark.redis
def test_it_is_ready_on_the_real_redis(client, built_index, settings):
    url = os.environ["REDIS_URL"]
    settings.CACHES = redis_cache_at(url)
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": f"readyz-test-{os.getpid()}"},
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert {check["status"] for check in response.json()["checks"].values()} == {"ok"}


def test_a_stopped_redis_fails_the_cache_check_though_the_cache_ignores_its_errors(client, built_index, settings, closed_port):
    settings.CACHES = redis_cache_at(f"redis://127.0.0.1:{closed_port}/0")
    settings.CACHES["default"]["OPTIONS"]["IGNORE_EXCEPTIONS"] = True
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == {
        "status": "fail",
        "latency_ms": response.json()["checks"]["cache"]["latency_ms"],
        "error": "ConnectionError",
    }


@pytest.mark.postgres
def test_the_database_check_opens_a_pool_no_request_has_opened_yet(db, monkeypatch):
    # A web process's first /readyz can come before its first query: the pool is not open yet.
    from django.db import connections
    from psycopg_pool import ConnectionPool

    from chatcore import health

    wrapper = connections["default"]
    fresh = ConnectionPool(kwargs={**wrapper.get_connection_params(), "autocommit": True}, open=False, min_size=1, max_size=1)
    try:
        with monkeypatch.context() as patch:
            patch.setattr(type(wrapper), "pool", property(lambda self: fresh))
            patch.setattr(wrapper, "connection", None)
            assert health.check_database() == {}
    finally:
        fresh.close()
