"""Fold the embedded index's delta into a new full version."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from retrieval.services import index_merge


class Command(BaseCommand):
    help = (
        "Embedded backend: fold the documents changed since the last full index version (its delta) "
        "into a new full version. Runs by itself when the delta outgrows RETRIEVAL_DELTA_SHARE; "
        "edits go on being published meanwhile."
    )

    def handle(self, *args, **options) -> None:
        version = index_merge()
        if version:
            self.stdout.write(f"Index v{version} published: the delta is merged.")
        else:
            self.stdout.write("Nothing to merge.")
