from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from accounts.models import LoginSession, Role, User
from accounts.services import user_apply_role
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
        "conversations": sorted(
            Conversation.objects.values_list("id", "owner__username", "title", "message_count", "updated_at")
        ),
        "messages": sorted(Message.objects.values_list("conversation_id", "legacy_id", "content", "id")),
    }


def test_it_migrates_everything(tmp_path, capsys):
    migrate(*write_legacy(tmp_path))
    assert Document.objects.count() == 5
    ayse = User.objects.get(username="ayse")
    assert (ayse.full_name, ayse.role, ayse.employee_key, ayse.email) == ("Ayşe Yılmaz", "employee", "E002", "ayse@example.com")
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
    rows = [
        line
        for line in report.splitlines()
        if line.strip().startswith(("documents", "users", "sessions", "conversations", "messages"))
    ]
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
    write_legacy(
        tmp_path,
        **{
            "users.json": tinydb(
                "users",
                [
                    legacy_user("ayse", "Ayşe Yılmaz-Demir", "hr", "E002"),
                    legacy_user("hilal", "Hilal Kaya", "hr"),
                    legacy_user("emre", "Emre Şahin", "admin", "E001"),
                ],
            )
        },
    )
    migrate(data, db)
    ayse = User.objects.get(username="ayse")
    assert (ayse.full_name, ayse.role, ayse.is_staff) == ("Ayşe Yılmaz-Demir", "hr", True)
    assert User.objects.count() == 3
    assert list(Message.objects.filter(conversation_id="k3J9xQ2a").values_list("id", flat=True)) == conversation_pk_messages


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"users.json": '{"users": {'}, "users.json: invalid JSON"),
        (
            {"users.json": tinydb("users", [dict(legacy_user("ayse", "A", "employee"), password_hash="zz")])},
            "users.json: record ayse: field password_hash: expected 64 hex characters",
        ),
        (
            {"users.json": tinydb("users", [legacy_user("ayse", "A", "boss")])},
            "users.json: record ayse: field role: 'boss' is not one of admin, hr, employee",
        ),
        (
            {"users.json": tinydb("users", [legacy_user("ayse", "A", "employee", "E999")])},
            "users.json: record ayse: field employee_id: 'E999' does not match any employee",
        ),
        (
            {
                "conversations.json": tinydb(
                    "conversations", [{"conversation_id": "c1", "username": "ayse", "created_at": "yesterday", "messages": []}]
                )
            },
            "conversations.json: record c1: field created_at: 'yesterday' is not an ISO date-time",
        ),
        (
            {
                "conversations.json": tinydb(
                    "conversations",
                    [
                        {
                            "conversation_id": "c1",
                            "username": "ayse",
                            "created_at": "2025-01-01T00:00:00",
                            "messages": [{"role": "robot", "content": "x", "timestamp": "2025-01-01T00:00:00"}],
                        }
                    ],
                )
            },
            "conversations.json: record c1 message #1: field role: 'robot' is not one of user, assistant, system",
        ),
        ({"sessions.json": "[]"}, "sessions.json: must be a TinyDB file"),
    ],
)
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
    users = tinydb("users", [legacy_user("ayse", "A", "employee", "E002"), dict(legacy_user("hilal", "H", "hr"), salt="nothex")])
    migrate(*write_legacy(tmp_path, **{"users.json": users}), "--no-strict")
    assert set(User.objects.values_list("username", flat=True)) == {"ayse"}
    assert Conversation.objects.filter(id="k3J9xQ2a").exists()
    assert "field salt" in capsys.readouterr().err


def test_a_conversation_id_owned_by_someone_else_is_a_problem(tmp_path, capsys, stranger):
    Conversation.objects.create(
        id="k3J9xQ2a", owner=stranger, created_at=dt.datetime.now(dt.UTC), updated_at=dt.datetime.now(dt.UTC)
    )
    with pytest.raises(CommandError):
        migrate(*write_legacy(tmp_path))
    assert "already belongs to another user ('charlie')" in capsys.readouterr().err


