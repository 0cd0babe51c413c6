"""Embedders are backends named in settings (``EMBEDDERS``) and chosen by
``EMBEDDING_PROVIDER``; one cached instance per name, the way Django's
``STORAGES`` work. Callers only see ``Embedder``."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .base import Embedder

_instances: dict[str, Embedder] = {}
_lock = threading.Lock()


def get_embedder(name: str | None = None) -> Embedder:
    name = name or settings.EMBEDDING_PROVIDER
    with _lock:
        if name not in _instances:
            try:
                config = settings.EMBEDDERS[name]
            except KeyError:
                raise ImproperlyConfigured(f"No embedder named {name!r} in settings.EMBEDDERS") from None
            try:
                backend = import_string(config["BACKEND"])
            except ImportError as exc:
                raise ImproperlyConfigured(f"Embedder {name!r}: cannot import {config.get('BACKEND')!r}: {exc}") from exc
            _instances[name] = backend(**config.get("OPTIONS", {}))
        return _instances[name]


__all__ = ["Embedder", "get_embedder"]
