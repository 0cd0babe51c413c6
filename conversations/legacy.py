"""The legacy import's conversations and their messages (TinyDB ``conversations.json``).

Conversations are matched by their id and messages by their legacy message id, so a re-run
changes nothing; a conversation id that already belongs to another user is a problem, never a
takeover. Run by ``migrate_legacy`` (``chatcore.legacy``) with the other apps' parts, in one
transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accounts.models import User
from chatcore.legacy_json import Problem, Tally, TinyDBReader, printable

from .models import ID_PATTERN, Conversation, Message

CONVERSATION_ID = re.compile(f"^{ID_PATTERN}$")
MESSAGE_ROLES = {r.value for r in Message.Role}
# Message.token_count is a PositiveIntegerField: PostgreSQL's integer holds no more
# (SQLite would), and a file must import alike on both.
TOKEN_COUNT_MAX = 2**31 - 1


@dataclass
class MessageRecord:
    legacy_id: str
    role: str
    content: str
    created_at: dt.datetime
    used_documents: list[dict]
    token_count: int


@dataclass
class ConversationRecord:
    record_id: str
    conversation_id: str
    username: str
    title: str
    created_at: dt.datetime
    updated_at: dt.datetime
    messages: list[MessageRecord]


def _read_messages(reader: TinyDBReader, raw_messages: Any, file: str, record: str) -> list[MessageRecord] | None:
    if raw_messages is None:
        return []
    if not isinstance(raw_messages, list):
        reader.problem(file, record, "field messages: expected a list")
        return None
    messages: list[MessageRecord] = []
    seen: set[str] = set()
    before = len(reader.problems)
    for index, raw in enumerate(raw_messages):
        where = f"{record} message #{index + 1}"
        if not isinstance(raw, dict):
            reader.problem(file, where, "must be a JSON object")
            continue
        legacy_id = raw.get("message_id")
        # Compared as stored (at most 128 characters): the database holds each once.
        legacy_id = (str(legacy_id) if legacy_id not in (None, "") else f"#{index + 1}")[:128]
        if legacy_id in seen:
            reader.problem(file, where, f"duplicate message_id {printable(legacy_id, 40)!r}")
        seen.add(legacy_id)
        role = raw.get("role")
        if not isinstance(role, str) or role not in MESSAGE_ROLES:
            reader.problem(file, where, f"field role: {role!r} is not one of user, assistant, system")
        content = raw.get("content")
        if not isinstance(content, str):
            reader.problem(file, where, "field content: expected text")
        created_at = reader.when(raw.get("timestamp"), file, where, "timestamp", required=True)
        used = raw.get("used_documents") or []
        used_documents = []
        if not isinstance(used, list):
            reader.problem(file, where, "field used_documents: expected a list of document ids")
        else:
            for item in used:
                # Legacy entries are keys; later versions wrote {"key"/"id", "score"} objects.
                if isinstance(item, str) and item:
                    used_documents.append({"key": item, "score": None})
                elif isinstance(item, dict) and isinstance(item.get("key") or item.get("id"), str):
                    score = item.get("score")
                    used_documents.append(
                        {
                            "key": item.get("key") or item.get("id"),
                            "score": score if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
                        }
                    )
                else:
                    reader.problem(file, where, f"field used_documents: {item!r} is not a document id")
        token_count = raw.get("token_count", 0) or 0
        if isinstance(token_count, bool) or not isinstance(token_count, int) or not 0 <= token_count <= TOKEN_COUNT_MAX:
            reader.problem(file, where, f"field token_count: expected a whole number from 0 to {TOKEN_COUNT_MAX}")
            token_count = 0
        if len(reader.problems) == before:
            messages.append(MessageRecord(legacy_id, role, content, created_at, used_documents, token_count))
    return messages if len(reader.problems) == before else None


def read_conversations(reader: TinyDBReader, path: Path, usernames: set[str], tally: Tally) -> list[ConversationRecord]:
    conversations: list[ConversationRecord] = []
    seen: set[str] = set()
    for doc_id, raw in reader.records(path, "conversations", label="conversation_id"):
        file, before = path.name, len(reader.problems)
        conversation_id = raw.get("conversation_id")
        record = str(conversation_id or doc_id)
        if not isinstance(conversation_id, str) or not CONVERSATION_ID.match(conversation_id):
            reader.problem(file, record, "field conversation_id: expected 1-64 letters, digits, - or _")
        elif conversation_id in seen:
            reader.problem(file, record, "duplicate conversation_id")
        username = reader.text(raw, "username", file, record, required=True)
        title = reader.text(raw, "title", file, record)
        created_at = reader.when(raw.get("created_at"), file, record, "created_at", required=True)
        updated_at = reader.when(raw.get("updated_at"), file, record, "updated_at", required=False)
        messages = _read_messages(reader, raw.get("messages"), file, record)
        if len(reader.problems) > before or messages is None:
            continue
        seen.add(conversation_id)
        if username not in usernames:
            tally.skipped.append((file, record, f"user {username!r} does not exist"))
            continue
        last = max([created_at] + [m.created_at for m in messages])
        conversations.append(
            ConversationRecord(
                record_id=record,
                conversation_id=conversation_id,
                username=username,
                title=(title or "")[:200],
                created_at=created_at,
                updated_at=updated_at or last,
                messages=messages,
            )
        )
    return conversations


def claimed_by_others(records: list[ConversationRecord], problems: list[Problem]) -> list[ConversationRecord]:
    """``records`` without those whose id already belongs to another user here (each a problem)."""
    owners = dict(Conversation.objects.filter(id__in=[c.conversation_id for c in records]).values_list("id", "owner__username"))
    kept = []
    for conversation in records:
        owner = owners.get(conversation.conversation_id)
        if owner is not None and owner != conversation.username:
            problems.append(
                Problem(
                    "conversations.json", conversation.record_id, f"conversation id already belongs to another user ({owner!r})"
                )
            )
        else:
            kept.append(conversation)
    return kept


def apply_conversations(records: list[ConversationRecord], tally: Tally) -> None:
    """Create or update the conversations of ``records`` and their messages (their owners exist by now)."""
    owners = {u.username: u for u in User.objects.filter(username__in={c.username for c in records})}
    for record in records:
        _apply_conversation(record, owners[record.username], tally)


def _apply_conversation(record: ConversationRecord, owner: User, tally: Tally) -> None:
    conversation = Conversation.objects.filter(id=record.conversation_id).first()
    fields = {"title": record.title, "created_at": record.created_at, "updated_at": record.updated_at}
    if conversation is None:
        conversation = Conversation(id=record.conversation_id, owner=owner, **fields)
        conversation.save(force_insert=True)
        tally.created["conversations"] += 1
        conversation_changed = None
    else:
        conversation_changed = any(getattr(conversation, k) != v for k, v in fields.items())
        for k, v in fields.items():
            setattr(conversation, k, v)

    existing = {m.legacy_id: m for m in conversation.messages.exclude(legacy_id="")}
    messages_changed = False
    new_messages = []
    for m in record.messages:
        values = {
            "role": m.role,
            "content": m.content,
            "created_at": m.created_at,
            "used_documents": m.used_documents,
            "token_count": m.token_count,
        }
        current = existing.get(m.legacy_id)
        if current is None:
            new_messages.append(Message(conversation=conversation, legacy_id=m.legacy_id, **values))
        elif any(getattr(current, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(current, k, v)
            current.save()
            tally.updated["messages"] += 1
            messages_changed = True
        else:
            tally.unchanged["messages"] += 1
    # bulk_create keeps list order, so ids follow the legacy message order.
    Message.objects.bulk_create(new_messages)
    tally.created["messages"] += len(new_messages)
    messages_changed = messages_changed or bool(new_messages)

    count = conversation.messages.count()
    if conversation_changed is not None:
        if conversation_changed or messages_changed or conversation.message_count != count:
            conversation.message_count = count
            conversation.save()
            tally.updated["conversations"] += 1
        else:
            tally.unchanged["conversations"] += 1
    elif conversation.message_count != count:
        conversation.message_count = count
        conversation.save(update_fields=["message_count"])
