"""Writes for conversations and messages."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .models import Conversation, new_conversation_id

MAX_ID_ATTEMPTS = 8
MAX_TITLE_CHARS = 200


def conversation_create(*, user: User, title: str = "") -> Conversation:
    """A conversation with a fresh short id. A collision (astronomically rare)
    is caught by the primary key and retried with a new id; ``force_insert``
    guarantees an existing conversation is never overwritten."""
    now = timezone.now()
    for _attempt in range(MAX_ID_ATTEMPTS):
        conversation = Conversation(id=new_conversation_id(), owner=user, title=title[:200], created_at=now, updated_at=now)
        try:
            with transaction.atomic():
                conversation.save(force_insert=True)
        except IntegrityError:
            continue
        return conversation
    raise RuntimeError("Could not allocate a conversation id; the id generator is broken.")


def conversation_rename(*, conversation: Conversation, title: str) -> Conversation:
    """A new title, stripped, 1–200 characters. Renaming leaves ``updated_at`` alone,
    so the conversation keeps its place in the list."""
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": [_("Write a title.")]}, code="required")
    if len(title) > MAX_TITLE_CHARS:
        raise ValidationError(
            {"title": [_("A title may be at most %(limit)d characters.") % {"limit": MAX_TITLE_CHARS}]},
            code="max_length",
        )
    conversation.title = title
    conversation.save(update_fields=["title"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    """The conversation and its messages (CASCADE)."""
    conversation.delete()


def message_set_feedback(*, message, value: int | None):
    """+1, -1, or None to clear; only on assistant answers."""
    from .models import Message

    if message.role != Message.Role.ASSISTANT:
        raise ValueError("Only answers take feedback.")
    if value not in (1, -1, None):
        raise ValueError("Feedback is 1, -1 or null.")
    message.feedback = value
    message.save(update_fields=["feedback"])
    return message