# --- A re-run keeps what an admin changed here -----------------------------------------


def demote_and_deactivate(username):
    user = User.objects.get(username=username)
    user.role, user.is_active = Role.EMPLOYEE, False
    user.save()
    user_apply_role(user=user)


def test_a_rerun_keeps_a_role_and_activity_an_admin_changed_and_says_so(tmp_path, capsys):
    data, db = write_legacy(tmp_path)
    migrate(data, db)
    demote_and_deactivate("hilal")
    capsys.readouterr()
    migrate(data, db, "--dry-run")
    dry = capsys.readouterr().out
    migrate(data, db)
    out = capsys.readouterr().out
    hilal = User.objects.get(username="hilal")
    assert (hilal.role, hilal.is_active, hilal.is_staff, hilal.is_hr) == ("employee", False, False, False)
    for report in (dry, out):
        assert "kept role employee for hilal (legacy says hr)" in report
        assert "kept hilal inactive (legacy says active)" in report
    # And so on every later run, while the legacy data still says otherwise.
    migrate(data, db)
    assert User.objects.get(username="hilal").role == "employee"
    assert "kept role employee for hilal (legacy says hr)" in capsys.readouterr().out


def test_a_user_not_changed_here_still_follows_the_legacy_data(tmp_path, capsys):
    data, db = write_legacy(tmp_path)
    migrate(data, db)
    demote_and_deactivate("hilal")
    write_legacy(
        tmp_path,
        **{
            "users.json": tinydb(
                "users",
                [
                    legacy_user("ayse", "Ayşe Yılmaz", "hr", "E002"),
                    legacy_user("hilal", "Hilal Kaya", "admin"),
                    legacy_user("emre", "Emre Şahin", "admin", "E001", is_active=False),
                ],
            )
        },
    )
    migrate(data, db)
    ayse, hilal, emre = (User.objects.get(username=n) for n in ("ayse", "hilal", "emre"))
    assert (ayse.role, ayse.is_staff) == ("hr", True)
    assert emre.is_active is False
    assert (hilal.role, hilal.is_active) == ("employee", False)
    out = capsys.readouterr().out
    assert "kept role employee for hilal (legacy says admin)" in out
    assert "ayse" not in out.split("Left as changed here")[-1]


def test_a_change_here_back_to_what_the_import_set_lets_the_legacy_data_lead_again(tmp_path):
    data, db = write_legacy(tmp_path)
    migrate(data, db)
    demote_and_deactivate("hilal")
    hilal = User.objects.get(username="hilal")
    hilal.role, hilal.is_active = Role.HR, True
    hilal.save()
    write_legacy(tmp_path, **{"users.json": tinydb("users", [legacy_user("hilal", "Hilal Kaya", "employee")])})
    migrate(data, db)
    assert User.objects.get(username="hilal").role == "employee"


def test_a_user_the_import_did_not_create_keeps_a_role_that_differs(tmp_path, capsys):
    User.objects.create(username="hilal", role=Role.EMPLOYEE)
    migrate(*write_legacy(tmp_path))
    assert User.objects.get(username="hilal").role == "employee"
    assert "kept role employee for hilal (legacy says hr)" in capsys.readouterr().out


# --- Records that cannot be stored ------------------------------------------------------


def users_text(*replacements: tuple[str, str]) -> str:
    """users.json as raw text (ayse, hilal, emre), with text replaced once each."""
    text = json.dumps(
        tinydb(
            "users",
            [
                legacy_user("ayse", "Ayşe Yılmaz", "employee", "E002"),
                legacy_user("hilal", "Hilal Kaya", "hr"),
                legacy_user("emre", "Emre Şahin", "admin", "E001"),
            ],
        ),
        ensure_ascii=False,
    )
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new, 1)
    return text


