"""The answer pipeline: one entry, ``answer_events(user, question, history)``,
used by the chat socket, the chat API (JSON and SSE) and ``eval_chat``.

question → exact answer from the structured documents when the question is about
them (``structured``) → otherwise hybrid retrieval for this user → answer cache →
provider, falling back to ``LLM_FALLBACK_PROVIDER`` with a notice. The caller
stores the question and the answer; this module only computes and streams.

Events: ``meta`` (provider, model, cached, sources: sent before the first token
and again after a ``reset``), ``token``, ``notice``, ``reset``. A caller that stops
reading ends the generator; nothing is cached then. Generative providers are
offered ``find_documents`` (``llm.tools``), run as the asker; the documents it
returns are appended to the ``sources`` list the ``meta`` event carries.
"""

from __future__ import annotations

import contextvars
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import structlog
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from accounts.models import User
from knowledge.doctypes import get_doctype
from knowledge.queries import Record, knowledge_snapshot

from . import metrics
from .chunking import HR, STAFF
from .glossary import expand, phrase_translations
from .llm import Options, Provider, ProviderError, Source, get_provider
from .llm.local import _QUESTION_WORDS
from .llm.prompts import build_messages
from .llm.tools import Toolbox
from .procedures import measured_number, procedure_answer, wants_procedure
from .questions import FUNCTION_WORDS, analyse, strip_ending, term_vocabulary, topic_head
from .services import index_version, retrieve_sources, term_known
from .structured import StructuredAnswer, structured_answer
from .text import detect_language, fold, tokenize, words

log = structlog.get_logger(__name__)

HISTORY_MESSAGES = 6
# Called with the provider just before it writes the answer: the caller's cue that the answer's
# own CPU work is done when a remote model writes it (see ``conversations.workers``).
BEFORE_WRITING: contextvars.ContextVar = contextvars.ContextVar("before_writing", default=None)
# The model recorded for an answer the offline answerer took as it is from the structured documents.
EXACT_MODEL = "structured-v1"


@dataclass
class Event:
    kind: str  # meta, token, notice, reset
    data: dict = field(default_factory=dict)


def record_source(n: int, record: Record, snapshot=None) -> Source:
    """A structured document as a citable source; its text is the viewer's view
    (sensitive fields already gone, links to hidden documents left out)."""
    body = snapshot.shown_body(record) if snapshot is not None else record.body
    text = get_doctype(record.doc_type).as_text(body, hr=True)
    return Source(n=n, key=record.key, doc_type=record.doc_type, title=record.title, score=1.0, passages=(text,))


def cache_key(*, user: User, question: str, provider: Provider, version: int, sources: list[Source]) -> str:
    """Everything that changes what this asker may be told: who (and as which
    view: a role change never serves an answer built for the old role, nor does a
    new employee link), the question, the provider and model, the index version
    and the documents the answer may cite."""
    normalised = " ".join(fold(question).split())
    view = HR if user.is_hr else STAFF
    material = "\x1f".join(
        [
            str(user.pk),
            view,
            str(getattr(user, "role", "")),
            user.employee_key or "",
            normalised,
            provider.name,
            provider.model,
            str(version),
            ",".join(s.key for s in sources),
        ]
    )
    return "answer:" + hashlib.sha256(material.encode("utf-8")).hexdigest()


def _words(messages: list[dict]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in messages)


