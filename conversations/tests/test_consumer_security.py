"""An open chat socket is only as good as the sign-in behind it, checked again at every
question: a demoted user is answered with the new role, a deactivated account or a new
password ends the socket. Frames are read as strictly as the API's bodies: anything but
a JSON object ends the socket cleanly with one log line, and text the database could
not store is refused like an empty question."""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import LoginSession, Role
from conversations.models import Message
from conversations.routing import websocket_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

SALARY_QUESTION = "Ayşe Yılmaz'ın maaşı ne kadar?"
ID_AND_PHONE_QUESTION = "What is Ayşe Yılmaz's national ID and phone?"
SECRETS = ("85.000", "85000", "12345678901", "111 2233")
# Close codes of the application's own range: a refused frame (4400), an ended sign-in (4401).
BAD_FRAME = 4400


def session_cookie(user) -> bytes:
    """A page sign-in made on the server side; recorded like any other (LoginSession)."""
    client = Client()
    client.force_login(user)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}".encode()


async def open_signed_in(user) -> WebsocketCommunicator:
    """The chat socket as a browser opens it: through the served application, from a page
    of this site, with the session cookie of a real sign-in."""
    from chatcore.asgi import application

    cookie = await sync_to_async(session_cookie)(user)
    headers = [(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000"), (b"cookie", cookie)]
    comm = WebsocketCommunicator(application, "/ws/chat/new/", headers=headers)
    comm.scope["client"] = ["127.0.0.1", 50000]
    connected, _ = await comm.connect(timeout=5)
    assert connected
    return comm


def session_key_of(comm: WebsocketCommunicator) -> str:
    cookie = dict(comm.scope["headers"])[b"cookie"].decode()
    return cookie.removeprefix(f"{django_settings.SESSION_COOKIE_NAME}=")


async def ask(comm: WebsocketCommunicator, question: str) -> str:
    """Everything the socket sent for one question, the finished answer last."""
    await comm.send_json_to({"message": question})
    frames = []
    while 'id="chat-state" class=""' not in (frames[-1] if frames else ""):
        # Generous: the first retrieval of a process loads the embedding model.
        frames.append(await comm.receive_from(timeout=60))
    return "\n".join(frames)


async def last_answer() -> Message:
    return await database_sync_to_async(lambda: Message.objects.filter(role="assistant").latest("id"))()


async def message_count() -> int:
    return await database_sync_to_async(Message.objects.count)()


def change(user, **fields) -> None:
    for name, value in fields.items():
        setattr(user, name, value)
    user.save()


# --- the role a question is answered with ------------------------------------------------


async def test_an_hr_user_demoted_while_the_socket_is_open_no_longer_gets_sensitive_values(hr_user, company):
    comm = await open_signed_in(hr_user)
    try:
        assert "85.000" in await ask(comm, SALARY_QUESTION)
        await database_sync_to_async(change)(hr_user, role=Role.EMPLOYEE)
        salary = await ask(comm, SALARY_QUESTION)
        id_and_phone = await ask(comm, ID_AND_PHONE_QUESTION)
    finally:
        await comm.disconnect()
    for answer in (salary, id_and_phone):
        assert 'id="chat-state" class=""' in answer  # answered, not refused
        for secret in SECRETS:
            assert secret not in answer
    assert "yalnızca İK" in salary


class PassageEcho:
    """Answers with the passages it was given, word for word: what the asker's view holds."""

    name, model = "passage-echo", "echo-1"

    def stream(self, messages, options):
        yield " | ".join(passage for source in options.sources for passage in source.passages)


@pytest.fixture
def passage_echo(settings):
    from retrieval import llm

    llm.providers.set(PassageEcho.name, PassageEcho())
    settings.LLM_PROVIDER = PassageEcho.name
    yield
    llm.reset_providers()


# Answered from retrieval (not an exact answer), so its answer goes into the answer cache.
RETRIEVED_QUESTION = "ayse@example.com adresi kimin?"


async def test_the_answer_cache_never_serves_a_demoted_user_the_hr_answer(hr_user, company, passage_echo):
    for expected_cached in (False, True):
        comm = await open_signed_in(hr_user)
        try:
            answer = await ask(comm, RETRIEVED_QUESTION)
        finally:
            await comm.disconnect()
        assert "Salary / maaş: 85000" in answer
        assert (await last_answer()).cached is expected_cached
    comm = await open_signed_in(hr_user)
    try:
        await database_sync_to_async(change)(hr_user, role=Role.EMPLOYEE)
        answer = await ask(comm, RETRIEVED_QUESTION)
    finally:
        await comm.disconnect()
    assert "ayse@example.com" in answer
    for secret in SECRETS:
        assert secret not in answer
    assert (await last_answer()).cached is False


# --- the sign-in behind the socket ------------------------------------------------------


async def assert_closed_at_the_next_question(comm: WebsocketCommunicator) -> None:
    before = await message_count()
    await comm.send_json_to({"message": SALARY_QUESTION})
    assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert await message_count() == before


async def session_exists(comm: WebsocketCommunicator) -> bool:
    return await database_sync_to_async(Session.objects.filter(session_key=session_key_of(comm)).exists)()


async def test_deactivating_the_account_closes_its_open_socket_at_the_next_question(hr_user, company):
    comm = await open_signed_in(hr_user)
    try:
        assert "85.000" in await ask(comm, SALARY_QUESTION)
        await database_sync_to_async(change)(hr_user, is_active=False)
        await assert_closed_at_the_next_question(comm)
    finally:
        await comm.disconnect()


def set_password(user) -> None:
    user.set_password("a brand new Şifre 2025")
    user.save()


async def test_a_new_password_closes_the_open_socket_at_the_next_question(hr_user, company):
    # The new password ends every recorded sign-in: the socket's session is gone.
    comm = await open_signed_in(hr_user)
    try:
        assert "85.000" in await ask(comm, SALARY_QUESTION)
        await database_sync_to_async(set_password)(hr_user)
        assert not await session_exists(comm)
        await assert_closed_at_the_next_question(comm)
    finally:
        await comm.disconnect()


async def test_a_new_password_closes_a_socket_whose_session_outlived_it(hr_user, company):
    # A session the sign-in list does not know of survives the password change; it still
    # holds the old password's hash, which Django no longer accepts.
    comm = await open_signed_in(hr_user)
    try:
        assert "85.000" in await ask(comm, SALARY_QUESTION)
        await database_sync_to_async(lambda: LoginSession.objects.filter(user=hr_user).delete())()
        await database_sync_to_async(set_password)(hr_user)
        assert await session_exists(comm)
        await assert_closed_at_the_next_question(comm)
    finally:
        await comm.disconnect()


# --- frames that are not a JSON object --------------------------------------------------


def plain_socket(user) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/chat/new/")
    comm.scope["user"] = user
    return comm


BAD_FRAMES = {
    "not json": {"text_data": "not json"},
    "an array": {"text_data": "[1,2]"},
    "a string": {"text_data": '"message"'},
    "a duplicate key": {"text_data": '{"message": "a", "message": "b"}'},
    "NaN": {"text_data": '{"message": NaN}'},
    "Infinity": {"text_data": '{"message": "a", "n": -Infinity}'},
    "100 nested objects": {"text_data": '{"a":' * 100 + "1" + "}" * 100},
    "33 nested objects": {"text_data": '{"a":' * 32 + "{}" + "}" * 32},
    "deeper than the parser's stack": {"text_data": "[" * 100_000 + "]" * 100_000},
    "a binary frame": {"bytes_data": b'{"message": "Yillik izin nasil alinir?"}'},
}


@pytest.mark.parametrize("frame", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
async def test_a_frame_that_is_not_a_json_object_closes_the_socket_with_one_log_line(alice, company, caplog, frame):
    comm = plain_socket(alice)
    assert (await comm.connect())[0]
    try:
        with caplog.at_level(logging.INFO):
            await comm.send_to(**frame)
            assert await comm.receive_output(timeout=5) == {"type": "websocket.close", "code": BAD_FRAME}
    finally:
        await comm.disconnect()
    events = [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == "ws_bad_frame"]
    assert len(events) == 1
    [event] = events
    assert event["level"] == "warning" and event["user_id"] == alice.pk
    # Fixed words only: a duplicated key, say, is the client's text and never logged.
    assert event["reason"] in {
        "not a text frame",
        "not a JSON object",
        "duplicate key",
        "nested deeper",
        "NaN or Infinity",
        "not valid JSON",
    }, event["reason"]
    for record in caplog.records:
        assert record.levelno < logging.ERROR and record.exc_info is None
        assert not (isinstance(record.msg, dict) and "exception" in record.msg)
    assert await message_count() == 0


async def test_a_json_object_as_deep_as_the_api_allows_is_still_a_question(alice, company, english):
    comm = plain_socket(alice)
    assert (await comm.connect())[0]
    try:
        # 32 levels: the API's limit, not beyond it. The question itself is missing.
        await comm.send_to(text_data='{"a":' * 31 + "{}" + "}" * 31)
        frame = await comm.receive_from(timeout=5)
    finally:
        await comm.disconnect()
    assert "Write a question." in frame


# --- text that is not storable -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (r'{"message": "a\u0000b"}', "Null characters are not allowed."),
        (r'{"message": "\ud800"}', "Surrogate characters are not allowed."),
        (r'{"message": "izin \udfff nasil"}', "Surrogate characters are not allowed."),
    ],
)
async def test_a_question_the_database_could_not_store_is_refused_and_the_socket_stays_open(
    alice, company, english, caplog, raw, error
):
    comm = plain_socket(alice)
    assert (await comm.connect())[0]
    try:
        await comm.send_to(text_data=raw)
        frame = await comm.receive_from(timeout=5)
        assert 'id="composer-error"' in frame and error in frame
        assert 'id="chat-state" class=""' in frame
        assert await message_count() == 0
        # Still open: the next question is answered.
        assert "İK Portalı" in await ask(comm, "Yıllık izin talebi nereden yapılır?")
    finally:
        await comm.disconnect()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    contents = await database_sync_to_async(lambda: list(Message.objects.values_list("content", flat=True)))()
    assert len(contents) == 2 and not any("\x00" in c for c in contents)