def conversation(**message) -> dict:
    return tinydb(
        "conversations",
        [
            {
                "conversation_id": "c1",
                "username": "ayse",
                "created_at": "2025-01-01T00:00:00",
                "messages": [{"message_id": "m1", "role": "user", "content": "x", "timestamp": "2025-01-01T00:00:00", **message}],
            }
        ],
    )


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def refused(tmp_path, capsys, **overrides) -> str:
    """Migrate a broken data set for real and as a dry run: both refuse it with the
    same problems and write nothing; returns the problems."""
    data, db = write_legacy(tmp_path, **overrides)
    reports = []
    for args in (["--dry-run"], []):
        with pytest.raises(CommandError, match="Nothing was imported"):
            migrate(data, db, *args)
        reports.append(capsys.readouterr().err)
    assert reports[0] == reports[1]
    assert not Document.objects.exists() and not User.objects.exists() and not Conversation.objects.exists()
    assert not LoginSession.objects.exists()
    return reports[0]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"users.json": users_text(('"role": "hr"', '"role": "employee", "role": "hr"'))},
            "users.json: record hilal: field role: given more than once",
        ),
        (
            {"users.json": users_text(('"2": {', '"1": {'))},
            "users.json: record 1: record id given more than once in table 'users'",
        ),
        (
            {"users.json": users_text(('{"users": {', '{"users": {}, "users": {'))},
            "users.json: table 'users' is given more than once",
        ),
        (
            {"users.json": users_text(('"username": "hilal"', '"username": "../hilal"'))},
            "users.json: record ../hilal: field username: Enter a valid username",
        ),
        (
            {"users.json": users_text(('"username": "hilal"', '"username": "hi\\u001b[2Jlal"'))},
            "users.json: record 'hi\\x1b[2Jlal': field username: Enter a valid username",
        ),
        (
            {"users.json": users_text(('"username": "hilal"', '"username": "' + "h" * 151 + '"'))},
            "field username: Ensure this value has at most 150 characters",
        ),
        (
            {"users.json": users_text(('"full_name": "Hilal Kaya"', '"full_name": "Hi\\u0000lal"'))},
            "users.json: record hilal: field full_name: text holds a NUL character",
        ),
        (
            {"users.json": users_text(('"full_name": "Hilal Kaya"', '"full_name": "' + "H" * 201 + '"'))},
            "users.json: record hilal: field full_name: longer than 200 characters",
        ),
        (
            {"users.json": users_text(('"role": "hr"', '"role": ["hr"]'))},
            "users.json: record hilal: field role: ['hr'] is not one of admin, hr, employee",
        ),
        (
            {"users.json": users_text(('"created_at": "2023-05-02T09:14:00"', '"created_at": "0001-01-01T00:00:00+05:00"'))},
            "users.json: record ayse: field created_at: '0001-01-01T00:00:00+05:00' is not an ISO date-time",
        ),
        (
            {"conversations.json": conversation(token_count=2**31)},
            "conversations.json: record c1 message #1: field token_count: expected a whole number from 0 to 2147483647",
        ),
        (
            {
                "conversations.json": json.dumps(conversation()).replace(
                    '"content": "x"', '"content": "x", "token_count": ' + "9" * 30
                )
            },
            "conversations.json: record c1: field messages[0].token_count: 999999999999999999999999… is too large",
        ),
        (
            {
                "conversations.json": json.dumps(conversation(used_documents=[{"key": "PR001"}])).replace(
                    '"key": "PR001"', '"key": "PR001", "score": NaN'
                )
            },
            "conversations.json: record c1: field messages[0].used_documents[0].score: NaN is not a number JSON allows",
        ),
        (
            {
                "conversations.json": json.dumps(conversation(used_documents=[{"key": "PR001"}])).replace(
                    '"key": "PR001"', '"key": "PR001", "score": 1e999'
                )
            },
            "conversations.json: record c1: field messages[0].used_documents[0].score: 1e999 is beyond the range",
        ),
        (
            {"conversations.json": conversation(content="a\x00b")},
            "conversations.json: record c1: field messages[0].content: text holds a NUL character",
        ),
        (
            {"conversations.json": json.dumps(conversation(content="\ud83d"))},
            "conversations.json: record c1: field messages[0].content: text holds an unpaired surrogate",
        ),
        (
            {"conversations.json": json.dumps(conversation()).replace('"content": "x"', '"content": "x", "content": "y"')},
            "conversations.json: record c1: field messages[0].content: given more than once",
        ),
        # The record is 3 levels down (file, table, record), the list in "extra" 6.
        (
            {"conversations.json": conversation(extra=nested(40))},
            "conversations.json: record c1: field messages[0].extra" + "[0]" * 27 + ": nested deeper than 32 levels",
        ),
        (
            {"conversations.json": '{"conversations": {"1": ' + "[" * 100_000},
            "conversations.json: record 1: nested deeper than 32 levels (line 1, column 55)",
        ),
        (
            {
                "conversations.json": tinydb(
                    "conversations",
                    [
                        {
                            "conversation_id": "c1",
                            "username": "ayse",
                            "created_at": "2025-01-01T00:00:00",
                            "messages": [
                                {"message_id": "m" * 128 + s, "role": "user", "content": "x", "timestamp": "2025-01-01T00:00:00"}
                                for s in ("a", "b")
                            ],
                        }
                    ],
                )
            },
            "conversations.json: record c1 message #2: duplicate message_id",
        ),
        (
            {
                "sessions.json": tinydb(
                    "sessions",
                    [
                        {
                            "session_id": "same",
                            "username": "ayse",
                            "created_at": "2026-11-01T08:00:00",
                            "expires_at": "2099-01-01",
                        },
                        {
                            "session_id": "same",
                            "username": "emre",
                            "created_at": "2026-11-01T08:00:00",
                            "expires_at": "2099-01-01",
                        },
                    ],
                )
            },
            "sessions.json: record 2: duplicate session_id",
        ),
    ],
)
def test_a_record_that_cannot_be_stored_is_refused_by_the_real_and_the_dry_run(tmp_path, capsys, overrides, expected):
    assert expected in refused(tmp_path, capsys, **overrides)


