"""Workplace conversations with strict gold answers, asked through the answer
pipeline as the people they name: shared by ``eval_chat`` and its test.

A turn is right only when the answer holds every ``must`` string, none of
``must_not``, cites every key in ``cite``, cites nothing when ``refusal`` is true,
and has at most ``max_words`` words. The askers are created for the run inside a
transaction that is rolled back, so the database is left as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.db import transaction

from accounts.models import Role, User
from accounts.services import user_create
from knowledge.text import fold

from .answers import cited_sources, word_count
from .pipeline import answer_events
from .services import search_documents

CATEGORIES = (
    "lookup",
    "relation",
    "list",
    "count",
    "filter",
    "asker",
    "follow-up",
    "not-covered",
    "restricted",
    "hr",
    "fact",
    "steps",
    "table-row",
    "summary",
    "cross-language",
    "asker-rule",
)
TURN_FIELDS = {"q", "must", "must_not", "cite", "refusal", "max_words", "category"}


class EvalFileError(ValueError):
    pass


@dataclass
class Turn:
    question: str
    category: str
    must: list[str] = field(default_factory=list)
    must_not: list[str] = field(default_factory=list)
    cite: list[str] = field(default_factory=list)
    refusal: bool = False
    max_words: int = 0


@dataclass
class Conversation:
    asker: str
    turns: list[Turn]


@dataclass
class Outcome:
    turn: Turn
    answer: str
    cited: list[str]
    problems: list[str]
    ms: float
    # For a conversation's first turn that must cite one document: whether search alone puts
    # it in its top 3 (None: not measured).
    found: bool | None = None

    @property
    def right(self) -> bool:
        return not self.problems


def load(path: str | Path) -> tuple[dict[str, dict], list[Conversation]]:
    """The askers and conversations of an eval file; a clear error for a broken one."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise EvalFileError(f"{path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        raise EvalFileError(f"{path}: expected 'askers' and a list of 'conversations'")
    askers = data.get("askers") or {"employee": {"role": "employee"}}
    conversations = []
    for i, item in enumerate(data["conversations"], 1):
        where = f"{path}: conversation {i}"
        if not isinstance(item, dict) or not isinstance(item.get("turns"), list) or not item["turns"]:
            raise EvalFileError(f"{where}: needs a list of turns")
        asker = item.get("as", "employee")
        if asker not in askers:
            raise EvalFileError(f"{where}: unknown asker {asker!r}")
        turns = []
        for j, raw in enumerate(item["turns"], 1):
            if not isinstance(raw, dict) or not isinstance(raw.get("q"), str):
                raise EvalFileError(f"{where}, turn {j}: needs a question 'q'")
            unknown = set(raw) - TURN_FIELDS
            if unknown:
                raise EvalFileError(f"{where}, turn {j}: unknown fields {sorted(unknown)}")
            category = raw.get("category") or item.get("category")
            if category not in CATEGORIES:
                raise EvalFileError(f"{where}, turn {j}: category must be one of {', '.join(CATEGORIES)}")
            turns.append(
                Turn(
                    question=raw["q"],
                    category=category,
                    must=[str(s) for s in raw.get("must") or []],
                    must_not=[str(s) for s in raw.get("must_not") or []],
                    cite=[str(s) for s in raw.get("cite") or []],
                    refusal=bool(raw.get("refusal")),
                    max_words=int(raw.get("max_words") or 0),
                )
            )
        conversations.append(Conversation(asker=asker, turns=turns))
    return askers, conversations


def judge(turn: Turn, answer: str, cited: list[str]) -> list[str]:
    problems = []
    folded = fold(answer)
    missing = [s for s in turn.must if fold(s) not in folded]
    if missing:
        problems.append("missing " + ", ".join(repr(s) for s in missing))
    extra = [s for s in turn.must_not if fold(s) in folded]
    if extra:
        problems.append("must not say " + ", ".join(repr(s) for s in extra))
    uncited = [k for k in turn.cite if k not in cited]
    if uncited:
        problems.append("does not cite " + ", ".join(uncited))
    if turn.refusal and cited:
        problems.append("a refusal cites " + ", ".join(cited))
    words = word_count(answer)
    if turn.max_words and words > turn.max_words:
        problems.append(f"{words} words > {turn.max_words}")
    return problems


def run(
    conversations: list[Conversation], askers: dict[str, dict], *, provider: str | None = None, progress=lambda item: item
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with transaction.atomic():
        users = {name: _asker(name, spec) for name, spec in askers.items()}
        for conversation in progress(conversations):
            user = users[conversation.asker]
            history: list[dict] = []
            for turn in conversation.turns:
                started = time.perf_counter()
                sources, parts = [], []
                for event in answer_events(
                    user=user, question=turn.question, history=history, provider_name=provider, use_cache=False
                ):
                    if event.kind == "meta":
                        sources = event.data["sources"]
                    elif event.kind == "reset":
                        parts = []
                    elif event.kind == "token":
                        parts.append(event.data["text"])
                answer = "".join(parts)
                cited = [s.key for s in cited_sources(answer, sources)]
                outcome = Outcome(turn, answer, cited, judge(turn, answer, cited), (time.perf_counter() - started) * 1000)
                if len(turn.cite) == 1 and not history:
                    top = {hit.key for hit in search_documents(user=user, query=turn.question, k=3)}
                    outcome.found = turn.cite[0] in top
                outcomes.append(outcome)
                history += [
                    {"role": "user", "content": turn.question, "sources": []},
                    {"role": "assistant", "content": answer, "sources": cited},
                ]
        transaction.set_rollback(True)
    return outcomes


def _asker(name: str, spec: dict) -> User:
    role = spec.get("role", "employee")
    if role not in Role.values:
        raise EvalFileError(f"asker {name!r}: unknown role {role!r}")
    return user_create(username=f"eval-chat-{name}", role=role, employee_key=spec.get("employee") or "", full_name=f"Eval {name}")


def summarise(outcomes: list[Outcome]) -> dict:
    by_category: dict[str, list[bool]] = {}
    for outcome in outcomes:
        by_category.setdefault(outcome.turn.category, []).append(outcome.right)
    searched: dict[str, list[bool]] = {}
    for outcome in outcomes:
        if outcome.found is not None:
            searched.setdefault(outcome.turn.category, []).append(outcome.found)
    words = sorted(word_count(o.answer) for o in outcomes if o.turn.category == "lookup")
    facts = sorted(word_count(o.answer) for o in outcomes if o.turn.category == "fact")
    return {
        "turns": len(outcomes),
        "right": round(sum(o.right for o in outcomes) / len(outcomes), 4) if outcomes else 0.0,
        "categories": {c: round(sum(v) / len(v), 4) for c, v in by_category.items()},
        "lookup_median_words": words[len(words) // 2] if words else 0,
        "fact_median_words": facts[len(facts) // 2] if facts else 0,
        "p50_ms": round(sorted(o.ms for o in outcomes)[len(outcomes) // 2], 1) if outcomes else 0.0,
        # Search alone: the share of first questions whose one cited document is in its top 3.
        "search_top3": {c: round(sum(v) / len(v), 4) for c, v in searched.items()},
    }
