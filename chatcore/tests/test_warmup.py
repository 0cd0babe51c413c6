"""A web process at start: the model's client and the embedder loaded, the objects alive so far
out of the garbage collector's way, and a provider without its key no reason to fail."""

from __future__ import annotations

import gc

from chatcore.warmup import prepare_process
from retrieval.embeddings import get_embedder
from retrieval.llm import reset_providers


def test_it_loads_the_embedder_and_freezes_what_is_alive(settings):
    gc.unfreeze()
    try:
        prepare_process()
        assert gc.get_freeze_count() > 0
        assert get_embedder()._session is not None
    finally:
        gc.unfreeze()


def test_a_provider_missing_its_key_does_not_stop_the_start(settings):
    settings.LLM_PROVIDER = "openai"
    settings.LLM_PROVIDERS = {
        **settings.LLM_PROVIDERS,
        "openai": {"BACKEND": "retrieval.llm.openai.OpenAIProvider", "OPTIONS": {"api_key": "", "base_url": ""}},
    }
    reset_providers()
    gc.unfreeze()
    try:
        prepare_process()  # logs provider_not_ready; the first question gets the clear error
    finally:
        gc.unfreeze()
        reset_providers()
