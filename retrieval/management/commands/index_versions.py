"""The index versions on this machine and the embedding model each was built with."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from retrieval import store
from retrieval.embeddings import embedder_named, get_embedder
from retrieval.models import IndexState


class Command(BaseCommand):
    help = (
        "List the search index versions in INDEX_DIR: which is current, which embedding model built "
        "each, its passages, and whether this configuration can serve it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="One JSON object per version.")

    def handle(self, *args, **options) -> None:
        root = Path(settings.INDEX_DIR)
        current = store.current_version_on_disk(root)
        published = IndexState.objects.filter(pk=1).values_list("version", flat=True).first() or 0
        configured = get_embedder().name
        rows = []
        for version in store.versions(root):
            try:
                manifest = store.read_manifest(root, version)
            except store.IndexUnavailable as exc:
                rows.append({"version": version, "error": str(exc)})
                continue
            model = str(manifest.get("embedder", ""))
            rows.append(
                {
                    "version": version,
                    "current": version == current,
                    "published": version == published,
                    "embedder": model,
                    "dim": manifest.get("dim"),
                    "passages": _passages(manifest),  # per view: staff, hr
                    "built_at": manifest.get("built_at", ""),
                    # A delta: the documents changed since the full version ``base`` it extends.
                    "base": manifest.get("base"),
                    "changed": len(manifest.get("changed") or {}),
                    # Searchable here: its model is configured (EMBEDDERS); rebuilt when not the default.
                    "servable": embedder_named(model) is not None,
                    "stale": model != configured,
                }
            )
        if options["json"]:
            for row in rows:
                self.stdout.write(json.dumps(row))
            return
        self.stdout.write(f"EMBEDDING_PROVIDER's model: {configured}; published version: v{published}")
        if not rows:
            self.stdout.write(f"No index in {root}: run `manage.py rebuild_index`.")
        for row in rows:
            if "error" in row:
                self.stdout.write(f"  v{row['version']}: {row['error']}")
                continue
            marks = [m for m, on in (("current", row["current"]), ("published", row["published"])) if on]
            note = ""
            if row["stale"] and row["current"]:
                note = " — another model: `rebuild_index` re-embeds" if row["servable"] else " — its model is not configured"
            kind = f"delta of v{row['base']} ({row['changed']} documents changed), " if row["base"] else ""
            self.stdout.write(
                f"  v{row['version']}{' (' + ', '.join(marks) + ')' if marks else ''}: {kind}"
                f"{row['embedder']}, {row['dim']} dims, passages {_counts(row['passages'])}, "
                f"built {row['built_at']}{note}"
            )


def _passages(manifest: dict) -> dict[str, int]:
    counts = manifest.get("chunks")
    return {str(k): v for k, v in counts.items() if isinstance(v, int)} if isinstance(counts, dict) else {}


def _counts(passages: dict[str, int]) -> str:
    return ", ".join(f"{view} {count}" for view, count in passages.items()) or "unknown"
