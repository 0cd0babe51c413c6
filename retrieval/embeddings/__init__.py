"""Embedders are backends named in settings (``EMBEDDERS``) and chosen by
``EMBEDDING_PROVIDER``. Callers only see ``Embedder``."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..backends import BackendRegistry
from .base import Embedder

embedders = BackendRegistry("EMBEDDERS", "embedder")


def get_embedder(name: str | None = None) -> Embedder:
    return embedders.get(name or settings.EMBEDDING_PROVIDER)


def embedder_named(model: str) -> Embedder | None:
    """The configured embedder whose model is ``model`` (an index's manifest names the model
    that built it), or None. An index built before ``EMBEDDING_PROVIDER`` changed keeps being
    searched with its own model until the rebuild with the new one is published."""
    configured = get_embedder()
    if configured.name == model:
        return configured
    for name in settings.EMBEDDERS:
        try:
            candidate = embedders.get(name)
        except ImproperlyConfigured:  # a backend that cannot be set up is not the one
            continue
        if candidate.name == model:
            return candidate
    return None


__all__ = ["Embedder", "embedder_named", "get_embedder"]
