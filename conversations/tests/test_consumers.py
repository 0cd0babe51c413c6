from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.routing import websocket_urlpatterns
from conversations.services import conversation_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def communicator(user, path):
    app = URLRouter(websocket_urlpatterns)
    comm = WebsocketCommunicator(app, path)
    comm.scope["user"] = user
    return comm


async def receive_until_done(comm, limit=400):
    frames = []
    for _ in range(limit):
        frame = await comm.receive_from(timeout=10)
        frames.append(frame)
        if 'id="chat-state" class=""' in frame:
            return frames
    raise AssertionError("no final frame")


async def test_the_question_appears_then_the_answer_streams_then_sources(alice, company):
    comm = communicator(alice, "/ws/chat/new/")
    connected, _ = await comm.connect()
    assert connected
    try:
        await comm.send_json_to({"message": "Yıllık izin talebi nereden yapılır?", "HEADERS": {}})
        frames = await receive_until_done(comm)
    finally:
        await comm.disconnect()
    assert "Yıllık izin talebi nereden yapılır?" in frames[0] and 'hx-swap-oob="beforeend:#messages"' in frames[0]
    tokens = [f for f in frames if f.startswith("<span hx-swap-oob")]
    assert len(tokens) > 3
    final = frames[-1]
    assert 'href="/documents/PR1/"' in final and "İK Portalı" in final
    conversation = await database_sync_to_async(Conversation.objects.get)(owner=alice)
    assert conversation.message_count == 2
    # The sidebar item's new count and date (in the site's time zone), for the page to put in.
    assert f'data-summary="{timezone.localtime(conversation.updated_at):%Y-%m-%d} · 2 mesaj"' in final


async def test_a_strangers_conversation_is_refused(alice, stranger):
    conversation = await database_sync_to_async(conversation_create)(user=alice, title="Mine")
    comm = communicator(stranger, f"/ws/chat/{conversation.id}/")
    connected, code = await comm.connect()
    assert not connected and code == 4404


async def test_anonymous_is_refused():
    from django.contrib.auth.models import AnonymousUser

    comm = communicator(AnonymousUser(), "/ws/chat/new/")
    connected, code = await comm.connect()
    assert not connected and code == 4401


async def test_an_empty_message_gets_an_error_in_the_composer(alice, company, english):
    comm = communicator(alice, "/ws/chat/new/")
    await comm.connect()
    try:
        await comm.send_json_to({"message": "   "})
        frame = await comm.receive_from(timeout=5)
    finally:
        await comm.disconnect()
    assert 'id="composer-error"' in frame and "Write a question." in frame
    assert not await database_sync_to_async(Message.objects.exists)()


async def ask_and_read(user, question, frames):
    comm = communicator(user, "/ws/chat/new/")
    await comm.connect()
    await comm.send_json_to({"message": question})
    received = [await comm.receive_from(timeout=10) for _ in range(frames)]
    await comm.disconnect()
    return received


class SlowProvider:
    name, model = "slow", "slow-1"

    def stream(self, messages, options):
        import time

        for word in ["Bir", " iki", " üç", " dört", " beş"] * 20:
            time.sleep(0.02)
            yield word


async def test_closing_the_socket_mid_answer_stores_the_partial_answer(alice, company, use_provider):
    use_provider("slow", SlowProvider())
    await ask_and_read(alice, "Yıllık izin nasıl alınır?", frames=2)  # the question, the first token
    answers = await database_sync_to_async(lambda: list(Message.objects.filter(role="assistant")))()
    assert len(answers) == 1
    assert answers[0].incomplete and answers[0].content.startswith("Bir")
    assert len(answers[0].content.split()) < 100


async def test_an_unexpected_failure_is_reported_and_the_page_leaves_the_busy_state(alice, company, use_provider, english):
    class Exploding:
        name, model = "exploding", "x"

        def stream(self, messages, options):
            raise RuntimeError("bug")
            yield  # pragma: no cover

    use_provider("exploding", Exploding())
    frames = await ask_and_read(alice, "Yıllık izin nasıl alınır?", frames=2)
    assert "Something went wrong" in frames[-1] and 'id="chat-state" class=""' in frames[-1]


async def test_regenerate_asks_the_last_question_again(alice, company):
    comm = communicator(alice, "/ws/chat/new/")
    await comm.connect()
    try:
        await comm.send_json_to({"message": "Kervan projesini kim yönetiyor?"})
        await receive_until_done(comm)
        await comm.send_json_to({"action": "regenerate"})
        frames = await receive_until_done(comm)
    finally:
        await comm.disconnect()
    assert "Kervan projesini kim yönetiyor?" in frames[0]
    count = await database_sync_to_async(Message.objects.filter(role="user").count)()
    assert count == 2


async def test_a_new_conversation_is_added_to_the_top_of_the_sidebar_as_the_open_one(alice, company):
    comm = communicator(alice, "/ws/chat/new/")
    await comm.connect()
    try:
        await comm.send_json_to({"message": "Kervan projesini kim yönetiyor?"})
        first = await receive_until_done(comm)
        await comm.send_json_to({"message": "Peki ekibinde kimler var?"})
        second = await receive_until_done(comm)
    finally:
        await comm.disconnect()
    conversation = await database_sync_to_async(Conversation.objects.get)(owner=alice)
    started = first[0]
    assert '<div hx-swap-oob="afterbegin:#conversation-list">' in started
    assert f'data-conversation-id="{conversation.id}"' in started
    assert 'aria-current="page"' in started and "Kervan projesini kim yönetiyor?" in started
    # The follow-up goes into the same conversation, which is already in the list.
    assert "#conversation-list" not in second[0]


async def test_a_question_in_an_existing_conversation_leaves_the_sidebar_alone(alice, company):
    conversation = await database_sync_to_async(conversation_create)(user=alice, title="Mine")
    comm = communicator(alice, f"/ws/chat/{conversation.id}/")
    await comm.connect()
    try:
        await comm.send_json_to({"message": "Kervan projesini kim yönetiyor?"})
        frames = await receive_until_done(comm)
    finally:
        await comm.disconnect()
    assert "#conversation-list" not in frames[0]


async def test_a_question_sent_the_moment_the_answer_is_done_is_answered(alice, company, english):
    comm = communicator(alice, "/ws/chat/new/")
    await comm.connect()
    try:
        await comm.send_json_to({"message": "Yıllık izin talebi nereden yapılır?"})
        await receive_until_done(comm)
        await comm.send_json_to({"message": "Seyahat harcırahı ne kadar?"})
        frames = await receive_until_done(comm)
    finally:
        await comm.disconnect()
    assert not any("Wait for the current answer" in f for f in frames)
    assert await database_sync_to_async(Message.objects.filter(role="assistant").count)() == 2


async def test_a_socket_whose_session_was_revoked_is_closed_on_its_next_question(alice, company):
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    await database_sync_to_async(store.create)()
    comm = communicator(alice, "/ws/chat/new/")
    comm.scope["session"] = store
    assert (await comm.connect())[0]
    await database_sync_to_async(store.delete)(store.session_key)
    await comm.send_json_to({"message": "Yıllık izin talebi nereden yapılır?"})
    closed = await comm.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4401}
    assert not await database_sync_to_async(Message.objects.exists)()
