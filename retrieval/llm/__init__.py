"""LLM providers are backends named in ``settings.LLM_PROVIDERS`` (dotted path +
options) and chosen by ``LLM_PROVIDER``."""

from __future__ import annotations

from django.conf import settings

from ..backends import BackendRegistry
from .base import Options, Provider, ProviderError, Source

providers = BackendRegistry("LLM_PROVIDERS", "LLM provider")


def get_provider(name: str | None = None) -> Provider:
    return providers.get(name or settings.LLM_PROVIDER)


def reset_providers() -> None:
    providers.reset()


__all__ = ["Options", "Provider", "ProviderError", "Source", "get_provider", "providers", "reset_providers"]
