from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from accounts.models import LoginSession, User
from conversations.models import Conversation, Message
from knowledge.models import Document

from .legacy_data import PASSWORDS, legacy_user, tinydb, write_legacy

pytestmark = pytest.mark.django_db


def migrate(data, db, *args):
    call_command("migrate_legacy", "--data", str(data), "--tinydb", str(db), "--timezone", "UTC", *args)


def snapshot():
    return {
        "documents": sorted(Document.objects.values_list("key", "version", "updated_at")),
        "users": sorted(User.objects.values_list("username", "password", "role", "employee_key")),
        "sessions": sorted(LoginSession.objects.values_list("legacy_id", "user__username", "last_activity")),
        "conversations": sorted(Conversation.objects.values_list("id", "owner__username", "title", "message_count",
                                                                 "updated_at")),
        "messages": sorted(Message.objects.values_list("conversation_id", "legacy_id", "content", "id")),
    }


def test_it_migrates_everything(tmp_path, capsys):
    migrate(*write_legacy(tmp_path))
    assert Document.objects.count() == 5
    ayse = User.objects.get(username="ayse")
    assert (ayse.full_name, ayse.role, ayse.employee_key, ayse.email) == ("Ayşe Yılmaz", "employee", "E002",
                                                                          "ayse@example.com")
    assert ayse.date_joined == dt.datetime(2023, 5, 2, 9, 14, tzinfo=dt.UTC)
    assert User.objects.get(username="hilal").is_staff
    assert User.objects.get(username="emre").is_superuser
    # Only the live session is imported, and it is no page session.
    session = LoginSession.objects.get()
    assert (session.legacy_id, session.user, session.kind, session.session_key) == ("live-1", ayse, "legacy", "")
    out = capsys.readouterr().out
    assert "sessions.json: record 2: expired" in out and "sessions.json: record 3: revoked" in out
    assert "conversations.json: record ghost-conv: user 'nobody' does not exist" in out


def test_conversations_keep_their_ids_owners_times_and_message_order(tmp_path, client):
    migrate(*write_legacy(tmp_path))
    conversation = Conversation.objects.get(id="k3J9xQ2a")
    assert conversation.owner.username == "ayse" and conversation.title == "Leave question"
    assert conversation.message_count == 3
    assert conversation.created_at == dt.datetime(2025, 2, 1, 10, 0, tzinfo=dt.UTC)
    assert conversation.updated_at == dt.datetime(2025, 2, 1, 10, 1, tzinfo=dt.UTC)
    messages = list(conversation.messages.all())
    assert [m.legacy_id for m in messages] == ["m1", "m2", "m3"]
    assert messages[1].used_documents == [{"key": "PR001", "score": None}] and messages[1].token_count == 42
    assert not Conversation.objects.filter(id="ghost-conv").exists()
    # The old URL still works for its owner.
    client.force_login(conversation.owner)
    assert "Use the portal" in client.get("/c/k3J9xQ2a/").content.decode()


def test_migrated_users_sign_in_with_their_legacy_passwords(tmp_path, client):
    migrate(*write_legacy(tmp_path))
    for username, password in PASSWORDS.items():
        assert authenticate(username=username, password=password) is not None
    assert authenticate(username="ayse", password="wrong") is None
    response = client.post("/login/", {"username": "ayse", "password": PASSWORDS["ayse"]})
    assert response.status_code == 302
    assert not User.objects.get(username="ayse").password.startswith("legacy_")


def test_a_migrated_employee_sees_only_what_their_role_allows(tmp_path, client, english):
    migrate(*write_legacy(tmp_path))
    client.post("/login/", {"username": "ayse", "password": PASSWORDS["ayse"]})
    assert "Emre Şahin" in client.get("/documents/E001/").content.decode()
    assert "national" not in client.get("/documents/E001/").content.decode().lower()
    client.post("/logout/")
    client.post("/login/", {"username": "hilal", "password": PASSWORDS["hilal"]})
    assert "National ID" in client.get("/documents/E001/").content.decode()


def test_a_second_run_changes_nothing(tmp_path, capsys):
    data, db = write_legacy(tmp_path)
    migrate(data, db)
    before = snapshot()
    migrate(data, db)
    assert snapshot() == before
    report = capsys.readouterr().out.split("Imported:")[-1]
    rows = [line for line in report.splitlines()
            if line.strip().startswith(("documents", "users", "sessions", "conversations", "messages"))]
    assert len(rows) == 5
    for line in rows:
        assert "created     0   updated     0" in line, line


def test_a_rerun_after_login_keeps_the_upgraded_password(tmp_path):
    data, db = write_legacy(tmp_path)
    migrate(data, db)
    authenticate(username="ayse", password=PASSWORDS["ayse"])
    upgraded = User.objects.get(username="ayse").password
    migrate(data, db)
    assert User.objects.get(username="ayse").password == upgraded
    assert authenticate(username="ayse", password=PASSWORDS["ayse"]) is not None


