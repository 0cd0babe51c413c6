"""The chat pages: ``/`` and ``/c/<id>/``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from knowledge.selectors import documents_visible_to

from .models import Conversation
from .selectors import conversation_get, conversation_list, message_get, message_list
from .services import message_set_feedback


def _conversation_for(request: HttpRequest, conversation_id: str) -> Conversation:
    """The requesting user's conversation; 404 for strangers and unknown ids alike."""
    conversation = conversation_get(user=request.user, conversation_id=conversation_id)
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


def _sidebar(request: HttpRequest) -> dict:
    return {"conversations": conversation_list(user=request.user)[:100]}


@login_required
@require_GET
def chat(request: HttpRequest) -> HttpResponse:
    return render(request, "conversations/chat.html", {**_sidebar(request), "conversation": None, "messages_": []})


@login_required
@require_GET
def conversation_detail(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conversation = _conversation_for(request, conversation_id)
    messages_ = list(message_list(conversation=conversation))
    cited = {key for m in messages_ for key in m.cited_keys}
    # Only link citations the viewer may open; others show as plain keys.
    titles = dict(documents_visible_to(user=request.user).filter(key__in=cited).values_list("key", "title"))
    for message in messages_:
        message.sources = [
            {"n": item.get("n") or i, "key": item["key"], "title": titles.get(item["key"])}
            for i, item in enumerate(message.used_documents, 1) if isinstance(item, dict) and item.get("key")
        ]
    context = {**_sidebar(request), "conversation": conversation, "messages_": messages_}
    return render(request, "conversations/chat.html", context)


@login_required
@require_POST
def message_feedback(request: HttpRequest, message_id: int) -> HttpResponse:
    """Thumbs up/down from the page; pressing the same thumb again clears it."""
    message = message_get(user=request.user, message_id=message_id)
    if message is None or message.role != "assistant":
        raise Http404("No such answer.")
    try:
        value = int(request.POST.get("value", ""))
    except ValueError:
        return HttpResponse("Feedback is 1 or -1.", status=400)
    if value not in (1, -1):
        return HttpResponse("Feedback is 1 or -1.", status=400)
    message_set_feedback(message=message, value=None if message.feedback == value else value)
    return render(request, "conversations/_feedback.html", {"m": message})