def test_a_broken_company_record_is_refused_by_migrate_legacy_too(tmp_path, capsys):
    data, db = write_legacy(tmp_path)
    (data / "procedures.json").write_text('[{"id": "../PR001", "title": "A", "summary": "s", "tags": [1e400]}]')
    with pytest.raises(CommandError, match="Nothing was imported"):
        migrate(data, db)
    assert "procedures.json: record #1: field tags[0]: 1e400 is beyond the range of a number" in capsys.readouterr().err
    assert not User.objects.exists()


def test_a_sensitive_field_under_another_spelling_is_hidden_after_migration(tmp_path, client):
    data, db = write_legacy(tmp_path)
    employees = json.loads((data / "employees.json").read_text("utf-8"))
    employees[1].update({"Salary": 70500, "national_ID": "55566677788", "IBAN": "TR99 0001", "Maaş Bilgisi": "net"})
    (data / "employees.json").write_text(json.dumps(employees, ensure_ascii=False), "utf-8")
    migrate(data, db)
    body = Document.objects.get(key="E002").body
    assert body["salary"] == 70500 and body["national_id"] == "55566677788"
    client.force_login(User.objects.get(username="emre"))  # admin
    assert client.get("/api/documents/E002/").json()["body"]["IBAN"] == "TR99 0001"
    client.force_login(User.objects.get(username="ayse"))  # employee
    shown = client.get("/api/documents/E002/").json()["body"]
    assert {"salary", "national_id", "IBAN", "Maaş Bilgisi"}.isdisjoint(shown)
    page = client.get("/documents/E002/").content.decode()
    assert "70500" not in page and "55566677788" not in page and "TR99" not in page
