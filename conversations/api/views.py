"""The chat API: one JSON answer, or the same as Server-Sent Events."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator

import structlog
from django.core.exceptions import ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, StreamingHttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatcore.api import CursorPagination, error_response, error_responses
from retrieval.llm import ProviderError

from ..answering import Event, ask
from ..models import Conversation
from ..selectors import cited_documents, conversation_get, conversation_list, message_get, message_list
from ..services import conversation_create, conversation_delete, conversation_rename, message_set_feedback
from ..workers import SLOTS, Busy, LimitReached, run_for, within_limits
from .serializers import (
    ChatRequestSerializer,
    ChatResponseSerializer,
    ConversationCreateSerializer,
    ConversationListQuerySerializer,
    ConversationSerializer,
    ConversationUpdateSerializer,
    FeedbackSerializer,
    MessageSerializer,
)

log = structlog.get_logger(__name__)


class EventStreamRenderer(BaseRenderer):
    """Lets clients ask for ``text/event-stream``; the view streams the events itself."""

    media_type = "text/event-stream"
    format = "sse"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode() if data is not None else b""


def _in_language(events: Iterator[Event], language: str) -> Iterator[Event]:
    """The request's language for messages the pipeline writes while the stream is read,
    which happens after the view (and LocaleMiddleware) have returned."""
    try:
        while True:
            with translation.override(language):
                event = next(events, None)
            if event is None:
                return
            yield event
    finally:
        # A client that goes away closes this generator; the pipeline then stores the partial answer.
        events.close()


def _sse_event(kind: str, data: dict) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _sse_error(exc: Exception) -> str:
    """An error once the stream is open, reported in-band."""
    if isinstance(exc, LimitReached):
        return _sse_event("error", {"message": _slow_text(exc), "code": "timeout"})
    if isinstance(exc, ValidationError):
        return _sse_event("error", {"message": " ".join(m for msgs in exc.message_dict.values() for m in msgs)})
    if isinstance(exc, ProviderError):
        return _sse_event("error", {"message": exc.message})  # short, and never the key
    # Anything else is logged with its traceback; the client gets no internals.
    return _sse_event("error", {"message": _("Something went wrong while answering. Please try again.")})


def _sse(events: Iterator[Event]) -> Iterator[str]:
    """The answer as Server-Sent Events, read in the request's thread (WSGI)."""
    try:
        for event in events:
            yield _sse_event(event.kind, event.data)
    except Exception as exc:  # the stream is already open: report in-band
        if not isinstance(exc, (LimitReached, ValidationError, ProviderError)):
            log.exception("chat_answer_failed")
        yield _sse_error(exc)


async def _sse_run(run) -> AsyncIterator[str]:
    """The answer as Server-Sent Events under ASGI: a run (``workers``) as a socket's answer is, read
    on the event loop, so the stream holds no thread while a model writes. A client that goes away
    ends the run; ``AnswerStream.close`` waits until its partial answer is stored."""
    try:
        run.start()
        async for event in run.events():
            yield _sse_event(event.kind, event.data)
    except Exception as exc:  # noqa: BLE001 — the stream is already open: report in-band
        if not isinstance(exc, (LimitReached, ValidationError, ProviderError)):
            log.exception("chat_answer_failed", user_id=run.user.pk)
        with translation.override(run.language):
            yield _sse_error(exc)
    finally:
        run.cancel()