def answer_events(
    *,
    user: User,
    question: str,
    history: list[dict] | None = None,
    language: str | None = None,
    provider_name: str | None = None,
    use_cache: bool = True,
) -> Iterator[Event]:
    """Stream the answer to ``question`` for ``user``. ``history`` holds the
    conversation's earlier turns, oldest first: ``{"role", "content", "sources"}``
    where ``sources`` are the keys an assistant turn cited."""
    history = (history or [])[-HISTORY_MESSAGES:]
    snapshot = knowledge_snapshot(user=user)
    # One reading of the question serves its language and the exact answer.
    analysis = analyse(question, snapshot)
    language = language or analysis.language
    # "The policy on pets": what the question says it is about appears in no document. Whatever came
    # before in the conversation, say so, naming it as the question did (a typo shows itself), cite nothing.
    missing = unknown_topic(question, language=language, user=user)
    exact = (
        None
        if missing
        else structured_answer(
            user=user, question=question, history=history, snapshot=snapshot, language=language, analysis=analysis
        )
    )
    asker_key = getattr(user, "employee_key", "") or ""
    found = None
    if exact is not None and not exact.refusal and wants_procedure(question):
        # "Bilgi güvenliği olayını nasıl bildiririm?": steps of a procedure, not the department of that name.
        sources = retrieve_sources(user=user, question=question, history=history)
        found = procedure_answer(
            question=question, language=language, sources=sources, snapshot=snapshot, asker_key=asker_key, mine=analysis.mine
        )
        if found is not None:
            exact = None
    elif exact is not None and (not exact.refusal or exact.kind == "restricted"):
        # "How many failed login attempts lock an account?" is not about the Key Account Manager, nor
        # "İstifa edersem son maaşım ne zaman ödenir?" about a salary: words the record answer leaves
        # unexplained that a procedure speaks of make it the procedure's question.
        rest = unexplained_words(analysis)
        # A figure the records do not hold ("7.500 TL'lik alımı kim onaylar?") is a word of its own.
        if len(rest) >= 2 or (rest and measured_number(question)):
            sources = retrieve_sources(user=user, question=question, history=history)
            found = procedure_answer(
                question=question,
                language=language,
                sources=sources,
                snapshot=snapshot,
                asker_key=asker_key,
                mine=analysis.mine,
                needed=rest,
            )
            if found is not None:
                exact = None
    prepared = exact.text if exact is not None else None
    if missing:
        sources = []
        what = topic_head(question, language) or " ".join(missing)
        prepared = NOT_FOUND[language if language in NOT_FOUND else "en"].format(what=what)
    elif exact is not None:
        metrics.STRUCTURED_ANSWERS.labels(kind=exact.kind).inc()
        sources = [record_source(n, r, snapshot) for n, r in enumerate(exact.records, 1)]
    elif found is None:
        sources = retrieve_sources(user=user, question=question, history=history)
        if sources and not history and uncovered(question, user=user):
            # The question is about something no document mentions: say so, cite nothing.
            sources = []
        # A procedure found: its steps, a summary or a table row, from its structure.
        found = procedure_answer(
            question=question, language=language, sources=sources, snapshot=snapshot, asker_key=asker_key, mine=analysis.mine
        )
    provider = get_provider(provider_name)
    if found is not None and (found.kind == "structure" or provider.name == "local"):
        prepared, sources = found.text, [found.source]
    # A generative model answers one fact from the passages itself (the procedure's sentence is
    # what the offline answerer says).
    # A generative model may query the records itself, as the asker; what it finds joins ``sources``.
    toolbox = Toolbox(user=user, snapshot=snapshot, sources=sources)
    options = Options(
        question=question,
        language=language,
        sources=sources,
        max_tokens=settings.LLM_MAX_TOKENS,
        timeout=settings.LLM_TIMEOUT,
        prepared=prepared,
        asker=_asker(user, snapshot),
        tools=toolbox,
        owner=user.pk,
    )
    messages = build_messages(
        question=question,
        language=language,
        sources=sources,
        history=history,
        asker=options.asker,
        prepared=options.prepared,
        tools=provider.name != "local",
    )
    # Exact answers cost a millisecond or two and depend on the conversation: never cached.
    key = None
    # A "not found" answer depends on the index version only, so it is cached like a written one.
    if use_cache and exact is None:
        key = cache_key(user=user, question=question, provider=provider, version=index_version(), sources=sources)
        cached = cache.get(key)
        (metrics.ANSWER_CACHE_MISSES if cached is None else metrics.ANSWER_CACHE_HITS).inc()
        if cached is not None:
            yield Event("meta", {"provider": cached["provider"], "model": cached["model"], "cached": True, "sources": sources})
            yield Event("token", {"text": cached["answer"]})
            return
    parts: list[str] = []
    fell_back = False
    for event in write_answer(provider=provider, messages=messages, options=options, exact=exact is not None):
        if event.kind == "token":
            parts.append(event.data["text"])
        elif event.kind == "reset":
            parts, fell_back = [], True
        yield event
    if toolbox.calls:
        log.info("tool_calls", provider=provider.name, calls=len(toolbox.calls), failed=sum(not c["ok"] for c in toolbox.calls))
    # An answer that used the tools cites what they returned: not reusable from the cache.
    if key is not None and not toolbox.calls and not fell_back:
        cache.set(
            key, {"answer": "".join(parts), "provider": provider.name, "model": provider.model}, settings.ANSWER_CACHE_SECONDS
        )


