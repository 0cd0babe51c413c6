from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from retrieval.backends import BackendRegistry


def test_a_bad_backend_path_fails_with_a_clear_message(settings):
    settings.LLM_PROVIDERS = {"oops": {"BACKEND": "retrieval.llm.nowhere.Provider"}}
    with pytest.raises(ImproperlyConfigured, match="cannot import 'retrieval.llm.nowhere.Provider'"):
        BackendRegistry("LLM_PROVIDERS", "LLM provider").get("oops")


def test_an_unknown_name_fails_with_a_clear_message():
    with pytest.raises(ImproperlyConfigured, match="No LLM provider named 'skynet'"):
        BackendRegistry("LLM_PROVIDERS", "LLM provider").get("skynet")


def test_one_instance_per_name():
    registry = BackendRegistry("LLM_PROVIDERS", "LLM provider")
    assert registry.get("local") is registry.get("local")
