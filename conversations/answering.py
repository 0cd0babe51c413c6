"""Storing and relaying an answer, for the page, the WebSocket and the API alike:
validate → store the question → ``retrieval.pipeline.answer_events`` (exact
answers, retrieval, cache, provider and fallback) → relay its events → store the
answer with its sources, tokens, provider, model and latency.

``ask`` yields events; a caller that stops reading (a closed socket) gets the
partial answer stored, marked incomplete.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from retrieval.answers import renumber_citations
from retrieval.input_flags import flag_input
from retrieval.llm import Source
from retrieval.pipeline import answer_events

from . import metrics
from .models import Conversation, Message
from .services import conversation_create

log = structlog.get_logger(__name__)

MAX_QUESTION_CHARS = 4000
HISTORY_MESSAGES = 6


@dataclass
class Event:
    kind: str  # started, token, notice, reset, sources, done
    data: dict = field(default_factory=dict)
    # Objects for a reader in this process (the question's message, its conversation), so a page
    # frame need not read them again; never sent to a client.
    extra: dict = field(default_factory=dict, repr=False, compare=False)


def validate_question(question: object) -> str:
    if not isinstance(question, str) or not question.strip():
        raise ValidationError({"message": [_("Write a question.")]})
    question = question.strip()
    # As the API's fields: no NUL (PostgreSQL cannot store it) and no lone surrogate
    # (not text at all; a JSON frame can spell one as an escape).
    if "\x00" in question:
        raise ValidationError({"message": [_("Null characters are not allowed.")]})
    if any("\ud800" <= ch <= "\udfff" for ch in question):
        raise ValidationError({"message": [_("Surrogate characters are not allowed.")]})
    if len(question) > MAX_QUESTION_CHARS:
        raise ValidationError({"message": [_("A question may be at most %(limit)d characters.") % {"limit": MAX_QUESTION_CHARS}]})
    return question


def source_payload(source: Source) -> dict:
    return {
        "n": source.n,
        "key": source.key,
        "doc_type": source.doc_type,
        "title": source.title,
        "score": source.score,
        "url": reverse("document", args=[source.key]),
    }


@transaction.atomic
def _store_question(conversation: Conversation, question: str) -> tuple[Message, Message]:
    """The question and, with it, its answer's message: empty and marked incomplete until the
    answer is written. Whatever happens between the two short transactions (a stopped answer, a
    database gone, a killed process), no question is left without an answer that says so."""
    now = timezone.now()
    asked = Message.objects.create(
        conversation=conversation, created_at=now, role=Message.Role.USER, content=question, token_count=len(question.split())
    )
    answer = Message.objects.create(
        conversation=conversation, created_at=now, role=Message.Role.ASSISTANT, content="", incomplete=True
    )
    # The answer counts once it is written: the sidebar says "1 message" while it is.
    Conversation.objects.filter(pk=conversation.pk).update(message_count=F("message_count") + 1, updated_at=now)
    # The same on the object the caller holds, which a page frame shows (exact for a new conversation).
    conversation.message_count += 1
    conversation.updated_at = now
    return asked, answer


@transaction.atomic
def _store_answer(conversation: Conversation, message: Message, **fields) -> Message:
    now = timezone.now()
    for name, value in fields.items():
        setattr(message, name, value)
    message.created_at = now
    message.save(update_fields=[*fields, "created_at"])
    Conversation.objects.filter(pk=conversation.pk).update(message_count=F("message_count") + 1, updated_at=now)
    return message


def _history(conversation: Conversation, before: Message) -> list[dict]:
    """Recent turns, oldest first, with the documents each answer cited: what a
    follow-up ("who else works on it?") is about."""
    recent = (
        conversation.messages.filter(id__lt=before.id)
        .exclude(role=Message.Role.SYSTEM)
        .order_by("-created_at", "-id")[:HISTORY_MESSAGES]
    )
    return [
        {
            "role": m.role,
            "content": m.content,
            "sources": [d.get("key") for d in (m.used_documents or []) if isinstance(d, dict) and d.get("key")],
        }
        for m in reversed(list(recent))
    ]


def _observe(*, provider: str, cached: bool, latency_ms: int, first_token_ms: float | None, tokens: int, complete: bool) -> None:
    labels = {"provider": provider, "cached": "true" if cached else "false"}
    if complete:
        metrics.CHAT_LATENCY.labels(**labels).observe(latency_ms / 1000)
    if first_token_ms is not None:
        metrics.CHAT_FIRST_TOKEN.labels(**labels).observe(first_token_ms / 1000)
    if not cached:
        metrics.TOKENS_OUT.labels(provider=provider).inc(tokens)


def ask(
    *, user: User, question: str, conversation: Conversation | None = None, provider_name: str | None = None
) -> Iterator[Event]:
    question = validate_question(question)
    flag_input(text=question, user_id=user.pk, channel="chat")
    created = conversation is None
    started = time.perf_counter()
    # A new conversation and its first question are stored in one transaction: one commit, and
    # never a conversation without its question.
    with transaction.atomic():
        if created:
            conversation = conversation_create(user=user, title=question[:80])
        user_message, answer_message = _store_question(conversation, question)
    yield Event(
        "started",
        {"conversation": conversation.id, "user_message_id": user_message.id},
        extra={"question": user_message, "conversation": conversation, "created": created},
    )

    history = [] if created else _history(conversation, user_message)
    meta = {"provider": "", "model": "", "cached": False, "sources": []}
    parts: list[str] = []
    complete = False
    first_token_ms = None
    try:
        for event in answer_events(user=user, question=question, history=history, provider_name=provider_name):
            if event.kind == "meta":
                meta = event.data
                continue
            if event.kind == "reset":
                parts = []
            elif event.kind == "token":
                if first_token_ms is None:
                    first_token_ms = (time.perf_counter() - started) * 1000
                parts.append(event.data["text"])
            yield Event(event.kind, event.data)
        complete = True
    finally:
        # Stored (and shown once finished) with its citations numbered in the order they appear.
        answer, cited = renumber_citations("".join(parts), meta["sources"])
        cached = bool(meta["cached"])
        latency_ms = int((time.perf_counter() - started) * 1000)
        message = _store_answer(
            conversation,
            answer_message,
            content=answer,
            used_documents=[{"n": s.n, "key": s.key, "score": s.score} for s in cited],
            token_count=len(answer.split()),
            provider=meta["provider"],
            model=meta["model"],
            latency_ms=latency_ms,
            cached=cached,
            incomplete=not complete,
        )
        _observe(
            provider=meta["provider"],
            cached=cached,
            latency_ms=latency_ms,
            first_token_ms=first_token_ms,
            tokens=message.token_count,
            complete=complete,
        )
        log.info(
            "chat_answer",
            user_id=user.pk,
            conversation=conversation.id,
            provider=meta["provider"],
            cached=cached,
            latency_ms=latency_ms,
            first_token_ms=None if first_token_ms is None else round(first_token_ms),
            tokens=message.token_count,
            complete=complete,
        )
    payload = [source_payload(s) for s in cited]
    yield Event("sources", {"sources": payload})
    yield Event(
        "done",
        {
            "conversation": conversation.id,
            "message_id": message.id,
            "answer": answer,
            "sources": payload,
            "provider": meta["provider"],
            "model": meta["model"],
            "cached": cached,
            "token_count": message.token_count,
        },
    )