def write_answer(*, provider: Provider, messages: list[dict], options: Options, exact: bool = False) -> Iterator[Event]:
    """The provider writes the answer (``meta`` then ``token`` events); when it fails,
    ``LLM_FALLBACK_PROVIDER`` writes it instead after a ``notice`` and a ``reset``.
    Shared by the chat and ``eval_answers``, which brings its own sources."""
    sources = options.sources
    model = EXACT_MODEL if exact and provider.name == "local" else provider.model
    yield Event("meta", {"provider": provider.name, "model": model, "cached": False, "sources": sources})
    metrics.TOKENS_IN.labels(provider=provider.name).inc(_words(messages))
    hook = BEFORE_WRITING.get()
    if hook is not None:
        hook(provider)
    try:
        for token in provider.stream(messages, options):
            yield Event("token", {"text": token})
    except ProviderError as exc:
        log.warning("provider_failed", provider=provider.name, error=exc.message, retryable=exc.retryable)
        metrics.PROVIDER_ERRORS.labels(provider=provider.name).inc()
        fallback_name = settings.LLM_FALLBACK_PROVIDER
        if fallback_name == "none" or fallback_name == provider.name:
            raise
        metrics.PROVIDER_FALLBACKS.labels(provider=provider.name).inc()
        fallback = get_provider(fallback_name)
        metrics.TOKENS_IN.labels(provider=fallback.name).inc(_words(messages))
        # Interface text: in the reader's language, while the answer follows the question's.
        notice = _("%(provider)s did not answer; this answer comes from the offline answerer.") % {"provider": provider.name}
        yield Event("notice", {"text": notice})
        # A partial answer from the failed provider is replaced, not continued.
        yield Event("reset", {})
        model = EXACT_MODEL if exact and fallback.name == "local" else fallback.model
        yield Event("meta", {"provider": fallback.name, "model": model, "cached": False, "sources": sources})
        for token in fallback.stream(messages, options):
            yield Event("token", {"text": token})


# Verb endings and everyday words that say nothing about the topic of a question.
_VERB_ENDINGS = (
    "yor",
    "yorum",
    "yoruz",
    "meli",
    "mali",
    "meliyim",
    "maliyim",
    "mek",
    "mak",
    "ebilir",
    "abilir",
    "miyim",
    "miyiz",
    "ilir",
    "ulur",
    "ecek",
    "acak",
    "dir",
    "tir",
    "dur",
    "tur",
    "ir",
    "ur",
    "ar",
    "er",
)
_GENERIC = frozenset(
    """
there has have had our my me mine ask let show offer offers take takes care get got give make need want can may
must should would could please tell know any some company şirket şirketin şirkette firma
summarise summarize summary brief bullet bullets point points özetle özetler özet kısaca madde maddeler maddede
limit limits maximum minimum rate rates amount number deadline duration yearly annual monthly weekly daily
long often soon stay keep kept take taken put use used happen happens allowed
""".split()
)


def uncovered(question: str, *, user: User) -> bool:
    """Whether the question is about something no passage the asker may search
    mentions: in every sentence of it, all topic words, or at least half of three
    or more, appear nowhere, not even through the glossary ("Yemekhanenin bugünkü
    menüsü ne?", "Is there a company gym membership?"). Words count as present in
    any inflection (in Turkish, their four-letter prefix), so "hastalandığımda" meets
    "hastalık".
    Measured on XQuAD, where every question is answerable: 4 of 1,190 English (typos,
    rare words) and 0 of 1,190 Turkish questions are refused. A question whose other words do
    occur ("pets in the office") is not caught: that needs meaning, not words."""

    def knows(token: str) -> bool:
        return term_known(user=user, token=token)

    sentences = [s for s in re.split(r"(?<=[.!?])\s+", question) if s.strip()] or [question]
    return all(_sentence_uncovered(sentence, knows) for sentence in sentences)


_DESCRIBING = frozenset(
    """
only lone main first last next new old big small large great good best better current former latter same other
second third whole entire total usual typical general particular specific
""".split()
)

NOT_FOUND = {
    "en": "I could not find anything about “{what}” in the company knowledge.",
    "tr": "Şirket bilgilerinde “{what}” ile ilgili bir bilgi bulamadım.",
}