def test_a_changed_legacy_record_is_updated_in_place(tmp_path):
    data, db = write_legacy(tmp_path)
    migrate(data, db)
    conversation_pk_messages = list(Message.objects.filter(conversation_id="k3J9xQ2a").values_list("id", flat=True))
    write_legacy(tmp_path, **{"users.json": tinydb("users", [
        legacy_user("ayse", "Ayşe Yılmaz-Demir", "hr", "E002"),
        legacy_user("hilal", "Hilal Kaya", "hr"),
        legacy_user("emre", "Emre Şahin", "admin", "E001"),
    ])})
    migrate(data, db)
    ayse = User.objects.get(username="ayse")
    assert (ayse.full_name, ayse.role, ayse.is_staff) == ("Ayşe Yılmaz-Demir", "hr", True)
    assert User.objects.count() == 3
    assert list(Message.objects.filter(conversation_id="k3J9xQ2a").values_list("id", flat=True)) == conversation_pk_messages


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"users.json": "{\"users\": {"}, "users.json: invalid JSON"),
    ({"users.json": tinydb("users", [dict(legacy_user("ayse", "A", "employee"), password_hash="zz")])},
     "users.json: record ayse: field password_hash: expected 64 hex characters"),
    ({"users.json": tinydb("users", [legacy_user("ayse", "A", "boss")])},
     "users.json: record ayse: field role: 'boss' is not one of admin, hr, employee"),
    ({"users.json": tinydb("users", [legacy_user("ayse", "A", "employee", "E999")])},
     "users.json: record ayse: field employee_id: 'E999' does not match any employee"),
    ({"conversations.json": tinydb("conversations", [{"conversation_id": "c1", "username": "ayse",
                                                      "created_at": "yesterday", "messages": []}])},
     "conversations.json: record c1: field created_at: 'yesterday' is not an ISO date-time"),
    ({"conversations.json": tinydb("conversations", [{"conversation_id": "c1", "username": "ayse",
                                                      "created_at": "2025-01-01T00:00:00",
                                                      "messages": [{"role": "robot", "content": "x",
                                                                    "timestamp": "2025-01-01T00:00:00"}]}])},
     "conversations.json: record c1 message #1: field role: 'robot' is not one of user, assistant, system"),
    ({"sessions.json": "[]"}, "sessions.json: must be a TinyDB file"),
])
def test_a_broken_legacy_file_is_refused_whole_with_file_and_record_named(tmp_path, capsys, overrides, expected):
    with pytest.raises(CommandError, match="Nothing was imported"):
        migrate(*write_legacy(tmp_path, **overrides))
    assert expected in capsys.readouterr().err
    assert not Document.objects.exists() and not User.objects.exists() and not Conversation.objects.exists()


def test_a_broken_company_file_blocks_the_users_too(tmp_path, capsys):
    data, db = write_legacy(tmp_path)
    (data / "employees.json").write_text("[", encoding="utf-8")
    with pytest.raises(CommandError):
        migrate(data, db)
    assert "employees.json: invalid JSON" in capsys.readouterr().err
    assert not User.objects.exists()


def test_a_missing_tinydb_directory_is_refused(tmp_path, capsys):
    data, _ = write_legacy(tmp_path)
    with pytest.raises(CommandError):
        migrate(data, tmp_path / "nowhere")
    assert "directory not found" in capsys.readouterr().err


def test_dry_run_reports_and_writes_nothing(tmp_path, capsys):
    migrate(*write_legacy(tmp_path), "--dry-run")
    out = capsys.readouterr().out
    assert "Would import 3 user(s), 1 live session(s), 2 conversation(s) with 4 message(s)." in out
    assert not Document.objects.exists() and not User.objects.exists()


def test_no_strict_imports_the_valid_records(tmp_path, capsys):
    users = tinydb("users", [legacy_user("ayse", "A", "employee", "E002"),
                             dict(legacy_user("hilal", "H", "hr"), salt="nothex")])
    migrate(*write_legacy(tmp_path, **{"users.json": users}), "--no-strict")
    assert set(User.objects.values_list("username", flat=True)) == {"ayse"}
    assert Conversation.objects.filter(id="k3J9xQ2a").exists()
    assert "field salt" in capsys.readouterr().err


def test_a_conversation_id_owned_by_someone_else_is_a_problem(tmp_path, capsys, stranger):
    Conversation.objects.create(id="k3J9xQ2a", owner=stranger, created_at=dt.datetime.now(dt.UTC),
                                updated_at=dt.datetime.now(dt.UTC))
    with pytest.raises(CommandError):
        migrate(*write_legacy(tmp_path))
    assert "already belongs to another user ('charlie')" in capsys.readouterr().err
