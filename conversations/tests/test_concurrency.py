"""Answers under a real model's latency (``chatcore.benchmarks.slowmodel``, an OpenAI-compatible
server on 127.0.0.1 that takes its time): sockets of one process answer in parallel, no
transaction is open while the model writes, the limits say "busy" with Retry-After, and Stop
reaches the model."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from accounts.models import Role
from accounts.services import user_create
from chatcore.benchmarks.slowmodel import SlowModel
from conversations.models import Message
from retrieval.llm import reset_providers

from .test_consumers import communicator, receive_until_done

pytestmark = pytest.mark.django_db(transaction=True)

# Not an exact answer from the records: the model writes it.
QUESTION = "Yıllık izin talebi nereden yapılır?"


def use_model(settings, model: SlowModel) -> None:
    settings.LLM_PROVIDER = "openai"
    settings.LLM_FALLBACK_PROVIDER = ""
    settings.LLM_PROVIDERS = {
        **settings.LLM_PROVIDERS,
        "openai": {
            "BACKEND": "retrieval.llm.openai.OpenAIProvider",
            "OPTIONS": {"api_key": "sk-test", "base_url": model.base_url, "timeout": 10, "max_retries": 0, "model": "slow-model"},
        },
    }
    reset_providers()


@pytest.fixture
def slow_model(settings):
    with SlowModel(first_token_seconds=0.5, tokens_per_second=40, tokens=12) as model:
        use_model(settings, model)
        yield model
    reset_providers()


@pytest.fixture(autouse=True)
def runs_finish():
    """Each test ends with its answers stored: none outlives the test's database."""
    yield
    from conversations.workers import SLOTS

    for _ in range(500):
        if not SLOTS.running:
            return
        time.sleep(0.02)
    raise AssertionError(f"{SLOTS.running} answers still running")


@pytest.fixture
def askers(db):
    return [
        user_create(username=f"asker{n}", role=Role.EMPLOYEE, password="pw-Concurrency-1", full_name=f"Asker {n}")
        for n in range(7)
    ]


async def _ask_over_socket(user) -> float:
    comm = communicator(user, "/ws/chat/new/")
    connected, _ = await comm.connect()
    assert connected
    started = time.monotonic()
    try:
        await comm.send_json_to({"message": QUESTION})
        frames = await receive_until_done(comm, limit=2000)
    finally:
        await comm.disconnect()
    assert any("Yanıt" in f for f in frames), frames[-1]
    return time.monotonic() - started


@pytest.mark.asyncio
async def test_sockets_of_one_process_answer_in_parallel(slow_model, company, askers):
    alone, *together_users = askers
    one = await _ask_over_socket(alone)
    started = time.monotonic()
    await asyncio.gather(*(_ask_over_socket(user) for user in together_users))
    together = time.monotonic() - started
    # Six answers at once take about one answer's time, not six (2.01 s for four 0.5 s answers before).
    assert slow_model.most_open == len(together_users)
    assert together < 2.0 * one, (together, one)
    stored = await database_sync_to_async(
        lambda: list(Message.objects.filter(role=Message.Role.ASSISTANT).values_list("incomplete", "provider"))
    )()
    assert stored == [(False, "openai")] * len(askers)


@pytest.mark.asyncio
async def test_stop_reaches_the_model_and_keeps_the_partial_answer(settings, company, alice):
    with SlowModel(first_token_seconds=0.2, tokens_per_second=10, tokens=100) as model:
        use_model(settings, model)
        comm = communicator(alice, "/ws/chat/new/")
        await comm.connect()
        await comm.send_json_to({"message": QUESTION})
        while "Yanıt" not in await comm.receive_from(timeout=10):
            pass
        stopped = time.monotonic()
        await comm.send_json_to({"action": "stop"})
        await receive_until_done(comm, limit=2000)
        await comm.disconnect()
        for _ in range(100):
            if model.closed_early:
                break
            await asyncio.sleep(0.02)
        # The upstream stream is closed at the next token (0.1 s here), not after the 10 s answer.
        assert model.closed_early == 1 and model.completed == 0
        assert time.monotonic() - stopped < 2
    reset_providers()
    answer = await database_sync_to_async(Message.objects.get)(role=Message.Role.ASSISTANT)
    assert answer.incomplete and answer.content.startswith("Yanıt")


def test_no_transaction_is_open_while_the_model_writes(client, slow_model, company, alice):
    client.force_login(alice)
    result = {}

    def ask() -> None:
        result["response"] = client.post("/api/chat/", json.dumps({"message": QUESTION}), content_type="application/json")

    thread = threading.Thread(target=ask)
    thread.start()
    for _ in range(200):
        if slow_model.open_streams:
            break
        time.sleep(0.01)
    assert slow_model.open_streams == 1
    # Another connection sees the question while the model is still writing: it was committed.
    assert Message.objects.filter(role=Message.Role.USER, content=QUESTION).exists()
    thread.join(10)
    assert result["response"].status_code == 200
    assert Message.objects.filter(role=Message.Role.ASSISTANT, incomplete=False).count() == 1


