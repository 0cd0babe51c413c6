"""/metrics: who may read it, and that chat answers move our own metrics. The
registry is global to the process, so every assertion is on a difference."""

from __future__ import annotations

import json

from prometheus_client import REGISTRY

from retrieval.llm import reset_providers

QUESTION = "Yıllık izin talebi nereden yapılır?"


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def ask(client, message: str = QUESTION) -> dict:
    response = client.post("/api/chat/", json.dumps({"message": message}), content_type="application/json")
    assert response.status_code == 200
    return response.json()


def test_it_hides_metrics_from_an_anonymous_client_elsewhere(client, db):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 404
    assert b"chatcore_" not in response.content


def test_it_hides_metrics_from_an_employee_elsewhere(client, alice):
    client.force_login(alice)
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404


def test_an_admin_reads_metrics_from_anywhere(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert "django_http_requests_total_by_method_total" in body
    assert "chatcore_chat_latency_seconds" in body


def test_an_allowed_network_reads_metrics_without_signing_in(client, db, settings):
    import ipaddress

    settings.METRICS_ALLOWED_IPS = [ipaddress.ip_network("10.1.0.0/16")]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 404


def test_loopback_is_allowed_by_default(client, db):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200


def test_a_chat_answer_moves_latency_first_token_and_tokens(client, alice, company):
    labels = {"provider": "local", "cached": "false"}
    before = {
        "latency": value("chatcore_chat_latency_seconds_count", **labels),
        "first_token": value("chatcore_chat_first_token_seconds_count", **labels),
        "tokens_in": value("chatcore_chat_tokens_in_total", provider="local"),
        "tokens_out": value("chatcore_chat_tokens_out_total", provider="local"),
        "retrieval": value("chatcore_retrieval_latency_seconds_count", kind="chat"),
        "misses": value("chatcore_answer_cache_misses_total"),
    }
    client.force_login(alice)
    answer = ask(client)
    assert value("chatcore_chat_latency_seconds_count", **labels) == before["latency"] + 1
    assert value("chatcore_chat_first_token_seconds_count", **labels) == before["first_token"] + 1
    assert value("chatcore_chat_tokens_in_total", provider="local") > before["tokens_in"]
    assert value("chatcore_chat_tokens_out_total", provider="local") == before["tokens_out"] + answer["token_count"]
    assert value("chatcore_retrieval_latency_seconds_count", kind="chat") == before["retrieval"] + 1
    assert value("chatcore_answer_cache_misses_total") == before["misses"] + 1
    # The index this process loaded to answer.
    assert value("chatcore_index_version") >= 1 and value("chatcore_index_passages") > 0


def test_the_same_question_again_counts_a_cache_hit(client, alice, company):
    client.force_login(alice)
    ask(client)
    hits = value("chatcore_answer_cache_hits_total")
    cached_latency = value("chatcore_chat_latency_seconds_count", provider="local", cached="true")
    assert ask(client)["cached"] is True
    assert value("chatcore_answer_cache_hits_total") == hits + 1
    assert value("chatcore_chat_latency_seconds_count", provider="local", cached="true") == cached_latency + 1


def test_a_failing_provider_counts_an_error_and_a_fallback(client, alice, company, settings, closed_port):
    settings.LLM_PROVIDER = "openai"
    settings.LLM_PROVIDERS = {
        **settings.LLM_PROVIDERS,
        "openai": {
            "BACKEND": "retrieval.llm.openai.OpenAIProvider",
            "OPTIONS": {"api_key": "sk-test", "base_url": f"http://127.0.0.1:{closed_port}/v1", "timeout": 2, "max_retries": 0},
        },
    }
    reset_providers()
    try:
        errors = value("chatcore_provider_errors_total", provider="openai")
        fallbacks = value("chatcore_provider_fallbacks_total", provider="openai")
        client.force_login(alice)
        assert ask(client)["provider"] == "local"
    finally:
        reset_providers()
    assert value("chatcore_provider_errors_total", provider="openai") == errors + 1
    assert value("chatcore_provider_fallbacks_total", provider="openai") == fallbacks + 1
