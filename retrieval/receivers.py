"""Knowledge announces changes after commit; the index follows. Receivers only queue."""

from __future__ import annotations

from django.dispatch import receiver

from knowledge.signals import document_changed

from .tasks import reindex_documents


@receiver(document_changed, dispatch_uid="retrieval.reindex_on_document_changed")
def queue_reindex(sender, keys: list[str], deleted: bool = False, renamed: bool = True, **kwargs) -> None:
    reindex_documents.delay(list(keys), referrers=renamed)
