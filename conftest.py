"""Shared fixtures: three people (an employee who owns things, an HR user, a
stranger) plus an admin, and a small company written by the tests themselves."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
from django.core.cache import cache
from django.db import connection

from accounts.models import Role
from accounts.services import user_create

PASSWORD = "correct horse battery staple"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _require(what: str, available: bool) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI but is not configured or reachable")
    pytest.skip(f"{what} not configured")


def redis_available() -> bool:
    url = os.environ.get("REDIS_URL")
    if not url:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def free_port() -> int:
    """A loopback port nothing listens on (the kernel's pick, released at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen) -> None:
    """Stop a server or worker a test started: politely, then for sure."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def closed_port() -> int:
    return free_port()


@pytest.fixture(autouse=True)
def _service_markers(request):
    if request.node.get_closest_marker("postgres"):
        _require("PostgreSQL (DATABASE_URL=postgres://…)", connection.vendor == "postgresql")
    if request.node.get_closest_marker("redis"):
        _require("Redis (REDIS_URL)", redis_available())


@pytest.fixture(autouse=True)
def _own_index_dir(settings, tmp_path):
    """Each test gets its own INDEX_DIR and a process that has loaded no index."""
    from retrieval.services import reset_process_cache

    settings.INDEX_DIR = tmp_path / "index"
    reset_process_cache()
    yield
    reset_process_cache()


def _clear_own_cache() -> None:
    # django-redis's clear() is FLUSHDB: it would also wipe the keys (rate-limit counts,
    # cached answers) of every other test process sharing the Redis database. Each
    # process has its own KEY_PREFIX (settings/test.py); delete only that.
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _clear_cache():
    _clear_own_cache()
    yield
    _clear_own_cache()


@pytest.fixture
def embedded_backend(settings):
    """Search with the embedded backend (files under INDEX_DIR), whatever the database."""
    settings.RETRIEVAL_BACKEND = "retrieval.indexes.embedded.EmbeddedBackend"


@pytest.fixture
def postgres_backend(settings):
    """Search with the PostgreSQL backend (tests marked ``postgres``)."""
    settings.RETRIEVAL_BACKEND = "retrieval.indexes.postgres.PostgresBackend"


@pytest.fixture
def english(settings):
    """English pages and messages, for tests that read English text. Without a
    language cookie or Accept-Language a client gets LANGUAGE_CODE (Turkish)."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def company(db):
    """A tiny company: two departments, three employees, a project, a procedure."""
    from knowledge.models import Document, Visibility

    def doc(key, doc_type, title, body, visibility=Visibility.STAFF):
        return Document.objects.create(key=key, doc_type=doc_type, title=title, body=body, visibility=visibility)

    docs = {
        "D1": doc("D1", "department", "Yazılım", {"name": "Yazılım", "head_id": "E2", "budget": 900000, "location": "İstanbul"}),
        "D2": doc("D2", "department", "İnsan Kaynakları", {"name": "İnsan Kaynakları", "budget": 300000}),
        "E1": doc(
            "E1",
            "employee",
            "Ayşe Yılmaz",
            {
                "first_name": "Ayşe",
                "last_name": "Yılmaz",
                "title": "Engineer",
                "department_id": "D1",
                "manager_id": "E2",
                "email": "ayse@example.com",
                "phone": "+90 532 111 2233",
                "skills": ["Python", "Kafka"],
                "salary": 85000,
                "national_id": "12345678901",
            },
        ),
        "E2": doc(
            "E2",
            "employee",
            "Emre Şahin",
            {
                "first_name": "Emre",
                "last_name": "Şahin",
                "title": "CTO",
                "department_id": "D1",
                "manager_id": None,
                "email": "emre@example.com",
                "salary": 210000,
                "national_id": "10987654321",
            },
        ),
        "E3": doc(
            "E3",
            "employee",
            "Zeynep Kaya",
            {
                "first_name": "Zeynep",
                "last_name": "Kaya",
                "title": "HR Specialist",
                "department_id": "D2",
                "manager_id": "E2",
                "email": "zeynep@example.com",
            },
        ),
        "P1": doc(
            "P1",
            "project",
            "Kervan",
            {
                "name": "Kervan",
                "code": "KERVAN",
                "status": "active",
                "department_id": "D1",
                "lead_id": "E2",
                "members": ["E1", "E2"],
            },
        ),
        "PR1": doc(
            "PR1",
            "procedure",
            "Yıllık İzin",
            {
                "title": "Yıllık İzin",
                "summary": "İzin talebi İK Portalı üzerinden yapılır.",
                "steps": ["Bakiyeni kontrol et.", "Talebi yöneticine gönder."],
                "content": "**En az 2 gün** önceden.",
            },
        ),
        "PR9": doc(
            "PR9",
            "procedure",
            "Bordro Kapanışı",
            {"title": "Bordro Kapanışı", "summary": "Payroll close, HR only."},
            visibility=Visibility.HR,
        ),
    }
    return docs


@pytest.fixture
def alice(db):
    """An employee: owns conversations, sees only staff views."""
    return user_create(username="alice", role=Role.EMPLOYEE, password=PASSWORD, full_name="Ayşe Yılmaz", employee_key="E1")


@pytest.fixture
def hr_user(db):
    return user_create(username="hilal", role=Role.HR, password=PASSWORD, full_name="Hilal İK")


@pytest.fixture
def stranger(db):
    """Another employee who must never see alice's things."""
    return user_create(username="charlie", role=Role.EMPLOYEE, password=PASSWORD, full_name="Charlie")


@pytest.fixture
def admin_user(db):
    return user_create(username="root", role=Role.ADMIN, password=PASSWORD, full_name="Admin")
