"""``eval_chat`` on the sample company: the share of right turns must not fall
below the floor reached (98.7% of 152 turns when written; every category at 90% or
more: see README, *Exact answers from the company records*)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import User

OVERALL_FLOOR = 0.95
CATEGORY_FLOOR = 0.90
# Answers from a procedure's structure (facts, steps, table rows, summaries, rules about the asker):
# the target for them is 85% each. A question in one language about a document in the other is
# answered once retrieval finds the document; with an English-only embedding model it often does
# not (50% of those turns when written), so that floor guards against a fall, not the target.
FLOORS: dict[str, float] = {
    "fact": 0.85,
    "steps": 0.85,
    "table-row": 0.85,
    "summary": 0.85,
    "asker-rule": 0.85,
    "cross-language": 0.45,
}


@pytest.fixture
def sample_company(db):
    call_command("load_company", str(settings.SAMPLE_COMPANY_DIR), verbosity=0)


def test_the_sample_company_conversations_stay_above_the_floor(sample_company, capsys):
    call_command("eval_chat", "--json")
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["turns"] >= 150
    assert summary["right"] >= OVERALL_FLOOR, summary
    low = {name: share for name, share in summary["categories"].items() if share < FLOORS.get(name, CATEGORY_FLOOR)}
    assert not low, summary
    assert summary["lookup_median_words"] <= 25
    assert summary["fact_median_words"] <= 30
    # Search alone, for questions in one language about a procedure written in the other: 11 of
    # 14 in the top 3 with the multilingual model (9 with the English-only one).
    assert summary["search_top3"]["cross-language"] >= 0.75, summary


def test_the_run_leaves_no_user_behind(sample_company, capsys):
    call_command("eval_chat", "--json", "--category", "asker")
    assert not User.objects.filter(username__startswith="eval-chat-").exists()


def test_a_broken_eval_file_is_a_clear_error(tmp_path, db):
    bad = tmp_path / "eval.yaml"
    bad.write_text("conversations:\n  - category: lookup\n    turns:\n      - {q: 'Who?', colour: red}\n")
    with pytest.raises(CommandError, match=r"turn 1: unknown fields \['colour'\]"):
        call_command("eval_chat", "--file", str(bad))
    bad.write_text("conversations: [")
    with pytest.raises(CommandError, match="eval.yaml"):
        call_command("eval_chat", "--file", str(bad))


@pytest.mark.parametrize("company", ["other_company", "third_company"])
def test_companies_the_answerer_was_not_written_for_stay_above_the_floor(db, capsys, company):
    """Two more companies (other names, departments, skills, cities, clients; one mostly
    English) and their questions: 84% and 91% when first asked, 100% after general fixes. Their
    procedures (steps, tables by day, distance, area and seniority; Turkish, English, bilingual) and
    the 24 questions about them were added later: 9 of 15 and 7 of 9 right when first asked, all after
    general fixes (unit words are no topic, a row is named by its first cell, a phrase's translation
    is not its words one by one)."""
    folder = Path(__file__).parent / company
    call_command("load_company", str(folder), verbosity=0)
    call_command("eval_chat", "--json", "--file", str(folder / "chat_eval.yaml"))
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["turns"] >= 20 and summary["right"] >= OVERALL_FLOOR, summary
