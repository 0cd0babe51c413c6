"""``bench load`` end to end: two real daphne processes, token users and an abusive client."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import User
from chatcore.benchmarks.kit import create_users, remove_users
from knowledge.tests.test_load_company import write_company

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = {"rps", "chat_rps", "list_rps", "p50_ms", "p95_ms", "p99_ms", "errors", "rate_limited"}


@pytest.fixture(autouse=True)
def _servers_count_in_their_own_memory(monkeypatch):
    # Other tests clear the shared Redis database, which could reset the sign-in count
    # mid-run; the throwaway dataset needs no Redis.
    monkeypatch.delenv("REDIS_URL", raising=False)


def test_bench_load_serves_every_user_and_refuses_the_abusive_client(tmp_path, capsys):
    call_command(
        "bench", "load", "--users", "3", "--seconds", "3", "--json", "--dataset", str(write_company(tmp_path / "company"))
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    result = json.loads(out[0])
    assert set(result) == FIELDS
    assert result["errors"] == 0
    assert result["rate_limited"] > 0
    assert result["rps"] > 0 and result["list_rps"] > 0
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
    assert not User.objects.exists()


def test_bench_load_sends_only_the_kinds_of_its_mix(tmp_path, capsys):
    call_command(
        "bench",
        "load",
        "--users",
        "2",
        "--seconds",
        "2",
        "--mix",
        "list=1",
        "--dataset",
        str(write_company(tmp_path / "company")),
    )
    out = capsys.readouterr().out.strip().splitlines()
    table, result = "\n".join(out[:-1]), json.loads(out[-1])
    assert "mix: list 100%" in table
    assert result["list_rps"] == result["rps"] > 0 and result["chat_rps"] == 0 and result["errors"] == 0


def test_bench_load_prints_a_table_then_the_json_line(company, capsys):
    call_command("bench", "load", "--users", "2", "--seconds", "2")
    captured = capsys.readouterr()
    out = captured.out.strip().splitlines()
    assert set(json.loads(out[-1])) == FIELDS
    table = "\n".join(out[:-1])
    assert "abusive" in table and "load average" in table and "target  ≥ 50 chat answers/s" in table
    assert "REDIS_URL is not set" in captured.err
    # The bench users leave nothing behind.
    assert not User.objects.filter(username__startswith="bench-load-").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--users", "0"], "--users must be between 1 and 500"),
        (["--seconds", "0"], "--seconds must be between 1 and 600"),
        (["--mix", "list=1,upload=2"], "give kind=weight pairs"),
        (["--mix", "list=1,list=2"], "each kind once"),
        (["--mix", "list=-1"], "whole numbers"),
        (["--mix", "chat=0,list=0"], "at least one weight"),
    ],
)
def test_bench_load_refuses_bad_arguments_before_starting_anything(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("bench", "load", *args)


@pytest.mark.postgres
def test_bench_users_are_removed_after_the_database_dropped_the_benchs_connection():
    """A PostgreSQL restart during the run kills the bench's own connection; cleaning up
    afterwards must get a new one instead of failing with the results unprinted."""
    create_users("bench-load-", "Load benchmark", 2, "pw")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    # As a restart does: the server ends the session from its side.
    with connection.pool.connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    remove_users("bench-load-", "Load benchmark", [])
    assert not User.objects.filter(username__startswith="bench-load-").exists()
