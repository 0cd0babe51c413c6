"""Migrating the legacy system (JSON company files + TinyDB users, sessions and
conversations) without loss.

Everything is read and checked first; then, unless a strict run found
problems, one transaction writes it all. Running it again changes nothing: users
are matched by username, sessions by their legacy id, conversations by their id
and messages by their legacy message id. A user who already signed in keeps the
upgraded password hash, and a role or activity an admin changed here since the
import set it is kept (and reported): the new system wins over the legacy data.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation

from accounts.hashers import LegacyPBKDF2SHA256Hasher
from accounts.models import LoginSession, Role, User
from accounts.services import user_apply_role, user_create
from knowledge.importing import Problem, printable, read_json_file, repeated_keys, value_problems
from knowledge.models import Document
from knowledge.services import CompanyPlan, company_apply, company_plan

from .models import ID_PATTERN, Conversation, Message

HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
CONVERSATION_ID = re.compile(f"^{ID_PATTERN}$")
ROLES = {r.value for r in Role}
MESSAGE_ROLES = {r.value for r in Message.Role}
# The values an admin may change here that a re-run must not undo.
OWNED_HERE = ("role", "is_active")
# Message.token_count is a PositiveIntegerField: PostgreSQL's integer holds no more
# (SQLite would), and a file must import alike on both.
TOKEN_COUNT_MAX = 2**31 - 1


@dataclass
class Tally:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (file, record, reason)
    kept: list[str] = field(default_factory=list)  # "kept role employee for ayse (legacy says hr)"


@dataclass
class UserRecord:
    record_id: str
    username: str
    full_name: str
    email: str
    role: str
    employee_key: str
    is_active: bool
    created_at: dt.datetime | None
    encoded_password: str


@dataclass
class SessionRecord:
    record_id: str
    session_id: str
    username: str
    created_at: dt.datetime
    last_activity: dt.datetime
    expires_at: dt.datetime | None


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


@dataclass
class LegacyPlan:
    company: CompanyPlan
    users: list[UserRecord] = field(default_factory=list)
    sessions: list[SessionRecord] = field(default_factory=list)
    conversations: list[ConversationRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    # What a run would keep as changed here, for the dry run's report.
    kept: list[str] = field(default_factory=list)

    @property
    def all_problems(self) -> list[Problem]:
        return self.company.problems + self.problems


class _Reader:
    """Turns raw TinyDB records into checked records, collecting problems."""

    def __init__(self, tz: dt.tzinfo, problems: list[Problem]) -> None:
        self.tz = tz
        self.problems = problems

    def problem(self, file: str, record: str, reason: str) -> None:
        self.problems.append(Problem(file, record, reason))

    def table(self, path: Path, name: str) -> list[tuple[str, Any]] | None:
        data = read_json_file(path, self.problems, record_level=2)
        if data is None:
            return None
        if not isinstance(data, dict):
            self.problem(path.name, "", "must be a TinyDB file: a JSON object of tables")
            return None
        if name in repeated_keys(data):
            self.problem(path.name, "", f"table {name!r} is given more than once")
            return None
        table = data.get(name, {})
        if not isinstance(table, dict):
            self.problem(path.name, "", f"table {name!r} must be an object of records")
            return None
        # Two records under one id: neither is taken, since which one is meant is unknown.
        repeated = set(repeated_keys(table))
        for doc_id in sorted(repeated):
            self.problem(path.name, doc_id, f"record id given more than once in table {name!r}")
        items = [(doc_id, raw) for doc_id, raw in table.items() if doc_id not in repeated]
        # TinyDB document ids are string numbers; keep the file's numeric order.
        return sorted(items, key=lambda item: (not item[0].isdigit(), int(item[0]) if item[0].isdigit() else 0, item[0]))

    def records(self, path: Path, name: str, *, label: str = "") -> Iterator[tuple[str, dict]]:
        """The object records of a table that can be stored at all; anything else is
        reported as a problem, naming the record by its ``label`` field or its id."""
        for doc_id, raw in self.table(path, name) or []:
            if not isinstance(raw, dict):
                self.problem(path.name, doc_id, "must be a JSON object")
                continue
            problems = value_problems(raw, level=3)
            if problems:
                named = raw.get(label) if label else None
                record = named if isinstance(named, str) and named and named.isprintable() else doc_id
                for reason in problems:
                    self.problem(path.name, record, reason)
                continue
            yield doc_id, raw

    def when(self, value: Any, file: str, record: str, name: str, *, required: bool) -> dt.datetime | None:
        if value in (None, ""):
            if required:
                self.problem(file, record, f"field {name}: this field is required")
            return None
        if not isinstance(value, str):
            self.problem(file, record, f"field {name}: expected an ISO date-time, got {type(value).__name__}")
            return None
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            parsed = parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=self.tz)
            # Stored in UTC: a time at the very edge of the calendar may not fit.
            parsed.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            self.problem(file, record, f"field {name}: {value[:40]!r} is not an ISO date-time")
            return None
        return parsed

    def text(self, raw: dict, name: str, file: str, record: str, *, required: bool = False,
             max_length: int | None = None) -> str | None:
        value = raw.get(name)
        if value is None or value == "":
            if required:
                self.problem(file, record, f"field {name}: this field is required")
                return None
            return ""
        if not isinstance(value, str):
            self.problem(file, record, f"field {name}: expected text, got {type(value).__name__}")
            return None
        if max_length is not None and len(value) > max_length:
            self.problem(file, record, f"field {name}: longer than {max_length} characters")
            return None
        return value


def _max_length(model: type, name: str) -> int:
    return model._meta.get_field(name).max_length


def _username_problem(username: str) -> str | None:
    """Why ``username`` cannot be one here: the same validators as admin's user form."""
    try:
        for validator in User._meta.get_field("username").validators:
            validator(username)
    except ValidationError as exc:
        with translation.override("en"):  # like every other line of the report
            return " ".join(exc.messages)
    return None


