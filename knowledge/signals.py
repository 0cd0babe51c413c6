"""``document_changed`` is sent by the knowledge services after a commit that
created, updated or deleted documents; retrieval listens and re-indexes.
Arguments: ``keys`` (list of document keys), ``deleted`` (bool) and ``renamed`` (bool: their
titles or visibility may have changed, as when they are created or deleted, so documents that
link to them, whose passages name them, change too)."""

from __future__ import annotations

from django.dispatch import Signal

document_changed = Signal()