def unknown_topic(question: str, *, language: str, user: User) -> list[str]:
    """The words of what the question says it is about (``questions.topic_head``)
    that no passage the asker may search holds, in any form or through the glossary.
    Measured on XQuAD (all answerable): see the README, *Exact answers*."""
    head = topic_head(question, language)
    if not head:
        return []

    def knows(token: str) -> bool:
        return term_known(user=user, token=token)

    words_ = [w for w in head.split() if len(fold(w)) >= 3 and fold(w) not in FUNCTION_WORDS and not w.isdigit()]
    if language != "tr":
        # Words that describe rather than name ("the longest time", "the only divisor") say nothing of the topic.
        words_ = [w for w in words_ if not fold(w).endswith("est") and fold(w) not in _DESCRIBING]
    missing = []
    vocabulary = term_vocabulary()
    # "sick note": a word known only as part of a phrase the glossary translates ("rapor").
    in_phrases = set()
    for members, other in phrase_translations(tokenize(head)):
        if any(knows(t) for t in other):
            in_phrases |= members
    for word in words_:
        folded = fold(word)
        if folded in vocabulary or (strip_ending(folded) or folded) in vocabulary:
            continue  # a word of the schema ("status", "budget") is known even where no passage spells it out
        if len(folded) < 3 or folded in FUNCTION_WORDS or folded in _GENERIC:
            continue
        tokens = tokenize(word)
        stems = [t for t in tokens if not t.startswith("~")]
        if not stems:
            continue
        if language != "tr":
            tokens = stems
        if set(stems) & in_phrases:
            continue
        if not any(knows(t) for t in tokens + expand(stems)):
            missing.append(word)
    return missing


_FILLER = frozenset(
    tokenize(
        "must have need should can could would will get do does mean allowed here there gerek gerekir gerekiyor lazım "
        "olmalı olur nedir var yok company şirket"
    )
)


def unexplained_words(analysis) -> list[frozenset[str]]:
    """The question's content words (each as its stems) that no name, type, field or value
    the record answer read explains, nor any word of the schema: "failed", "login",
    "attempts", "lock" beside "account"."""
    spans = set()
    for hit in [*analysis.names, *analysis.terms, *analysis.values]:
        spans |= set(range(hit.start, hit.end))
    vocabulary = term_vocabulary()
    rest = []
    for word in analysis.words:
        folded = word.base
        if (
            word.i in spans
            or folded in FUNCTION_WORDS
            or len(folded) < 3
            or folded.isdigit()
            or folded in vocabulary
            or (strip_ending(folded) or folded) in vocabulary
        ):
            continue
        stems = frozenset(t for t in tokenize(word.text) if not t.startswith("~"))
        if stems and not stems & (_QUESTION_WORDS | _FILLER | FUNCTION_WORDS):
            rest.append(stems)
    return rest


def _sentence_uncovered(sentence: str, knows) -> bool:
    # Turkish endings need the prefix ("hastalandığımda" / "hastalık"); English has its stemmer,
    # and a prefix there would make "membership" known through "members".
    turkish = detect_language(sentence) == "tr"
    topic, unknown = 0, 0
    for word in words(sentence):
        folded = fold(word)
        tokens = tokenize(word)
        stems = [t for t in tokens if not t.startswith("~")]
        if not turkish:
            tokens = stems
        if (
            len(folded) < 3
            or folded in FUNCTION_WORDS
            or folded in _GENERIC
            or not stems
            or set(stems) <= _QUESTION_WORDS
            or folded.isdigit()
            or (len(folded) > 5 and folded.endswith(_VERB_ENDINGS))
        ):
            continue
        topic += 1
        if not any(knows(t) for t in tokens + expand(stems)):
            unknown += 1
    return topic > 0 and (unknown == topic or (topic >= 3 and unknown * 2 >= topic))


def _asker(user: User, snapshot) -> str:
    """Who is asking, for a generative model: role and, when linked, the employee."""
    record = snapshot.by_key().get(user.employee_key or "") if getattr(user, "employee_key", "") else None
    role = "HR" if user.is_hr else "employee"
    if record is None:
        return f"The asker is {user.display_name} ({role}); no employee record is linked to their account."
    return f"The asker is {record.title} (employee record {record.key}, role {role})."


__all__ = ["EXACT_MODEL", "Event", "StructuredAnswer", "answer_events", "cache_key", "record_source", "write_answer"]
