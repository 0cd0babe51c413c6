"""The answer pipeline, used by the page, the WebSocket and the API alike:
validate → store the question → retrieve for this user → cache or provider
(falling back to the offline answer) → stream → store the answer with its sources,
tokens, provider, model and latency.

``ask`` yields events; a caller that stops reading (a closed socket) gets the
partial answer stored, marked incomplete.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from retrieval.answers import cited_sources
from retrieval.input_flags import flag_input
from retrieval.llm import Options, ProviderError, Source, get_provider
from retrieval.llm.prompts import build_messages
from retrieval.services import current_index, retrieve_sources
from retrieval.text import detect_language, fold

from . import metrics
from .models import Conversation, Message
from .services import conversation_create

log = structlog.get_logger(__name__)

MAX_QUESTION_CHARS = 4000
HISTORY_MESSAGES = 6



@dataclass
class Event:
    kind: str  # started, token, notice, sources, done
    data: dict = field(default_factory=dict)


def validate_question(question: object) -> str:
    if not isinstance(question, str) or not question.strip():
        raise ValidationError({"message": [_("Write a question.")]})
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise ValidationError(
            {"message": [_("A question may be at most %(limit)d characters.") % {"limit": MAX_QUESTION_CHARS}]})
    return question


def source_payload(source: Source) -> dict:
    return {"n": source.n, "key": source.key, "doc_type": source.doc_type, "title": source.title,
            "score": source.score, "url": reverse("document", args=[source.key])}


def _cache_key(*, user: User, question: str, provider, version: int, sources: list[Source]) -> str:
    normalised = " ".join(fold(question).split())
    material = "\x1f".join([str(user.pk), normalised, provider.name, provider.model, str(version),
                            ",".join(s.key for s in sources)])
    return "answer:" + hashlib.sha256(material.encode("utf-8")).hexdigest()


@transaction.atomic
def _store_message(conversation: Conversation, **fields) -> Message:
    now = timezone.now()
    message = Message.objects.create(conversation=conversation, created_at=now, **fields)
    Conversation.objects.filter(pk=conversation.pk).update(message_count=F("message_count") + 1, updated_at=now)
    return message


def _history(conversation: Conversation, before: Message) -> list[dict]:
    recent = (conversation.messages.filter(id__lt=before.id).exclude(role=Message.Role.SYSTEM)
              .order_by("-created_at", "-id")[:HISTORY_MESSAGES])
    return [{"role": m.role, "content": m.content} for m in reversed(list(recent))]


def _words(messages: list[dict]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in messages)


def _observe(*, provider: str, cached: bool, latency_ms: int, first_token_ms: float | None,
             tokens: int, complete: bool) -> None:
    labels = {"provider": provider, "cached": "true" if cached else "false"}
    if complete:
        metrics.CHAT_LATENCY.labels(**labels).observe(latency_ms / 1000)
    if first_token_ms is not None:
        metrics.CHAT_FIRST_TOKEN.labels(**labels).observe(first_token_ms / 1000)
    if not cached:
        metrics.TOKENS_OUT.labels(provider=provider).inc(tokens)


def ask(*, user: User, question: str, conversation: Conversation | None = None,
        provider_name: str | None = None) -> Iterator[Event]:
    question = validate_question(question)
    flag_input(text=question, user_id=user.pk, channel="chat")
    if conversation is None:
        conversation = conversation_create(user=user, title=question[:80])
    started = time.perf_counter()
    user_message = _store_message(conversation, role=Message.Role.USER, content=question,
                                  token_count=len(question.split()))
    yield Event("started", {"conversation": conversation.id, "user_message_id": user_message.id})

    language = detect_language(question)
    history = _history(conversation, user_message)
    sources = retrieve_sources(user=user, question=question, history=history)
    provider = get_provider(provider_name)
    key = _cache_key(user=user, question=question, provider=provider, version=current_index().version,
                     sources=sources)
    cached = cache.get(key)
    (metrics.ANSWER_CACHE_MISSES if cached is None else metrics.ANSWER_CACHE_HITS).inc()
    used_provider, used_model = provider.name, provider.model
    parts: list[str] = []
    complete = False
    first_token_ms = None
    try:
        if cached is not None:
            parts.append(cached["answer"])
            used_provider, used_model = cached["provider"], cached["model"]
            first_token_ms = (time.perf_counter() - started) * 1000
            yield Event("token", {"text": cached["answer"]})
        else:
            messages = build_messages(question=question, language=language, sources=sources, history=history)
            options = Options(question=question, language=language, sources=sources,
                              max_tokens=settings.LLM_MAX_TOKENS, timeout=settings.LLM_TIMEOUT)
            metrics.TOKENS_IN.labels(provider=provider.name).inc(_words(messages))
            try:
                for token in provider.stream(messages, options):
                    if first_token_ms is None:
                        first_token_ms = (time.perf_counter() - started) * 1000
                    parts.append(token)
                    yield Event("token", {"text": token})
            except ProviderError as exc:
                log.warning("provider_failed", provider=provider.name, error=exc.message, retryable=exc.retryable)
                metrics.PROVIDER_ERRORS.labels(provider=provider.name).inc()
                metrics.PROVIDER_FALLBACKS.labels(provider=provider.name).inc()
                fallback = get_provider("local")
                metrics.TOKENS_IN.labels(provider=fallback.name).inc(_words(messages))
                # Interface text: in the reader's language, while the answer follows the question's.
                notice = _("%(provider)s did not answer; this answer comes from the offline answerer.") % {
                    "provider": provider.name}
                yield Event("notice", {"text": notice})
                used_provider, used_model = fallback.name, fallback.model
                # A partial answer from the failed provider is replaced, not continued.
                parts = []
                yield Event("reset", {})
                for token in fallback.stream(messages, options):
                    if first_token_ms is None:
                        first_token_ms = (time.perf_counter() - started) * 1000
                    parts.append(token)
                    yield Event("token", {"text": token})
        complete = True
    finally:
        answer = "".join(parts)
        cited = cited_sources(answer, sources)
        latency_ms = int((time.perf_counter() - started) * 1000)
        message = _store_message(
            conversation, role=Message.Role.ASSISTANT, content=answer,
            used_documents=[{"n": s.n, "key": s.key, "score": s.score} for s in cited],
            token_count=len(answer.split()), provider=used_provider, model=used_model, latency_ms=latency_ms,
            cached=cached is not None, incomplete=not complete,
        )
        if complete and cached is None and used_provider == provider.name:
            cache.set(key, {"answer": answer, "provider": used_provider, "model": used_model},
                      settings.ANSWER_CACHE_SECONDS)
        _observe(provider=used_provider, cached=cached is not None, latency_ms=latency_ms,
                 first_token_ms=first_token_ms, tokens=message.token_count, complete=complete)
        log.info("chat_answer", user_id=user.pk, conversation=conversation.id, provider=used_provider,
                 cached=cached is not None, latency_ms=latency_ms,
                 first_token_ms=None if first_token_ms is None else round(first_token_ms),
                 tokens=message.token_count, complete=complete)
    payload = [source_payload(s) for s in cited]
    yield Event("sources", {"sources": payload})
    yield Event("done", {
        "conversation": conversation.id, "message_id": message.id, "answer": answer, "sources": payload,
        "provider": used_provider, "model": used_model, "cached": cached is not None,
        "token_count": message.token_count,
    })
