from __future__ import annotations

import pytest


@pytest.fixture
def use_provider(settings):
    """Answer with the given provider instance for the rest of the test."""
    from retrieval import llm

    def use(name, provider):
        llm.providers.set(name, provider)
        settings.LLM_PROVIDER = name
        return provider

    yield use
    llm.reset_providers()
