"""The legacy import's users and live sessions (TinyDB ``users.json`` and ``sessions.json``).

Users are matched by username and keep their legacy password hash (``LegacyPBKDF2SHA256Hasher``)
until they sign in; a role or activity an admin changed here since the last import is kept and
reported. Live sessions become ``LoginSession`` rows, matched by their legacy id. Run by
``migrate_legacy`` (``chatcore.legacy``) with the other apps' parts, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from chatcore.legacy_json import Tally, TinyDBReader

from .hashers import LegacyPBKDF2SHA256Hasher
from .models import LoginSession, Role, User
from .services import user_apply_role, user_create

HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
ROLES = {r.value for r in Role}
# The values an admin may change here that a re-run must not undo.
OWNED_HERE = ("role", "is_active")


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


def read_users(reader: TinyDBReader, path: Path, employee_keys: set[str]) -> list[UserRecord]:
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
        users.append(
            UserRecord(
                record_id=doc_id,
                username=username,
                full_name=full_name,
                email=email,
                role=role,
                employee_key=employee_key,
                is_active=is_active,
                created_at=created_at,
                encoded_password=LegacyPBKDF2SHA256Hasher.from_legacy(salt_hex=salt, hash_hex=hashed),
            )
        )
    return users


def read_sessions(reader: TinyDBReader, path: Path, usernames: set[str], tally: Tally) -> list[SessionRecord]:
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
            sessions.append(
                SessionRecord(
                    record_id=record,
                    session_id=session_id[:128],
                    username=username,
                    created_at=created_at,
                    last_activity=last_activity or created_at,
                    expires_at=expires_at,
                )
            )
    return sessions


def users_kept(records: list[UserRecord]) -> list[str]:
    """What importing ``records`` would leave as changed here (a report line each), for a dry run."""
    existing = {u.username: u for u in User.objects.filter(username__in=[r.username for r in records])}
    return [
        line for record in records if record.username in existing for line in _user_changes(existing[record.username], record)[2]
    ]


def apply_users(records: list[UserRecord], tally: Tally) -> None:
    """Create or update the users of ``records`` (inside the caller's transaction)."""
    users = {u.username: u for u in User.objects.filter(username__in=[r.username for r in records])}
    for record in records:
        user = users.get(record.username)
        if user is None:
            user = user_create(
                username=record.username,
                role=record.role,
                encoded_password=record.encoded_password,
                full_name=record.full_name,
                email=record.email,
                employee_key=record.employee_key,
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


def apply_sessions(records: list[SessionRecord], tally: Tally) -> None:
    """Create the live sessions of ``records`` not imported yet (their users exist by now)."""
    users = {u.username: u for u in User.objects.filter(username__in={s.username for s in records})}
    known_sessions = set(
        LoginSession.objects.filter(legacy_id__in=[s.session_id for s in records]).values_list("legacy_id", flat=True)
    )
    for record in records:
        if record.session_id in known_sessions:
            tally.unchanged["sessions"] += 1
            continue
        LoginSession.objects.create(
            user=users[record.username],
            kind=LoginSession.Kind.LEGACY,
            legacy_id=record.session_id,
            created_at=record.created_at,
            last_activity=record.last_activity,
            expires_at=record.expires_at,
        )
        tally.created["sessions"] += 1


def _user_changes(user: User, record: UserRecord) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """What a re-run writes on an existing user: the legacy values, except a role or
    activity that no longer holds what the import last set there (an admin changed
    it since), which is kept. Returns the changes, what the import will then have
    set, and a report line per kept value."""
    changes = {
        attr: getattr(record, attr)
        for attr in ("full_name", "email", "employee_key")
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
