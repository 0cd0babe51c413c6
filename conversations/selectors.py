"""Reads of conversations, always scoped to their owner."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User

from .models import Conversation, Message


def conversation_list(*, user: User) -> QuerySet[Conversation]:
    return Conversation.objects.filter(owner=user).order_by("-updated_at")


def conversation_get(*, user: User, conversation_id: str) -> Conversation | None:
    """The user's conversation, or None for an unknown id or someone else's."""
    return Conversation.objects.filter(owner=user, id=conversation_id).first()


def message_list(*, conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.order_by("created_at", "id")


def message_get(*, user: User, message_id: int) -> Message | None:
    """A message in one of the user's conversations, or None."""
    return Message.objects.filter(id=message_id, conversation__owner=user).select_related("conversation").first()