def _read_users(reader: _Reader, path: Path, employee_keys: set[str]) -> list[UserRecord]:
    users: list[UserRecord] = []
    seen: set[str] = set()
    for doc_id, raw in reader.records(path, "users", label="username"):
        file, before = path.name, len(reader.problems)
        record = str(raw.get("username") or doc_id)
        username = reader.text(raw, "username", file, record, required=True)
        if username and (problem := _username_problem(username)):
            reader.problem(file, record, f"field username: {problem}")
        full_name = reader.text(raw, "full_name", file, record, max_length=_max_length(User, "full_name"))
        email = reader.text(raw, "email", file, record, max_length=_max_length(User, "email"))
        role = raw.get("role", Role.EMPLOYEE)
        if not isinstance(role, str) or role not in ROLES:
            reader.problem(file, record, f"field role: {role!r} is not one of admin, hr, employee")
        salt, hashed = raw.get("salt"), raw.get("password_hash")
        if not isinstance(salt, str) or not HEX32.match(salt):
            reader.problem(file, record, "field salt: expected 32 hex characters")
        if not isinstance(hashed, str) or not HEX64.match(hashed):
            reader.problem(file, record, "field password_hash: expected 64 hex characters")
        employee_key = raw.get("employee_id") or ""
        if employee_key and (not isinstance(employee_key, str) or employee_key not in employee_keys):
            reader.problem(file, record, f"field employee_id: {employee_key!r} does not match any employee")
        is_active = raw.get("is_active", True)
        if not isinstance(is_active, bool):
            reader.problem(file, record, "field is_active: expected true or false")
        created_at = reader.when(raw.get("created_at"), file, record, "created_at", required=False)
        if username and username in seen:
            reader.problem(file, record, "duplicate username")
        if len(reader.problems) > before:
            continue
        seen.add(username)
        users.append(UserRecord(
            record_id=doc_id, username=username, full_name=full_name, email=email, role=role,
            employee_key=employee_key, is_active=is_active, created_at=created_at,
            encoded_password=LegacyPBKDF2SHA256Hasher.from_legacy(salt_hex=salt, hash_hex=hashed),
        ))
    return users


