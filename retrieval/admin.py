"""The search index as operators see it: its version, what it holds, and how far a rebuild has
come (read-only; ``rebuild_index`` and the re-index tasks write it)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import IndexCollection, IndexState


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(IndexState)
class IndexStateAdmin(ReadOnly):
    list_display = ("__str__", "embedder", "rebuild_progress", "rebuild_started_at", "rebuild_finished_at", "updated_at")

    @admin.display(description="last rebuild")
    def rebuild_progress(self, state: IndexState) -> str:
        if not state.rebuild_total:
            return "—"
        percent = 100 * state.rebuild_done / state.rebuild_total
        status = "done" if state.rebuild_finished_at else "running"
        return f"{state.rebuild_done:,} / {state.rebuild_total:,} documents ({percent:.0f}%, {status})"


@admin.register(IndexCollection)
class IndexCollectionAdmin(ReadOnly):
    list_display = ("name", "embedder", "dim", "passages", "built_at", "updated_at")
