"""A small legacy data set (JSON company files + TinyDB files) written by the tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from knowledge.tests.test_load_company import write_company

PASSWORDS = {"ayse": "Ayse-eski-1", "hilal": "Hilal-eski-2", "emre": "Emre-eski-3"}
SALTS = {"ayse": "0f" * 16, "hilal": "a1" * 16, "emre": "7c" * 16}


def legacy_user(username, full_name, role, employee_id=None, **extra):
    salt = SALTS[username]
    digest = hashlib.pbkdf2_hmac("sha256", PASSWORDS[username].encode(), bytes.fromhex(salt), 100_000).hex()
    return {
        "username": username,
        "full_name": full_name,
        "email": f"{username}@example.com",
        "role": role,
        "employee_id": employee_id,
        "is_active": True,
        "created_at": "2023-05-02T09:14:00",
        "salt": salt,
        "password_hash": digest,
        **extra,
    }


def tinydb(table: str, records: list[dict], default: dict | None = None) -> dict:
    data = {table: {str(i + 1): r for i, r in enumerate(records)}}
    if default is not None:
        data["_default"] = default
    return data


def write_legacy(root: Path, **overrides) -> tuple[Path, Path]:
    """Write ``root/data`` (company) and ``root/db`` (TinyDB); ``overrides`` replaces
    a TinyDB file's content (a dict or raw text)."""
    data = write_company(root / "data")
    db = root / "db"
    db.mkdir(parents=True, exist_ok=True)
    files = {
        "users.json": tinydb(
            "users",
            [
                legacy_user("ayse", "Ayşe Yılmaz", "employee", "E002"),
                legacy_user("hilal", "Hilal Kaya", "hr"),
                legacy_user("emre", "Emre Şahin", "admin", "E001"),
            ],
            default={},
        ),
        "sessions.json": tinydb(
            "sessions",
            [
                {
                    "session_id": "live-1",
                    "username": "ayse",
                    "created_at": "2026-11-01T08:00:00",
                    "last_activity": "2026-11-20T10:00:00",
                    "expires_at": "2099-01-01T00:00:00",
                    "revoked": False,
                },
                {
                    "session_id": "old-1",
                    "username": "ayse",
                    "created_at": "2024-01-01T08:00:00",
                    "last_activity": "2024-01-01T09:00:00",
                    "expires_at": "2024-01-02T00:00:00",
                    "revoked": False,
                },
                {
                    "session_id": "revoked-1",
                    "username": "emre",
                    "created_at": "2026-11-01T08:00:00",
                    "last_activity": "2026-11-01T08:00:00",
                    "expires_at": "2099-01-01T00:00:00",
                    "revoked": True,
                },
            ],
        ),
        "conversations.json": tinydb(
            "conversations",
            [
                {
                    "conversation_id": "k3J9xQ2a",
                    "username": "ayse",
                    "title": "Leave question",
                    "created_at": "2025-02-01T10:00:00",
                    "updated_at": "2025-02-01T10:01:00",
                    "messages": [
                        {
                            "message_id": "m1",
                            "role": "user",
                            "content": "How do I request leave?",
                            "timestamp": "2025-02-01T10:00:00",
                            "used_documents": [],
                            "token_count": 7,
                        },
                        {
                            "message_id": "m2",
                            "role": "assistant",
                            "content": "Use the portal [1].",
                            "timestamp": "2025-02-01T10:00:05",
                            "used_documents": ["PR001"],
                            "token_count": 42,
                        },
                        {
                            "message_id": "m3",
                            "role": "user",
                            "content": "Teşekkürler!",
                            "timestamp": "2025-02-01T10:00:05",
                            "used_documents": [],
                            "token_count": 2,
                        },
                    ],
                },
                {
                    "conversation_id": "ghost-conv",
                    "username": "nobody",
                    "title": "Orphan",
                    "created_at": "2025-02-01T10:00:00",
                    "updated_at": "2025-02-01T10:00:00",
                    "messages": [],
                },
                {
                    "conversation_id": "Emre_2",
                    "username": "emre",
                    "title": "Kervan kim?",
                    "created_at": "2025-03-01T12:00:00",
                    "updated_at": "2025-03-01T12:00:00",
                    "messages": [
                        {
                            "message_id": "a",
                            "role": "user",
                            "content": "Kervan'ı kim yönetiyor?",
                            "timestamp": "2025-03-01T12:00:00",
                        }
                    ],
                },
            ],
        ),
    }
    files.update(overrides)
    for name, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        (db / name).write_text(text, encoding="utf-8")
    return data, db
