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
from importlib import import_module

import structlog
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib import auth
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.ratelimits import too_many_requests_text, user_hit
from chatcore.parsers import loads_strict

from .models import Conversation, Message
from .selectors import conversation_get
from .workers import Busy, LimitReached, run_for

log = structlog.get_logger(__name__)

# Close code for a frame that is not a JSON object (4000-4999: the application's own).
BAD_FRAME = 4400
BUSY = _("Wait for the current answer, or stop it first.")
BUSY_USER = _("You have too many answers being written at once. Wait for one to finish, then try again.")
BUSY_SERVER = _("The assistant is busy with other questions right now. Please try again in a few seconds.")
TOO_SLOW = _("The answer took too long and was stopped. Please try again.")
TOO_LONG = _("The answer grew too long and was stopped. Please ask a narrower question.")
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


_FRAME_ERRORS = (("duplicate key", "duplicate key"), ("nested deeper", "nested deeper"), ("is not valid JSON", "NaN or Infinity"))


def _frame_error(exc: ValueError) -> str:
    """What is wrong with a frame, in fixed words: the parser's message can quote the
    client's text (a duplicated key), which is never logged."""
    message = str(exc)
    return next((reason for marker, reason in _FRAME_ERRORS if marker in message), "not valid JSON")


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
            self.conversation = await database_sync_to_async(conversation_get)(user=self.user, conversation_id=conversation_id)
            if self.conversation is None:
                # Someone else's conversation looks exactly like one that does not exist.
                await self.close(code=4404)
                return
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self._stop()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs) -> None:
        """Frames are parsed as strictly as the API's bodies; one that is not a JSON object
        ends the socket with a clean close and one log line."""
        # A fresh request id per frame: a bad frame's log line must not carry the last question's.
        structlog.contextvars.bind_contextvars(request_id=uuid.uuid4().hex, user_id=getattr(self.user, "pk", None))
        reason = None
        if text_data is None:
            reason = "not a text frame"
        else:
            try:
                content = loads_strict(text_data)
            except ValueError as exc:
                reason = _frame_error(exc)
            else:
                if not isinstance(content, dict):
                    reason = "not a JSON object"
        if reason is not None:
            log.warning("ws_bad_frame", user_id=getattr(self.user, "pk", None), reason=reason)
            await self._stop()
            await self.close(code=BAD_FRAME)
            return
        await self.receive_json(content)

    async def receive_json(self, content: dict, **kwargs) -> None:
        # One request id per message (bound in ``receive``), as for an HTTP request; the answer
        # task started below copies this context, so its log lines (chat_answer) carry it too.
        action = content.get("action") or "ask"
        if action == "stop":
            await self._stop()
            return
        user, verdict = await database_sync_to_async(self._admit)()
        if user is None:
            # Signed out, revoked on /sessions/, deactivated or the password changed since
            # the socket opened: it ends here.
            await self._stop()
            await self.close(code=4401)
            return
        # Answers come from the role the user has now, not the one they had at connect.
        self.user = user
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

    def _admit(self):
        """The user as stored now (None when their sign-in no longer holds) and, for a user, the
        rate limiter's verdict: questions draw on the same per-user bucket as the API. One hop to
        the thread all sockets share, not two."""
        user = self._current_user()
        return user, (user_hit(user.pk) if user is not None else None)

    def _current_user(self) -> User | None:
        """The socket's user as stored now, if their sign-in still holds: the session still
        exists, names them, and matches their password (Django's own check), and the
        account is active."""
        session = self.scope.get("session")
        key = getattr(session, "session_key", None)
        if not key:
            # Not a cookie session (a test scope with a user only): the account alone.
            return User.objects.filter(pk=self.user.pk, is_active=True).first()
        request = HttpRequest()
        request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
        user = auth.get_user(request)
        if not user.is_authenticated or user.pk != self.user.pk or not user.is_active:
            return None
        return user

    def _last_question(self) -> str | None:
        if self.conversation is None:
            return None
        last = self.conversation.messages.filter(role=Message.Role.USER).order_by("-created_at", "-id").first()
        return last.content if last else None

    async def _answer(self, question) -> None:
        # A model's answer runs in a thread of its own (``workers``): the event loop, and every
        # other socket of this process, never waits for a model.
        run = run_for()(
            user=self.user, question=question, conversation=self.conversation, language=self.language, render=self._render_event
        )
        try:
            run.start()
        except Busy as busy:
            await self._send_error(BUSY_SERVER if busy.scope == "server" else BUSY_USER)
            return
        self.events = run
        try:
            async for event in run.events():
                await self._handle(event)
                if event.kind == "done":
                    # The page may ask again as soon as it has the answer: this task
                    # must already count as finished then.
                    break
        except ValidationError as exc:
            await self._send_error(" ".join(m for msgs in exc.message_dict.values() for m in msgs))
        except LimitReached as limit:
            log.warning("chat_answer_stopped", user_id=self.user.pk, limit=limit.what)
            await self._send_error(TOO_LONG if limit.what == "length" else TOO_SLOW)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Logged with its traceback; the page gets a message and leaves the busy state.
            log.exception("chat_answer_failed", user_id=self.user.pk)
            await self._send_error(FAILED)
        finally:
            if not (self.task is not None and self.task.cancelled()):
                self.events = None

    def _render_event(self, event) -> str:
        """The frame of a "started" or "done" event; runs in the answer's thread."""
        if event.kind == "started":
            self.pending = event.data
            created = self.conversation is None
            if created:
                self.conversation = event.extra.get("conversation") or conversation_get(
                    user=self.user, conversation_id=event.data["conversation"]
                )
            return self._render_started(
                event.data, created, question=event.extra.get("question"), first=True if event.extra.get("created") else None
            )
        return self._render_done(event.data)

    async def _handle(self, event) -> None:
        if event.kind in ("started", "done") and "html" in event.data:
            html = event.data["html"]
        elif event.kind == "token":
            html = f'<span hx-swap-oob="beforeend:#{self._slot("text")}">{escape(event.data["text"])}</span>'
        elif event.kind == "reset":
            html = f'<div id="{self._slot("text")}" class="answer-text" hx-swap-oob="true"></div>'
        elif event.kind == "notice":
            html = f'<p class="notice" hx-swap-oob="beforeend:#{self._slot("notices")}">{escape(event.data["text"])}</p>'
        else:
            return
        await self.send(text_data=html)

    def _slot(self, part: str) -> str:
        return f"answer-{self.pending['user_message_id']}-{part}"

    def _render(self, template: str, context: dict) -> str:
        with translation.override(self.language):
            return render_to_string(template, context)

    def _render_started(self, data: dict, created: bool, *, question: Message | None = None, first: bool | None = None) -> str:
        if question is None:
            question = Message.objects.get(id=data["user_message_id"])
        if first is None:
            first = not Message.objects.filter(conversation_id=question.conversation_id, id__lt=question.id).exists()
        return self._render(
            "conversations/ws_started.html",
            {
                "question": question,
                "pending_id": data["user_message_id"],
                "conversation": self.conversation,
                "first": first,
                "new_conversation": created,
            },
        )

    def _render_done(self, data: dict) -> str:
        message = Message.objects.get(id=data["message_id"])
        message.sources = data["sources"]
        # Read again for the sidebar: the conversation's new message count and date.
        conversation = Conversation.objects.only("id", "message_count", "updated_at").get(pk=message.conversation_id)
        return self._render(
            "conversations/ws_done.html",
            {
                "m": message,
                "pending_id": self.pending["user_message_id"],
                "conversation": conversation,
            },
        )

    async def _stop(self) -> None:
        task, run = self.task, self.events
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if run is not None:
            # The run stops at its next event, closes the provider's stream and stores the
            # partial answer, marked incomplete.
            run.cancel()
            await run.wait()
            self.events = None
            if getattr(self, "pending", None):
                last = await database_sync_to_async(
                    lambda: self.conversation.messages.filter(role=Message.Role.ASSISTANT).order_by("-id").first()
                )()
                if last is not None and self.scope.get("type") == "websocket":
                    with contextlib.suppress(Exception):
                        html = await database_sync_to_async(self._render_done)({"message_id": last.id, "sources": []})
                        await self.send(text_data=html)

    async def _send_error(self, text: str) -> None:
        with translation.override(self.language):
            text = str(text)
        await self.send(
            text_data=f'<p id="composer-error" class="field-error" role="alert" hx-swap-oob="true">'
            f'{escape(text)}</p><div id="chat-state" class="" hx-swap-oob="true"></div>'
        )
