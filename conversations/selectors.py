"""Reads of conversations, always scoped to their owner."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import User
from knowledge.models import Document
from knowledge.selectors import documents_visible_to
from knowledge.text import case_variants

from .models import ID_PATTERN, Conversation, Message

MAX_SEARCH_WORDS = 8


def conversation_list(*, user: User, query: str = "") -> QuerySet[Conversation]:
    """The user's conversations, newest first. With a query, only those whose title
    or any message contains every word of it, case-insensitively; each word is also
    tried in its Turkish case variants, since SQLite folds ASCII letters only."""
    conversations = Conversation.objects.filter(owner=user).order_by("-updated_at")
    for word in query.split()[:MAX_SEARCH_WORDS]:
        in_title, in_text = Q(), Q()
        for variant in case_variants(word):
            in_title |= Q(title__icontains=variant)
            in_text |= Q(content__icontains=variant)
        in_messages = Exists(Message.objects.filter(in_text, conversation=OuterRef("pk")))
        conversations = conversations.filter(in_title | in_messages)
    return conversations


def conversation_get(*, user: User, conversation_id: str) -> Conversation | None:
    """The user's conversation, or None for an unknown id, a malformed one or someone else's."""
    if not isinstance(conversation_id, str) or not re.fullmatch(ID_PATTERN, conversation_id):
        return None
    return Conversation.objects.filter(owner=user, id=conversation_id).first()


def message_list(*, conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.order_by("created_at", "id")


def message_get(*, user: User, message_id: int) -> Message | None:
    """A message in one of the user's conversations, or None."""
    return Message.objects.filter(id=message_id, conversation__owner=user).select_related("conversation").first()


def cited_documents(*, user: User, messages: Iterable[Message]) -> dict[str, Document]:
    """The documents ``messages`` cite that ``user`` may open today, by key."""
    keys = {key for message in messages for key in message.cited_keys}
    if not keys:
        return {}
    found = documents_visible_to(user=user).filter(key__in=keys).only("key", "doc_type", "title")
    return {document.key: document for document in found}
