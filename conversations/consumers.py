"""The chat WebSocket: ``/ws/chat/<conversation id>/`` (``new`` starts a conversation).

The page's form (htmx ws extension) sends ``{"message": …}``, ``{"action": "stop"}``
or ``{"action": "regenerate"}``. The consumer answers with HTML fragments that htmx
swaps out of band: the question bubble at once, then the answer growing token by
token, then the finished answer (Markdown, sanitised) with its sources.

Its own words (errors, notices, labels in the fragments) are in the page's language,
chosen from the scope as LocaleMiddleware chooses it for a page; the answer itself
follows the language of the question.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import structlog
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from accounts.ratelimits import too_many_requests_text, user_hit

from .answering import ask
from .models import Conversation, Message
from .selectors import conversation_get

_END = object()
log = structlog.get_logger(__name__)

BUSY = _("Wait for the current answer, or stop it first.")
FAILED = _("Something went wrong while answering. Please try again.")


def language_from_scope(scope: dict) -> str:
    """The language switch's cookie, then Accept-Language, then ``LANGUAGE_CODE``:
    the same choice LocaleMiddleware makes for the page that opened the socket."""
    request = HttpRequest()
    request.COOKIES = scope.get("cookies") or {}
    for name, value in scope.get("headers") or []:
        if name.lower() == b"accept-language":
            request.META["HTTP_ACCEPT_LANGUAGE"] = value.decode("latin-1")
    return translation.get_language_from_request(request)


def _next(events, language: str):
    # The pipeline writes its messages (validation, fallback notice) while it runs.
    with translation.override(language):
        try:
            return next(events)
        except StopIteration:
            return _END


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.user = self.scope.get("user")
        self.task: asyncio.Task | None = None
        self.events = None
        self.language = language_from_scope(self.scope)
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=4401)
            return
        conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        self.conversation = None
        if conversation_id != "new":
            self.conversation = await database_sync_to_async(conversation_get)(
                user=self.user, conversation_id=conversation_id)
            if self.conversation is None:
                # Someone else's conversation looks exactly like one that does not exist.
                await self.close(code=4404)
                return
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self._stop()

    async def receive_json(self, content: dict, **kwargs) -> None:
        # One request id per message, as for an HTTP request; the answer task started
        # below copies this context, so its log lines (chat_answer) carry it too.
        structlog.contextvars.bind_contextvars(request_id=uuid.uuid4().hex, user_id=self.user.pk)
        action = content.get("action") or "ask"
        if action == "stop":
            await self._stop()
            return
        if not await self._session_alive():
            # Signed out or revoked on /sessions/ since the socket opened: it ends here.
            await self._stop()
            await self.close(code=4401)
            return
        # Questions draw on the same per-user bucket as the API.
        verdict = await sync_to_async(user_hit)(self.user.pk)
        if verdict.limited:
            with translation.override(self.language):
                await self._send_error(too_many_requests_text(verdict.retry_after))
            return
        if self.task is not None and not self.task.done():
            await self._send_error(BUSY)
            return
        if action == "regenerate":
            question = await database_sync_to_async(self._last_question)()
            if not question:
                return
        else:
            question = content.get("message")
        self.task = asyncio.create_task(self._answer(question))

    async def _session_alive(self) -> bool:
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        if not key:
            return True  # not a cookie session (e.g. a test scope with a user only)
        return await database_sync_to_async(session.exists)(key)

    def _last_question(self) -> str | None:
        if self.conversation is None:
            return None
        last = self.conversation.messages.filter(role=Message.Role.USER).order_by("-created_at", "-id").first()
        return last.content if last else None

    async def _answer(self, question) -> None:
        self.events = ask(user=self.user, question=question, conversation=self.conversation)
        try:
            while True:
                event = await database_sync_to_async(_next)(self.events, self.language)
                if event is _END:
                    break
                await self._handle(event)
                if event.kind == "done":
                    # The page may ask again as soon as it has the answer: this task
                    # must already count as finished then.
                    break
        except ValidationError as exc:
            await self._send_error(" ".join(m for msgs in exc.message_dict.values() for m in msgs))
        except asyncio.CancelledError:
            raise
        except Exception:
            # Logged with its traceback; the page gets a message and leaves the busy state.
            log.exception("chat_answer_failed", user_id=self.user.pk)
            await self._send_error(FAILED)
        finally:
            if not (self.task is not None and self.task.cancelled()):
                self.events = None

    async def _handle(self, event) -> None:
        if event.kind == "started":
            self.pending = event.data
            created = self.conversation is None
            if created:
                self.conversation = await database_sync_to_async(conversation_get)(
                    user=self.user, conversation_id=event.data["conversation"])
            html = await database_sync_to_async(self._render_started)(event.data, created)
        elif event.kind == "token":
            html = f'<span hx-swap-oob="beforeend:#{self._slot("text")}">{escape(event.data["text"])}</span>'
        elif event.kind == "reset":
            html = f'<div id="{self._slot("text")}" class="answer-text" hx-swap-oob="true"></div>'
        elif event.kind == "notice":
            html = f'<p class="notice" hx-swap-oob="beforeend:#{self._slot("notices")}">{escape(event.data["text"])}</p>'
        elif event.kind == "done":
            html = await database_sync_to_async(self._render_done)(event.data)
        else:
            return
        await self.send(text_data=html)

    def _slot(self, part: str) -> str:
        return f"answer-{self.pending['user_message_id']}-{part}"

    def _render(self, template: str, context: dict) -> str:
        with translation.override(self.language):
            return render_to_string(template, context)

    def _render_started(self, data: dict, created: bool) -> str:
        question = Message.objects.get(id=data["user_message_id"])
        first = not Message.objects.filter(conversation_id=question.conversation_id, id__lt=question.id).exists()
        return self._render("conversations/ws_started.html", {
            "question": question, "pending_id": data["user_message_id"], "conversation": self.conversation,
            "first": first, "new_conversation": created,
        })

    def _render_done(self, data: dict) -> str:
        message = Message.objects.get(id=data["message_id"])
        message.sources = data["sources"]
        # Read again for the sidebar: the conversation's new message count and date.
        conversation = Conversation.objects.only("id", "message_count", "updated_at").get(pk=message.conversation_id)
        return self._render("conversations/ws_done.html", {
            "m": message, "pending_id": self.pending["user_message_id"], "conversation": conversation,
        })

    async def _stop(self) -> None:
        task, events = self.task, self.events
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if events is not None:
            # Closing the generator stores the partial answer, marked incomplete.
            await database_sync_to_async(events.close)()
            self.events = None
            if getattr(self, "pending", None):
                last = await database_sync_to_async(
                    lambda: self.conversation.messages.filter(role=Message.Role.ASSISTANT).order_by("-id").first())()
                if last is not None and self.scope.get("type") == "websocket":
                    with contextlib.suppress(Exception):
                        html = await database_sync_to_async(self._render_done)(
                            {"message_id": last.id, "sources": []})
                        await self.send(text_data=html)

    async def _send_error(self, text: str) -> None:
        with translation.override(self.language):
            text = str(text)
        await self.send(text_data=f'<p id="composer-error" class="field-error" role="alert" hx-swap-oob="true">'
                                  f'{escape(text)}</p><div id="chat-state" class="" hx-swap-oob="true"></div>')