class AnswerStream(StreamingHttpResponse):
    """A streamed answer that gives its answer slot back when the response is closed — after
    the last part, or when the client has gone, even before the stream started. Under ASGI,
    closing waits (at most ``CLOSE_WAIT_SECONDS``) until the answer's thread has stored it, so a
    request that has ended has its answer stored, whole or marked incomplete."""

    CLOSE_WAIT_SECONDS = 30

    def __init__(self, *args, release, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._release = release

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()


def _event_stream(parts, *, release) -> AnswerStream:
    response = AnswerStream(parts, release=release, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def take_slot(user):
    """Take an answer slot for ``user``; returns the call that gives it back (once)."""
    SLOTS.take(user.pk)
    given = threading.Event()

    def release() -> None:
        if not given.is_set():
            given.set()
            SLOTS.give(user.pk)

    return release


def _busy_response(busy: Busy) -> Response:
    headers = {"Retry-After": str(busy.retry_after)}
    if busy.scope == "user":
        return error_response(
            code="busy",
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers=headers,
            message=_("You have too many answers being written at once. Wait for one to finish."),
        )
    return error_response(
        code="busy",
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers=headers,
        message=_("The assistant is busy with other questions right now. Try again shortly."),
    )


def _slow_text(limit: LimitReached) -> str:
    if limit.what == "length":
        return str(_("The answer grew too long and was stopped. Please ask a narrower question."))
    if limit.what == "first_token":
        return str(_("The model did not start answering in time; the question was stopped. Please try again."))
    return str(_("The answer took too long and was stopped. Please try again."))


_EVENTS = ["started", "token", "notice", "reset", "sources", "done", "error"]


class ChatView(APIView):
    """Ask a question: one JSON answer, or the same as Server-Sent Events."""

    renderer_classes = [JSONRenderer, EventStreamRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        # No stream has started, so an error is a plain JSON response even for a client
        # that asked for text/event-stream.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        tags=["chat"],
        request=ChatRequestSerializer,
        responses={
            (200, "application/json"): ChatResponseSerializer,
            (200, "text/event-stream"): OpenApiResponse(
                inline_serializer(
                    "ChatEvent",
                    fields={
                        "event": serializers.ChoiceField(choices=_EVENTS),
                        "data": serializers.CharField(
                            help_text=(
                                "JSON. `started`: {conversation, user_message_id}; `token`: {text}; `notice`: {text}; "
                                "`reset`: {} (drop the tokens so far); `sources`: {sources}; `done`: the JSON answer; "
                                "`error`: {message}."
                            )
                        ),
                    },
                ),
                description="One `event:`/`data:` block per event: `started`, `token` (repeated), "
                "`notice` and `reset` (a provider failed; the offline answerer takes over), "
                "`sources`, `done`; `error` if the answer broke off.",
            ),
            **error_responses(
                400,
                401,
                404,
                405,
                406,
                413,
                415,
                429,
                media_type="application/json",
                _400="Empty or over-long (4,000 characters) message, malformed JSON, unknown field",
                _404="Conversation not found (or not yours)",
            ),
        },
        description="Ask a question. With `Accept: text/event-stream` (or `?format=sse`) the answer "
        "streams as Server-Sent Events; errors before the stream starts are JSON.",
    )
    def post(self, request: Request) -> Response | StreamingHttpResponse:
        serializer = ChatRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation = None
        conversation_id = serializer.validated_data.get("conversation")
        if conversation_id:
            conversation = conversation_get(user=request.user, conversation_id=conversation_id)
            if conversation is None:
                raise exceptions.NotFound(_("No such conversation."))
        question = serializer.validated_data["message"]
        streamed = request.accepted_renderer.media_type == "text/event-stream"
        if streamed and isinstance(request._request, ASGIRequest):
            run = run_for()(user=request.user, question=question, conversation=conversation, language=translation.get_language())
            try:
                run.reserve()
            except Busy as busy:
                return _busy_response(busy)
            return _event_stream(_sse_run(run), release=lambda: run.close(timeout=AnswerStream.CLOSE_WAIT_SECONDS))
        # One of the process's answer slots, or 429 (this user) / 503 (the server) with Retry-After.
        try:
            release = take_slot(request.user)
        except Busy as busy:
            return _busy_response(busy)
        try:
            events = within_limits(ask(user=request.user, question=question, conversation=conversation))
            if streamed:
                return _event_stream(_sse(_in_language(events, translation.get_language())), release=release)
            # No transaction around the model's answer: the question is stored, then the answer, each
            # in a short one. An answer that fails is stored as far as it got, marked incomplete.
            done = None
            try:
                for event in events:
                    if event.kind == "done":
                        done = event.data
            except LimitReached as limit:
                if limit.what == "length":
                    return error_response(
                        code="answer_too_long", message=_slow_text(limit), status_code=status.HTTP_502_BAD_GATEWAY
                    )
                return error_response(code="timeout", message=_slow_text(limit), status_code=status.HTTP_504_GATEWAY_TIMEOUT)
            return Response(ChatResponseSerializer(done).data)
        except BaseException:
            release()
            raise
        finally:
            if not streamed:
                release()


@extend_schema(
    tags=["chat"],
    request=FeedbackSerializer,
    responses={
        200: FeedbackSerializer,
        **error_responses(400, 401, 404, 405, 413, 415, 429, _404="No such answer (or not yours)"),
    },
)
@api_view(["POST"])
def message_feedback(request: Request, message_id: int) -> Response:
    """Rate an answer: 1 (helpful), -1 (not helpful) or null (clear)."""
    serializer = FeedbackSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    message = message_get(user=request.user, message_id=message_id)
    if message is None or message.role != "assistant":
        return error_response(code="not_found", message=_("No such answer."), status_code=404)
    message_set_feedback(message=message, value=serializer.validated_data["value"])
    return Response({"value": message.feedback})


# --- Conversations ------------------------------------------------------------------


def _conversation_for(request: Request, conversation_id: str) -> Conversation:
    """The caller's conversation; 404 for strangers, unknown and malformed ids alike."""
    conversation = conversation_get(user=request.user, conversation_id=conversation_id)
    if conversation is None:
        raise Http404(_("No such conversation."))
    return conversation


_NOT_YOURS = "No such conversation (unknown, malformed or not yours)"


class ConversationPagination(CursorPagination):
    ordering = ("-updated_at", "-id")


class MessagePagination(CursorPagination):
    ordering = ("created_at", "id")


class ConversationListView(APIView):
    """``GET``: my conversations, most recently active first. ``POST``: a new, empty one."""

    pagination_class = ConversationPagination

    @extend_schema(
        tags=["conversations"],
        parameters=[
            ConversationListQuerySerializer,
            OpenApiParameter("page_size", int, description="1-100, default 20"),
        ],
        responses={200: ConversationSerializer(many=True), **error_responses(400, 401, 429)},
        description="Only the caller's conversations, ordered by `updated_at` (newest first), a page at "
        "a time: follow `next` until it is null. `q` keeps those whose title or any message "
        "contains every word (case-insensitive, Turkish İ/ı too).",
    )
    def get(self, request: Request) -> Response:
        params = ConversationListQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        conversations = conversation_list(user=request.user, query=params.validated_data["q"])
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(conversations, request, view=self)
        return paginator.get_paginated_response(ConversationSerializer(page, many=True).data)

    @extend_schema(
        tags=["conversations"],
        request=ConversationCreateSerializer,
        responses={201: ConversationSerializer, **error_responses(400, 401, 413, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        serializer = ConversationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation = conversation_create(user=request.user, title=serializer.validated_data["title"])
        return Response(
            ConversationSerializer(conversation).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/conversations/{conversation.id}/"},
        )


class ConversationDetailView(APIView):
    @extend_schema(
        tags=["conversations"],
        responses={200: ConversationSerializer, **error_responses(401, 404, 429, _404=_NOT_YOURS)},
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        return Response(ConversationSerializer(_conversation_for(request, conversation_id)).data)

    @extend_schema(
        tags=["conversations"],
        request=ConversationUpdateSerializer,
        responses={200: ConversationSerializer, **error_responses(400, 401, 404, 413, 415, 429, _404=_NOT_YOURS)},
        description="Rename. The conversation keeps its place in the list (`updated_at` does not change).",
    )
    def patch(self, request: Request, conversation_id: str) -> Response:
        conversation = _conversation_for(request, conversation_id)
        serializer = ConversationUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation_rename(conversation=conversation, title=serializer.validated_data["title"])
        return Response(ConversationSerializer(conversation).data)

    @extend_schema(
        tags=["conversations"],
        responses={204: None, **error_responses(401, 404, 429, _404=_NOT_YOURS)},
        description="Delete the conversation and all its messages.",
    )
    def delete(self, request: Request, conversation_id: str) -> Response:
        conversation_delete(conversation=_conversation_for(request, conversation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageListView(APIView):
    """The messages of one of my conversations, oldest first."""

    pagination_class = MessagePagination

    @extend_schema(
        tags=["conversations"],
        parameters=[OpenApiParameter("page_size", int, description="1-100, default 20")],
        responses={200: MessageSerializer(many=True), **error_responses(400, 401, 404, 429, _404=_NOT_YOURS)},
        description="Oldest first, a page at a time: follow `next` until it is null.",
    )
    def get(self, request: Request, conversation_id: str) -> Response:
        conversation = _conversation_for(request, conversation_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(message_list(conversation=conversation), request, view=self)
        context = {"documents": cited_documents(user=request.user, messages=page)}
        return paginator.get_paginated_response(MessageSerializer(page, many=True, context=context).data)
