"""``bench chat`` end to end: a real daphne, real sign-ins, real WebSockets."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from conversations.models import Conversation
from knowledge.tests.test_load_company import write_company

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _server_cache_in_its_own_memory(monkeypatch):
    # Other tests clear the shared Redis database, which would empty the server's answer
    # cache between the bench's passes; what is measured here does not depend on Redis.
    monkeypatch.delenv("REDIS_URL", raising=False)


FIELDS = {
    "users",
    "questions",
    "provider",
    "answers",
    "ttft_p50_ms",
    "ttft_p95_ms",
    "ttft_max_ms",
    "total_p50_ms",
    "total_p95_ms",
    "server_p50_ms",
    "answers_per_s",
    "warm_ttft_p50_ms",
    "warm_ttft_p95_ms",
    "warm_total_p50_ms",
    "warm_server_p50_ms",
    "warm_answers_per_s",
    "cached_server_p50_ms",
    "cached_server_p95_ms",
    "cached_client_p50_ms",
    "cached_alone_server_p50_ms",
    "cached_alone_client_p50_ms",
    "cache_misses",
    "errors",
    "targets_met",
}


def test_bench_chat_answers_every_question_then_serves_them_from_the_cache(company, capsys):
    call_command("bench", "chat", "--users", "2", "--questions", "2")
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    assert set(result) == FIELDS
    assert result["errors"] == 0 and result["cache_misses"] == 0
    assert result["users"] == 2 and result["questions"] == 2 and result["answers"] == 4
    assert result["provider"] == "local"
    assert 0 < result["ttft_p50_ms"] <= result["total_p50_ms"]
    assert result["cached_server_p50_ms"] >= 0 and result["cached_alone_client_p50_ms"] > 0
    assert set(result["targets_met"]) == {"ttft_p50", "warm_ttft_p50", "cached_server_p50", "cached_alone_server_p50"}
    table = "\n".join(out[:-1])
    assert "first token" in table and "cached, one at a time" in table and "target  first token p50" in table
    # The bench users leave nothing behind.
    assert not User.objects.filter(username__startswith="bench-chat-").exists()
    assert not Conversation.objects.exists()


def test_bench_chat_on_a_dataset_uses_a_throwaway_database(tmp_path, capsys):
    call_command(
        "bench", "chat", "--users", "1", "--questions", "1", "--json", "--dataset", str(write_company(tmp_path / "company"))
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    result = json.loads(out[0])
    assert result["errors"] == 0 and result["answers"] == 1
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--questions", "0"], "--questions must be between 1 and"),
        (["--questions", "999"], "--questions must be between 1 and"),
        (["--users", "0"], "--users must be at least 1"),
        (["--provider", "openai", "--sockets", "0"], "must be positive"),
    ],
)
def test_bench_chat_refuses_bad_numbers_before_starting_anything(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("bench", "chat", *args)


def test_bench_chat_needs_company_documents():
    with pytest.raises(CommandError, match="no company documents"):
        call_command("bench", "chat", "--users", "1", "--questions", "1")


def test_bench_chat_against_a_slow_model_answers_in_parallel_and_leaves_nothing_open(company, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    call_command(
        "bench",
        "chat",
        "--provider",
        "openai",
        "--users",
        "4",
        "--first-token-ms",
        "300",
        "--tokens-per-s",
        "50",
        "--model-tokens",
        "10",
        "--sockets",
        "6",
    )
    out = capsys.readouterr().out.strip().splitlines()
    result = json.loads(out[-1])
    for key in ("ws", "sse"):
        assert result[key]["answers"] == 4 and result[key]["errors"] == 0, result[key]
        # Four answers at once take about one answer's time (the ideal), not four.
        assert result[key]["ratio"] < 2.5, result[key]
        assert result[key]["ttft_p50_ms"] >= 300 and result[key]["quick_requests"] > 0
    assert result["model_streams_open_after"] == 0
    # Users who leave at their first token: each model stream closed, each partial answer kept.
    assert result["dropped"] == {
        "clients": 4,
        "got_first_token": 4,
        "errors": 0,
        "model_streams_closed_early": 4,
        "incomplete_answers_stored": 4,
    }
    # One user on six sockets: two answers (the bench's per-user limit), "busy" on the other four.
    assert result["one_user_sockets"] == {"sockets": 6, "limit": 2, "answered": 2, "busy": 4, "errors": 0}
    # Back at rest, the server holds no more threads than before the passes, and no client's socket.
    assert result["server_after"]["threads"] <= result["server_at_rest"]["threads"]
    assert result["server_after"]["connections"] == 0
    assert "WebSocket" in "\n".join(out[:-1]) and "× ideal" in "\n".join(out[:-1])
    assert not User.objects.filter(username__startswith="bench-slow-").exists()


def test_bench_chat_on_a_database_never_migrated_says_what_to_run(monkeypatch):
    from django.db import OperationalError

    from chatcore.benchmarks import kit as benchkit

    def no_table():
        raise OperationalError("no such table: knowledge_document")

    monkeypatch.setattr(benchkit.Document.objects, "exists", no_table)
    with pytest.raises(CommandError, match="not set up .*run `make setup`"):
        call_command("bench", "chat", "--users", "1", "--questions", "1")
