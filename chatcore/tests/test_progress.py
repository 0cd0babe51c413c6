"""Long commands draw a progress bar on a terminal and stay quiet in a pipe or a log."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stream, drawn", [(Terminal, True), (io.StringIO, False)], ids=["terminal", "pipe"])
def test_load_company_draws_its_bar_only_on_a_terminal(stream, drawn, embedded_backend):
    err = stream()
    call_command("load_company", str(ROOT / "sample_company"), stdout=io.StringIO(), stderr=err)
    assert ("writing documents" in err.getvalue()) is drawn
    err = stream()
    call_command("rebuild_index", stdout=io.StringIO(), stderr=err)
    assert ("indexing passages" in err.getvalue()) is drawn