def _read_sessions(reader: _Reader, path: Path, usernames: set[str], tally: Tally) -> list[SessionRecord]:
    sessions: list[SessionRecord] = []
    seen: set[str] = set()
    now = timezone.now()
    for doc_id, raw in reader.records(path, "sessions"):
        file, before = path.name, len(reader.problems)
        record = doc_id
        session_id = reader.text(raw, "session_id", file, record, required=True)
        username = reader.text(raw, "username", file, record, required=True)
        created_at = reader.when(raw.get("created_at"), file, record, "created_at", required=True)
        last_activity = reader.when(raw.get("last_activity"), file, record, "last_activity", required=False)
        expires_at = reader.when(raw.get("expires_at"), file, record, "expires_at", required=False)
        # Compared as stored (at most 128 characters): the database holds each once.
        if session_id and session_id[:128] in seen:
            reader.problem(file, record, "duplicate session_id")
        if len(reader.problems) > before:
            continue
        seen.add(session_id[:128])
        if raw.get("revoked"):
            tally.skipped.append((file, record, "revoked"))
        elif expires_at is not None and expires_at <= now:
            tally.skipped.append((file, record, "expired"))
        elif username not in usernames:
            tally.skipped.append((file, record, f"user {username!r} does not exist"))
        else:
            sessions.append(SessionRecord(
                record_id=record, session_id=session_id[:128], username=username, created_at=created_at,
                last_activity=last_activity or created_at, expires_at=expires_at,
            ))
    return sessions


def _read_messages(reader: _Reader, raw_messages: Any, file: str, record: str) -> list[MessageRecord] | None:
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
                    used_documents.append({
                        "key": item.get("key") or item.get("id"),
                        "score": score if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
                    })
                else:
                    reader.problem(file, where, f"field used_documents: {item!r} is not a document id")
        token_count = raw.get("token_count", 0) or 0
        if isinstance(token_count, bool) or not isinstance(token_count, int) or not 0 <= token_count <= TOKEN_COUNT_MAX:
            reader.problem(file, where, f"field token_count: expected a whole number from 0 to {TOKEN_COUNT_MAX}")
            token_count = 0
        if len(reader.problems) == before:
            messages.append(MessageRecord(legacy_id, role, content, created_at, used_documents, token_count))
    return messages if len(reader.problems) == before else None


def _read_conversations(reader: _Reader, path: Path, usernames: set[str], tally: Tally) -> list[ConversationRecord]:
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
        conversations.append(ConversationRecord(
            record_id=record, conversation_id=conversation_id, username=username, title=(title or "")[:200],
            created_at=created_at, updated_at=updated_at or last, messages=messages,
        ))
    return conversations


def legacy_plan(*, data_dir: Path | str, tinydb_dir: Path | str, strict: bool = True, tz: str = "UTC") -> LegacyPlan:
    """Read and check everything; decide nothing is written yet."""
    tinydb_dir = Path(tinydb_dir)
    plan = LegacyPlan(company=company_plan(directory=data_dir, strict=strict))
    reader = _Reader(zoneinfo.ZoneInfo(tz), plan.problems)
    if not tinydb_dir.is_dir():
        reader.problem(str(tinydb_dir), "", "directory not found")
        return plan
    employee_keys = set(Document.objects.filter(doc_type="employee").values_list("key", flat=True))
    employee_keys |= {
        r.key for r in plan.company.create + plan.company.unchanged + [r for _, r in plan.company.update]
        if r.doc_type.name == "employee"
    }
    plan.users = _read_users(reader, tinydb_dir / "users.json", employee_keys)
    existing = {u.username: u for u in User.objects.filter(username__in=[r.username for r in plan.users])}
    for record in plan.users:
        if record.username in existing:
            plan.kept.extend(_user_changes(existing[record.username], record)[2])
    usernames = {u.username for u in plan.users} | set(User.objects.values_list("username", flat=True))
    plan.sessions = _read_sessions(reader, tinydb_dir / "sessions.json", usernames, plan.tally)
    plan.conversations = _read_conversations(reader, tinydb_dir / "conversations.json", usernames, plan.tally)
    existing_owner = dict(
        Conversation.objects.filter(id__in=[c.conversation_id for c in plan.conversations])
        .values_list("id", "owner__username")
    )
    kept = []
    for conversation in plan.conversations:
        owner = existing_owner.get(conversation.conversation_id)
        if owner is not None and owner != conversation.username:
            reader.problem("conversations.json", conversation.record_id,
                           f"conversation id already belongs to another user ({owner!r})")
        else:
            kept.append(conversation)
    plan.conversations = kept
    return plan


