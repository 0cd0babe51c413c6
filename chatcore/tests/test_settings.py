from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_production():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="chat.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {"DJANGO_ENV": "production", "SECRET_KEY": "", "ALLOWED_HOSTS": "chat.example.com"}
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_secret_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text(secrets.token_urlsafe(64))
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY="",
        SECRET_KEY_FILE=str(key_file),
        ALLOWED_HOSTS="chat.example.com",
    )
    assert result.returncode == 0, result.stderr


def test_a_misspelt_boolean_fails_loudly():
    result = run_manage("check", DEBUG="ture")
    assert result.returncode != 0
    assert "DEBUG='ture' is not a boolean" in result.stderr


def test_an_unknown_llm_provider_fails_loudly():
    result = run_manage("check", LLM_PROVIDER="skynet")
    assert result.returncode != 0
    assert "LLM_PROVIDER" in result.stderr


def test_an_unknown_django_env_fails_loudly():
    result = run_manage("check", DJANGO_ENV="staging")
    assert result.returncode != 0
    assert "DJANGO_ENV='staging'" in result.stdout + result.stderr


@pytest.mark.parametrize("path", ["/healthz"])
def test_healthz_answers_without_login(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_redis_channel_layer_reads_for_longer_than_redis_blocks():
    # Otherwise a consumer's read can time out just before Redis answers its blocking
    # pop, and the chat socket is closed with 1011 after a few idle seconds.
    from channels_redis.core import RedisChannelLayer
    from channels_redis.utils import create_pool

    show = "import json; from django.conf import settings; print(json.dumps(settings.CHANNEL_LAYERS['default']))"
    result = run_manage("shell", "-c", show, REDIS_URL="redis://127.0.0.1:6379/0")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout.strip().splitlines()[-1])
    layer = RedisChannelLayer(**config["CONFIG"])
    assert create_pool(layer.hosts[0]).make_connection().socket_timeout > layer.brpop_timeout
