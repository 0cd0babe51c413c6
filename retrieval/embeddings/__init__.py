"""Embedders are backends named in settings (``EMBEDDERS``) and chosen by
``EMBEDDING_PROVIDER``. Callers only see ``Embedder``."""

from __future__ import annotations

from django.conf import settings

from ..backends import BackendRegistry
from .base import Embedder

embedders = BackendRegistry("EMBEDDERS", "embedder")


def get_embedder(name: str | None = None) -> Embedder:
    return embedders.get(name or settings.EMBEDDING_PROVIDER)


__all__ = ["Embedder", "get_embedder"]
