"""The chat API: one JSON answer, or the same as Server-Sent Events."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.utils import translation
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, renderer_classes
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from chatcore.api import error_response

from ..answering import Event, ask
from ..selectors import conversation_get, message_get
from ..services import message_set_feedback
from .serializers import ChatRequestSerializer, ChatResponseSerializer, FeedbackSerializer


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


def _sse(events: Iterator[Event]) -> Iterator[str]:
    names = {"token": "token", "notice": "notice", "reset": "reset", "sources": "sources", "done": "done",
             "started": "started"}
    try:
        for event in events:
            yield f"event: {names[event.kind]}\ndata: {json.dumps(event.data, ensure_ascii=False)}\n\n"
    except Exception as exc:  # the stream is already open: report in-band
        yield f"event: error\ndata: {json.dumps({'message': str(exc) or exc.__class__.__name__})}\n\n"


@extend_schema(
    request=ChatRequestSerializer,
    responses={200: ChatResponseSerializer, 400: OpenApiResponse(description="Empty or over-long message"),
               404: OpenApiResponse(description="Conversation not found (or not yours)")},
    description="Ask a question. With `Accept: text/event-stream` the answer streams as SSE events "
                "`started`, `token` (repeated), `notice`/`reset` (provider fallback), `sources`, `done`, `error`.",
)
@api_view(["POST"])
@renderer_classes([JSONRenderer, EventStreamRenderer])
def chat(request: Request) -> Response | StreamingHttpResponse:
    serializer = ChatRequestSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    conversation = None
    conversation_id = serializer.validated_data.get("conversation")
    if conversation_id:
        conversation = conversation_get(user=request.user, conversation_id=conversation_id)
        if conversation is None:
            return error_response(code="not_found", message="No such conversation.", status_code=404)
    events = ask(user=request.user, question=serializer.validated_data["message"], conversation=conversation)
    if request.accepted_renderer.media_type == "text/event-stream":
        events = _in_language(events, translation.get_language())
        response = StreamingHttpResponse(_sse(events), content_type="text/event-stream; charset=utf-8")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
    done = None
    for event in events:
        if event.kind == "done":
            done = event.data
    return Response(ChatResponseSerializer(done).data)


@extend_schema(request=FeedbackSerializer, responses={200: FeedbackSerializer,
                                                      404: OpenApiResponse(description="Not your answer")})
@api_view(["POST"])
def message_feedback(request: Request, message_id: int) -> Response:
    """Rate an answer: 1 (helpful), -1 (not helpful) or null (clear)."""
    serializer = FeedbackSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    message = message_get(user=request.user, message_id=message_id)
    if message is None or message.role != "assistant":
        return error_response(code="not_found", message="No such answer.", status_code=404)
    message_set_feedback(message=message, value=serializer.validated_data["value"])
    return Response({"value": message.feedback})
