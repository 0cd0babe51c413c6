"""LLM providers are backends named in ``settings.LLM_PROVIDERS`` (dotted path +
options) and chosen by ``LLM_PROVIDER``; one cached instance per name."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .base import Options, Provider, ProviderError, Source

_instances: dict[str, Provider] = {}
_lock = threading.Lock()


def get_provider(name: str | None = None) -> Provider:
    name = name or settings.LLM_PROVIDER
    with _lock:
        if name not in _instances:
            try:
                config = settings.LLM_PROVIDERS[name]
            except KeyError:
                raise ImproperlyConfigured(f"No LLM provider named {name!r} in settings.LLM_PROVIDERS") from None
            try:
                backend = import_string(config["BACKEND"])
            except ImportError as exc:
                raise ImproperlyConfigured(f"LLM provider {name!r}: cannot import {config.get('BACKEND')!r}: {exc}") from exc
            _instances[name] = backend(**config.get("OPTIONS", {}))
        return _instances[name]


def reset_providers() -> None:
    with _lock:
        _instances.clear()


__all__ = ["Options", "Provider", "ProviderError", "Source", "get_provider", "reset_providers"]
