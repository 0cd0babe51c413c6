"""The search backend named by ``RETRIEVAL_BACKEND`` (a dotted path): ``embedded`` (files under
``INDEX_DIR``, each process holding its copy; the default on SQLite) or ``postgres`` (passages,
tokens and vectors in PostgreSQL with pgvector, shared by every process; the default when
``DATABASE_URL`` is PostgreSQL)."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .base import Found, SearchBackend

_instances: dict[str, SearchBackend] = {}
_lock = threading.Lock()


def get_backend() -> SearchBackend:
    path = settings.RETRIEVAL_BACKEND
    with _lock:
        backend = _instances.get(path)
        if backend is None:
            try:
                backend = import_string(path)()
            except ImportError as exc:
                raise ImproperlyConfigured(f"RETRIEVAL_BACKEND: cannot import {path!r}: {exc}") from exc
            if not isinstance(backend, SearchBackend):
                raise ImproperlyConfigured(f"RETRIEVAL_BACKEND: {path!r} is not a SearchBackend")
            _instances[path] = backend
        return backend


__all__ = ["Found", "SearchBackend", "get_backend"]
