"""Migrating the legacy system (JSON company files + TinyDB users, sessions and
conversations) without loss: each app reads and writes its own part (``knowledge.legacy``,
``accounts.legacy``, ``conversations.legacy``), and this module runs them in order.

Everything is read and checked first; then, unless a strict run found
problems, one transaction writes it all. Running it again changes nothing: users
are matched by username, sessions by their legacy id, conversations by their id
and messages by their legacy message id. A user who already signed in keeps the
upgraded password hash, and a role or activity an admin changed here since the
import set it is kept (and reported): the new system wins over the legacy data.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from accounts.legacy import SessionRecord, UserRecord, apply_sessions, apply_users, read_sessions, read_users, users_kept
from accounts.models import User
from conversations.legacy import ConversationRecord, apply_conversations, claimed_by_others, read_conversations
from knowledge.legacy import apply_documents, employee_keys, read_documents
from knowledge.services import CompanyPlan

from .legacy_json import Problem, Tally, TinyDBReader


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


def legacy_plan(*, data_dir: Path | str, tinydb_dir: Path | str, strict: bool = True, tz: str = "UTC") -> LegacyPlan:
    """Read and check everything; decide nothing is written yet."""
    tinydb_dir = Path(tinydb_dir)
    plan = LegacyPlan(company=read_documents(data_dir=data_dir, strict=strict))
    reader = TinyDBReader(zoneinfo.ZoneInfo(tz), plan.problems)
    if not tinydb_dir.is_dir():
        reader.problem(str(tinydb_dir), "", "directory not found")
        return plan
    plan.users = read_users(reader, tinydb_dir / "users.json", employee_keys(plan.company))
    plan.kept.extend(users_kept(plan.users))
    usernames = {u.username for u in plan.users} | set(User.objects.values_list("username", flat=True))
    plan.sessions = read_sessions(reader, tinydb_dir / "sessions.json", usernames, plan.tally)
    conversations = read_conversations(reader, tinydb_dir / "conversations.json", usernames, plan.tally)
    plan.conversations = claimed_by_others(conversations, plan.problems)
    return plan


@transaction.atomic
def legacy_apply(*, plan: LegacyPlan, progress: Callable[[int, int], None] | None = None) -> Tally:
    """Write a checked plan in one transaction, in the order the records depend on each other
    (documents, users, their sessions and conversations); returns what was created, updated and
    left unchanged; ``progress`` hears ``(records written, total)``. Callers must not apply a
    strict plan that has problems."""
    tally = plan.tally
    documents = len(plan.company.create) + len(plan.company.update)
    total = documents + len(plan.users) + len(plan.sessions) + len(plan.conversations)
    report = progress or (lambda done, total: None)
    apply_documents(plan.company, tally, progress=lambda done, _: report(done, total))
    report(documents, total)
    apply_users(plan.users, tally)
    report(documents + len(plan.users), total)
    apply_sessions(plan.sessions, tally)
    report(documents + len(plan.users) + len(plan.sessions), total)
    apply_conversations(plan.conversations, tally)
    report(total, total)
    return tally
