"""``manage.py bench`` hands each benchmark to the app it measures."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from retrieval.tests.test_engine import write_beir


def test_bench_retrieval_keeps_its_arguments_and_output(tmp_path, capsys):
    call_command(
        "bench", "retrieval", "--dataset", str(write_beir(tmp_path / "set")), "--limit", "1", "--scale", "0", "--no-langchain"
    )
    lines = capsys.readouterr().out.strip().splitlines()
    # The embedder's own row first, then the retrieval table.
    assert "passages/s" in lines[0] and "multilingual-e5-small" in lines[1]
    table = lines.index(next(line for line in lines if "nDCG@10" in line))
    assert "chatcore hybrid" in lines[table + 1]
    result = json.loads(lines[-1])
    assert result["scale"] == []
    assert [(r["method"], r["queries"]) for r in result["retrieval"]] == [("chatcore hybrid", 1)]


def test_bench_retrieval_json_prints_only_the_json_line(tmp_path, capsys):
    call_command(
        "bench",
        "retrieval",
        "--dataset",
        str(write_beir(tmp_path / "set")),
        "--limit",
        "1",
        "--scale",
        "0",
        "--no-langchain",
        "--json",
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and set(json.loads(lines[0])) == {"embedders", "retrieval", "scale"}


@pytest.mark.parametrize("args", [[], ["nonsense"], ["retrieval", "--users", "3"]])
def test_an_unknown_benchmark_or_option_is_refused(args):
    with pytest.raises(CommandError):
        call_command("bench", *args)
