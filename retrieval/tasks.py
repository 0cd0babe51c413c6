"""Index jobs. They take document keys, call a service and own their retries."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(bind=True, autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=60, max_retries=5,
             acks_late=True)
def reindex_documents(self, keys: list[str]) -> int:
    """Re-chunk and re-embed the changed documents; returns the new index version."""
    return services.index_update(keys=keys).version


@shared_task(bind=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3, acks_late=True)
def rebuild_index(self) -> int:
    return services.index_rebuild().version