@transaction.atomic
def legacy_apply(*, plan: LegacyPlan) -> Tally:
    """Write a checked plan in one transaction; returns what was created, updated
    and left unchanged. Callers must not apply a strict plan that has problems."""
    tally = plan.tally
    company_apply(plan=plan.company)
    for name, counter in plan.company.counts().items():
        getattr(tally, name)["documents"] += sum(counter.values())

    users = {u.username: u for u in User.objects.filter(username__in=[r.username for r in plan.users])}
    for record in plan.users:
        user = users.get(record.username)
        if user is None:
            user = user_create(
                username=record.username, role=record.role, encoded_password=record.encoded_password,
                full_name=record.full_name, email=record.email, employee_key=record.employee_key,
                is_active=record.is_active,
            )
            imported = {attr: getattr(record, attr) for attr in OWNED_HERE}
            User.objects.filter(pk=user.pk).update(
                legacy_imported=imported, **({"date_joined": record.created_at} if record.created_at else {})
            )
            users[user.username] = user
            tally.created["users"] += 1
            continue
        changes, imported, kept = _user_changes(user, record)
        tally.kept.extend(kept)
        # Only a legacy hash is replaced: a user who signed in since holds an
        # upgraded hash of the same password, which must survive a re-run.
        if user.password.startswith("legacy_pbkdf2_sha256$") and user.password != record.encoded_password:
            changes["password"] = record.encoded_password
        if changes:
            for attr, value in changes.items():
                setattr(user, attr, value)
            user.legacy_imported = imported
            user.save()
            if "role" in changes:
                user_apply_role(user=user)
            tally.updated["users"] += 1
        else:
            if imported != user.legacy_imported:
                User.objects.filter(pk=user.pk).update(legacy_imported=imported)
            tally.unchanged["users"] += 1

    all_users = {u.username: u for u in User.objects.filter(
        username__in={s.username for s in plan.sessions} | {c.username for c in plan.conversations}
    )}
    known_sessions = set(LoginSession.objects.filter(
        legacy_id__in=[s.session_id for s in plan.sessions]).values_list("legacy_id", flat=True))
    for record in plan.sessions:
        if record.session_id in known_sessions:
            tally.unchanged["sessions"] += 1
            continue
        LoginSession.objects.create(
            user=all_users[record.username], kind=LoginSession.Kind.LEGACY, legacy_id=record.session_id,
            created_at=record.created_at, last_activity=record.last_activity, expires_at=record.expires_at,
        )
        tally.created["sessions"] += 1

    for record in plan.conversations:
        _apply_conversation(record, all_users[record.username], tally)
    return tally


def _user_changes(user: User, record: UserRecord) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """What a re-run writes on an existing user: the legacy values, except a role or
    activity that no longer holds what the import last set there (an admin changed
    it since), which is kept. Returns the changes, what the import will then have
    set, and a report line per kept value."""
    changes = {
        attr: getattr(record, attr) for attr in ("full_name", "email", "employee_key")
        if getattr(user, attr) != getattr(record, attr)
    }
    imported = dict(user.legacy_imported or {})
    kept = []
    for attr in OWNED_HERE:
        current, legacy = getattr(user, attr), getattr(record, attr)
        if current == legacy:
            # Agreeing values of a user the import has no record for (made before it
            # kept one): from now on the import owns them.
            imported.setdefault(attr, legacy)
        elif attr in imported and imported[attr] == current:
            changes[attr] = legacy
            imported[attr] = legacy
        elif attr == "role":
            kept.append(f"kept role {current} for {user.username} (legacy says {legacy})")
        else:
            state = {True: "active", False: "inactive"}
            kept.append(f"kept {user.username} {state[current]} (legacy says {state[legacy]})")
    return changes, imported, kept


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
            "role": m.role, "content": m.content, "created_at": m.created_at,
            "used_documents": m.used_documents, "token_count": m.token_count,
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
