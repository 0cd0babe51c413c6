"""Realistic workplace conversations about the loaded company, scored strictly."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chatcore.progress import progress_over
from retrieval import chat_eval


class Command(BaseCommand):
    help = (
        "Asks the conversations of an eval file (default: the sample company's) through the answer "
        "pipeline and prints the share of right turns by category, the failures and one JSON line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=str(settings.SAMPLE_COMPANY_DIR / "chat_eval.yaml"))
        parser.add_argument("--provider", default=None, help="Provider name (default: LLM_PROVIDER).")
        parser.add_argument("--category", action="append", default=[], help="Only these categories.")
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print only the JSON line.")
        parser.add_argument("--all", dest="show_all", action="store_true", help="Print every answer, not only failures.")

    def handle(
        self, *args, file: str, provider: str | None, category: list[str], as_json: bool, show_all: bool, **options
    ) -> None:
        try:
            askers, conversations = chat_eval.load(file)
        except chat_eval.EvalFileError as exc:
            raise CommandError(str(exc)) from None
        if category:
            conversations = [c for c in conversations if any(t.category in category for t in c.turns)]
        outcomes = chat_eval.run(
            conversations,
            askers,
            provider=provider,
            progress=progress_over(self, desc="conversations", quiet=as_json),
        )
        if category:
            outcomes = [o for o in outcomes if o.turn.category in category]
        summary = chat_eval.summarise(outcomes)
        if not as_json:
            for outcome in outcomes:
                if outcome.right and not show_all:
                    continue
                mark = "ok  " if outcome.right else "FAIL"
                self.stdout.write(f"{mark} [{outcome.turn.category}] {outcome.turn.question}")
                if outcome.problems:
                    self.stdout.write("     " + "; ".join(outcome.problems))
                if outcome.found is False:
                    self.stdout.write("     search's top 3 misses " + ", ".join(outcome.turn.cite))
                self.stdout.write("     → " + outcome.answer.replace("\n", "\n       "))
            self.stdout.write("")
            self.stdout.write(f"{'category':<14}{'turns':>6}{'right':>8}{'search top 3':>14}")
            counts: dict[str, int] = {}
            for outcome in outcomes:
                counts[outcome.turn.category] = counts.get(outcome.turn.category, 0) + 1
            for name in chat_eval.CATEGORIES:
                if name in summary["categories"]:
                    top3 = summary["search_top3"].get(name)
                    self.stdout.write(
                        f"{name:<14}{counts[name]:>6}{summary['categories'][name]:>8.1%}"
                        f"{'' if top3 is None else format(top3, '.1%'):>14}"
                    )
            self.stdout.write(f"{'all':<14}{summary['turns']:>6}{summary['right']:>8.1%}")
            self.stdout.write(
                f"median words: lookup {summary['lookup_median_words']}, procedure fact "
                f"{summary['fact_median_words']}   p50: {summary['p50_ms']} ms"
            )
        self.stdout.write(json.dumps(summary))
