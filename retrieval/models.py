"""The search index version, shared by every process and machine through the database."""

from __future__ import annotations

from django.db import models


class IndexState(models.Model):
    """One row. ``version`` grows on every rebuild or document change; a process
    whose loaded index is older reloads it, or rebuilds it locally when its own
    ``INDEX_DIR`` does not have that version (another machine built it)."""

    version = models.PositiveBigIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    embedder = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "search index state"

    def __str__(self) -> str:
        return f"index v{self.version}"
