"""``document_changed`` is sent by the knowledge services after a commit that
created, updated or deleted documents; retrieval listens and re-indexes.
Arguments: ``keys`` (list of document keys) and ``deleted`` (bool)."""

from __future__ import annotations

from django.dispatch import Signal

document_changed = Signal()
