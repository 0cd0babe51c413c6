"""The chat pages: ``/`` and ``/c/<id>/``, and the sidebar's rename, delete and search."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from knowledge.selectors import documents_visible_to

from .models import Conversation
from .selectors import conversation_get, conversation_list, message_get, message_list
from .services import MAX_TITLE_CHARS, conversation_delete, conversation_rename, message_set_feedback

SIDEBAR_SIZE = 100


def _conversation_for(request: HttpRequest, conversation_id: str) -> Conversation:
    """The requesting user's conversation; 404 for strangers and unknown ids alike."""
    conversation = conversation_get(user=request.user, conversation_id=conversation_id)
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


def _open_conversation_id(request: HttpRequest) -> str | None:
    """The conversation the page shows. For htmx requests that is the page's
    current URL, which chat.js moves to ``/c/<id>/`` once a new conversation exists."""
    path = request.htmx.current_url_abs_path if request.htmx else request.path
    if not path:
        return None
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return match.kwargs.get("conversation_id") if match.url_name == "conversation" else None


def _sidebar(request: HttpRequest, *, open_id: str | None) -> dict:
    q = request.GET.get("q", "").strip()
    conversations = conversation_list(user=request.user, query=q)[:SIDEBAR_SIZE]
    return {"conversations": conversations, "q": q, "open_id": open_id}


def _item(request: HttpRequest, conversation: Conversation, *, status: int = 200, **extra) -> HttpResponse:
    context = {"c": conversation, "open_id": _open_conversation_id(request), "max_title": MAX_TITLE_CHARS, **extra}
    return render(request, "conversations/_conversation_item.html", context, status=status)


@login_required
@require_GET
def chat(request: HttpRequest) -> HttpResponse:
    context = {**_sidebar(request, open_id=None), "conversation": None, "messages_": []}
    return render(request, "conversations/chat.html", context)


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
            for i, item in enumerate(message.used_documents, 1)
            if isinstance(item, dict) and item.get("key")
        ]
    context = {**_sidebar(request, open_id=conversation.id), "conversation": conversation, "messages_": messages_}
    return render(request, "conversations/chat.html", context)


@login_required
@require_GET
def conversation_search(request: HttpRequest) -> HttpResponse:
    """The sidebar list filtered by ``?q=``; without htmx, the chat page with that list."""
    if not request.htmx:
        q = request.GET.get("q", "").strip()
        return redirect(reverse("chat") + (f"?{urlencode({'q': q})}" if q else ""))
    context = _sidebar(request, open_id=_open_conversation_id(request))
    return render(request, "conversations/chat.html#conversation-list", context)


@login_required
@require_http_methods(["GET", "POST"])
def conversation_rename_view(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """GET swaps the sidebar item for a rename form; POST saves and returns the item."""
    conversation = _conversation_for(request, conversation_id)
    if request.method == "GET":
        return _item(request, conversation, renaming=True, title=conversation.title)
    title = request.POST.get("title", "")
    try:
        conversation_rename(conversation=conversation, title=title)
    except ValidationError as exc:
        return _item(request, conversation, status=400, renaming=True, title=title, errors=exc.messages)
    return _item(request, conversation, renamed=True)


@login_required
@require_POST
def conversation_delete_view(request: HttpRequest, conversation_id: str) -> HttpResponse:
    conversation = _conversation_for(request, conversation_id)
    was_open = _open_conversation_id(request) == conversation.id
    conversation_delete(conversation=conversation)
    if not request.htmx:
        return redirect("chat")
    if was_open:
        # The page shows a conversation that no longer exists: start afresh.
        return HttpResponseClientRedirect(reverse("chat"))
    return HttpResponse("")


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
        value = None
    if value not in (1, -1):
        return HttpResponse(_("Feedback is 1 or -1."), status=400)
    message_set_feedback(message=message, value=None if message.feedback == value else value)
    return render(request, "conversations/_feedback.html", {"m": message})
