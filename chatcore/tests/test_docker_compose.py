"""docker-compose.yml is read, not run (no Docker in tests): its services, replicas,
health checks and the variables it hands the app must fit the settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def settings_variables() -> set[str]:
    source = "\n".join(p.read_text() for p in (ROOT / "chatcore" / "settings").glob("*.py"))
    names = set(re.findall(r"""(?:environ\.get|env\.\w+)\(\s*["']([A-Z][A-Z0-9_]+)["']""", source))
    names |= {f"{n}_FILE" for n in re.findall(r"""env\.secret\(\s*["']([A-Z][A-Z0-9_]+)["']""", source)}
    return names


def test_it_runs_two_web_replicas_behind_a_proxy_and_a_worker(compose):
    services = compose["services"]
    assert {"db", "redis", "migrate", "web", "worker", "proxy"} <= set(services)
    # PostgreSQL 15 with pgvector: the search index lives there.
    assert services["db"]["image"] == "pgvector/pgvector:pg15" and services["redis"]["image"] == "redis:7"
    assert services["web"]["deploy"]["replicas"] == 2
    # Two replicas cannot publish one host port: only the proxy publishes one.
    assert "ports" not in services["web"]
    assert services["proxy"]["ports"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "chatcore", "worker"]


def test_web_and_worker_start_after_migrate_has_finished(compose):
    for name in ("web", "worker"):
        assert compose["services"][name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "seed_users" not in " ".join(compose["services"]["migrate"]["command"])


def test_every_long_running_service_has_a_health_check(compose):
    for name in ("db", "redis", "web", "worker", "proxy"):
        assert compose["services"][name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(compose["services"]["web"]["healthcheck"]["test"])


def test_the_app_containers_share_one_index_volume(compose):
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["environment"]["INDEX_DIR"].startswith("/var/lib/chatcore/")
        assert "chatcore-data:/var/lib/chatcore" in service["volumes"]
    assert "chatcore-data" in compose["volumes"]


def test_every_variable_it_sets_is_read_by_the_settings(compose):
    known = settings_variables()
    for name in APP_SERVICES:
        assert set(compose["services"][name]["environment"]) <= known, name


def test_the_proxy_takes_no_bigger_body_than_django(compose, settings):
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    size = re.search(r"client_max_body_size\s+(\d+)k;", conf)
    assert size and int(size.group(1)) * 1024 == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in compose["services"]["proxy"]["volumes"]
