"""Pluggable backends named in settings (``EMBEDDERS``, ``LLM_PROVIDERS``): a
dotted ``BACKEND`` path and ``OPTIONS``, loaded with ``import_string``, one cached
instance per name, the way Django's ``STORAGES`` work."""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


class BackendRegistry:
    def __init__(self, setting: str, what: str) -> None:
        self.setting = setting
        self.what = what
        self._instances: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        with self._lock:
            if name not in self._instances:
                configs = getattr(settings, self.setting)
                try:
                    config = configs[name]
                except KeyError:
                    raise ImproperlyConfigured(f"No {self.what} named {name!r} in settings.{self.setting}") from None
                try:
                    backend = import_string(config["BACKEND"])
                except ImportError as exc:
                    raise ImproperlyConfigured(f"{self.what} {name!r}: cannot import {config.get('BACKEND')!r}: {exc}") from exc
                self._instances[name] = backend(**config.get("OPTIONS", {}))
            return self._instances[name]

    def set(self, name: str, instance: Any) -> None:
        with self._lock:
            self._instances[name] = instance

    def reset(self) -> None:
        with self._lock:
            self._instances.clear()
