"""Index jobs. They take document keys, call a service and own their retries.

Both are idempotent: a document's passages are always made again from the database, so running
one twice (a retry, a redelivery after a lost worker) writes the same passages again (the
PostgreSQL backend replaces a document's rows in one transaction; the embedded one publishes
one more version of the same data, recorded only once its files are written)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import services

# Worth another try: the database or Redis went away for a moment. Anything else
# (a bug, a bad embedder setting) would fail the same way again.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, TimeoutError, RedisConnectionError, RedisTimeoutError)


@shared_task(
    bind=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    acks_late=True,
)
def reindex_documents(self, keys: list[str], referrers: bool = False) -> int:
    """Re-chunk and re-embed the changed (or deleted) documents, with ``referrers`` also those that
    link to them (a title or visibility changed); returns the new index version."""
    return services.index_update(keys=keys, referrers=referrers)


@shared_task(
    bind=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=3,
    acks_late=True,
)
def rebuild_index(self) -> int:
    """Re-embed everything and publish a new version; returns it."""
    return services.index_rebuild().version


@shared_task(
    bind=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=3,
    acks_late=True,
)
def merge_index(self) -> int:
    """Fold the embedded index's delta into a new full version (queued when the delta outgrows
    RETRIEVAL_DELTA_SHARE); returns the version published, or 0 when there was nothing to merge."""
    return services.index_merge()


@shared_task(
    bind=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
)
def index_chunk(self, keys: list[str]) -> int:
    """One chunk of a parallel rebuild (PostgreSQL backend): these documents' passages made again.
    A worker lost mid-chunk gives the chunk back to the queue (``reject_on_worker_lost``), and
    running it twice writes the same rows: each document's passages are replaced in one
    transaction."""
    return services.index_chunk(keys=keys)