def test_the_limits_say_busy_with_retry_after(settings, slow_model, company, alice, stranger):
    settings.CHAT_MAX_ANSWERS_PER_USER = 1
    settings.CHAT_MAX_ANSWERS = 2
    first, second, third = Client(), Client(), Client()
    for c, user in ((first, alice), (second, alice), (third, stranger)):
        c.force_login(user)
    results = {}

    def ask(name, c) -> None:
        results[name] = c.post("/api/chat/", json.dumps({"message": QUESTION}), content_type="application/json")

    running = threading.Thread(target=ask, args=("first", first))
    running.start()
    for _ in range(200):
        if slow_model.open_streams:
            break
        time.sleep(0.01)
    ask("second", second)  # alice again, while her first answer is written
    assert results["second"].status_code == 429 and results["second"]["Retry-After"] == "5"
    assert results["second"].json()["error"]["code"] == "busy"
    settings.CHAT_MAX_ANSWERS = 1
    ask("third", third)  # someone else, with the server full
    assert results["third"].status_code == 503 and results["third"]["Retry-After"] == "5"
    running.join(10)
    assert results["first"].status_code == 200
    # Refused questions are not stored; the one answered is, once.
    assert Message.objects.filter(role=Message.Role.USER).count() == 1


@pytest.mark.asyncio
async def test_a_model_that_never_starts_is_stopped_at_the_first_token_limit(settings, company, alice):
    settings.CHAT_FIRST_TOKEN_SECONDS = 0.5
    with SlowModel(first_token_seconds=5, tokens_per_second=10, tokens=5) as model:
        use_model(settings, model)
        comm = communicator(alice, "/ws/chat/new/")
        await comm.connect()
        started = time.monotonic()
        await comm.send_json_to({"message": QUESTION})
        frames = await receive_until_done(comm, limit=50)
        assert time.monotonic() - started < 3
        assert "çok uzun sürdüğü için durduruldu" in frames[-1]  # the page's language: Turkish
        await comm.disconnect()
    reset_providers()


@pytest.mark.asyncio
async def test_a_model_that_will_not_stop_is_cut_at_the_answer_limit(settings, company, alice):
    settings.CHAT_MAX_ANSWER_CHARS = 5000
    # 10 MB at 1 MB a chunk: stopped after the first, the stream closed.
    with SlowModel(first_token_seconds=0.05, tokens_per_second=20, tokens=10, token_text="x" * 1_000_000) as model:
        use_model(settings, model)
        comm = communicator(alice, "/ws/chat/new/")
        await comm.connect()
        await comm.send_json_to({"message": QUESTION})
        frames = await receive_until_done(comm, limit=50)
        await comm.disconnect()
        assert "çok uzadığı için durduruldu" in frames[-1]
        for _ in range(100):
            if model.closed_early:
                break
            await asyncio.sleep(0.02)
        assert model.closed_early == 1 and model.completed == 0
    reset_providers()
    answer = await database_sync_to_async(Message.objects.get)(role=Message.Role.ASSISTANT)
    assert answer.incomplete and len(answer.content) < 1_100_000


def test_the_api_cuts_an_endless_answer_too(client, settings, company, alice):
    settings.CHAT_MAX_ANSWER_CHARS = 5000
    with SlowModel(first_token_seconds=0.05, tokens_per_second=50, tokens=20, token_text="y" * 1000) as model:
        use_model(settings, model)
        client.force_login(alice)
        response = client.post("/api/chat/", json.dumps({"message": QUESTION}), content_type="application/json")
    reset_providers()
    assert response.status_code == 502 and response.json()["error"]["code"] == "answer_too_long"
    assert Message.objects.get(role=Message.Role.ASSISTANT).incomplete


@pytest.mark.asyncio
async def test_one_user_asking_on_many_sockets_gets_busy_beyond_the_limit(settings, slow_model, company, alice):
    settings.CHAT_MAX_ANSWERS_PER_USER = 3
    sockets = [communicator(alice, "/ws/chat/new/") for _ in range(6)]
    for comm in sockets:
        assert (await comm.connect())[0]
    try:
        for comm in sockets:
            await comm.send_json_to({"message": QUESTION})
        finals = await asyncio.gather(*(receive_until_done(comm, limit=2000) for comm in sockets))
    finally:
        for comm in sockets:
            await comm.disconnect()
    busy = [frames for frames in finals if 'id="composer-error"' in frames[-1] and "Aynı anda" in frames[-1]]
    answered = [frames for frames in finals if any("Yanıt" in f for f in frames)]
    # Three answers at once for one person; the others are told to wait, and nothing of theirs is stored.
    assert len(answered) == 3 and len(busy) == 3, [f[-1][:120] for f in finals]
    assert slow_model.most_open == 3
    stored = await database_sync_to_async(lambda: Message.objects.filter(role=Message.Role.USER).count())()
    assert stored == 3
