"""Readiness checks for ``/readyz``: each one touches a dependency for real and
reports only its status, its latency and the kind of error, never an address."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import structlog
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from retrieval.models import IndexState
from retrieval.services import ensure_index

log = structlog.get_logger(__name__)


class NotReady(Exception):
    """A check that ran but found its part unusable."""


def check_database() -> dict:
    pool = getattr(connection, "pool", None)
    if pool is not None and connection.connection is None:
        # A request waits up to DATABASE_POOL_TIMEOUT for a pooled connection; the probe
        # gives up after READYZ_TIMEOUT, so a database that is down is reported at once.
        # Django opens the pool at a process's first query: a probe that comes first opens it
        # (already open: nothing happens), or it would report PoolClosed until a request came.
        pool.open()
        conn = pool.getconn(timeout=settings.READYZ_TIMEOUT)
        try:
            conn.execute("SELECT 1").fetchone()
        finally:
            pool.putconn(conn)
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def check_cache() -> dict:
    key, token = f"readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
    client = getattr(cache, "client", None)
    if client is not None and hasattr(client, "get_client"):
        # django-redis ignores Redis errors so the site keeps serving without it (settings);
        # the probe talks to Redis itself, so a stopped Redis still shows here.
        raw = client.get_client(write=True)
        key = cache.make_key(key)
        raw.set(key, token, ex=10)
        try:
            if raw.get(key) != token.encode():
                raise NotReady("the value read back differs")
        finally:
            raw.delete(key)
        return {}
    cache.set(key, token, timeout=10)
    try:
        if cache.get(key) != token:
            raise NotReady("the value read back differs")
    finally:
        cache.delete(key)
    return {}


async def _channel_layer_round_trip() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise NotReady("no channel layer configured")
    timeout = settings.READYZ_TIMEOUT
    channel = await asyncio.wait_for(layer.new_channel("readyz."), timeout)
    token = uuid.uuid4().hex
    await asyncio.wait_for(layer.send(channel, {"type": "readyz.ping", "token": token}), timeout)
    message = await asyncio.wait_for(layer.receive(channel), timeout)
    if message.get("token") != token:
        raise NotReady("the message read back differs")


def check_channel_layer() -> dict:
    async_to_sync(_channel_layer_round_trip)()
    return {}


def check_index() -> dict:
    # A probe loads the published index (the process's warm-up) but never builds the
    # first one: that is `rebuild_index`'s job, and far too slow for a probe.
    state = IndexState.objects.filter(pk=1).only("version").first()
    if state is None or not state.version:
        raise NotReady("no index has been built")
    index = ensure_index()
    return {"version": index.version, "passages": index.chunk_count, "documents": index.document_count}


CHECKS: dict[str, Callable[[], dict]] = {
    "database": check_database,
    "cache": check_cache,
    "channel_layer": check_channel_layer,
    "index": check_index,
}


def run_check(name: str, check: Callable[[], dict]) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        result = {"status": "ok"}
    except Exception as exc:
        # The class name only: messages can carry host names, ports and credentials.
        log.warning("readyz_check_failed", check=name, error=type(exc).__name__)
        detail = {"error": type(exc).__name__}
        result = {"status": "fail"}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return {**result, **detail}


# Checks that read the database: reported as failed without waiting once the database has.
NEEDS_DATABASE = {"index"}


def readiness() -> dict:
    checks = {}
    for name, check in CHECKS.items():
        if name in NEEDS_DATABASE and checks.get("database", {}).get("status") == "fail":
            checks[name] = {"status": "fail", "latency_ms": 0.0, "error": "DatabaseUnavailable"}
        else:
            checks[name] = run_check(name, check)
    status = "ok" if all(c["status"] == "ok" for c in checks.values()) else "fail"
    return {"status": status, "checks": checks}
