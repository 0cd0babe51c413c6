"""Import the four company files (employees, departments, projects, procedures)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from chatcore.legacy_json import printable
from chatcore.progress import progress_bar, progress_callback
from knowledge.models import Document
from knowledge.services import CompanyPlan, company_apply, company_plan


def write_company_report(command: BaseCommand, plan: CompanyPlan, *, dry_run: bool, verbosity: int = 1) -> None:
    counts = plan.counts()
    types = sorted(set().union(*counts.values()))
    verb = "would be" if dry_run else "were"
    command.stdout.write(f"Company documents ({'dry run, nothing written' if dry_run else 'written'}):")
    for name in types:
        command.stdout.write(
            f"  {name:<11} created {counts['created'][name]:>4}   updated {counts['updated'][name]:>4}"
            f"   unchanged {counts['unchanged'][name]:>4}"
        )
    if not types:
        command.stdout.write("  (no documents)")
    if verbosity > 1:
        for record in plan.create:
            command.stdout.write(f"  + {record.key} {printable(record.title, 300)} {verb} created")
        for _, record in plan.update:
            command.stdout.write(f"  ~ {record.key} {printable(record.title, 300)} {verb} updated")


def write_problems(command: BaseCommand, problems: list) -> None:
    for problem in problems:
        command.stderr.write(f"  ✗ {problem}")


class Command(BaseCommand):
    help = "Import company knowledge from a directory in the legacy format (idempotent, all-or-nothing by default)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", help="Directory with employees.json, departments.json, projects.json, procedures.json")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when documents already exist (so a restart never overwrites what HR edited).",
        )
        parser.add_argument(
            "--no-strict",
            dest="strict",
            action="store_false",
            help="Import the valid records and skip the broken ones (default: any problem aborts the import).",
        )

    def handle(self, *args, directory: str, dry_run: bool, strict: bool, if_empty: bool, **options) -> None:
        if if_empty and Document.objects.exists():
            self.stdout.write(f"Documents already exist ({Document.objects.count()}); {directory} not loaded again.")
            return
        plan = company_plan(directory=directory, strict=strict)
        if plan.problems:
            self.stderr.write(f"{len(plan.problems)} problem(s) in {directory}:")
            write_problems(self, plan.problems)
            if strict:
                raise CommandError("Nothing was imported. Fix the records above, or use --no-strict to skip them.")
        write_company_report(self, plan, dry_run=dry_run, verbosity=options["verbosity"])
        if dry_run:
            return
        try:
            with progress_bar(self, desc="writing documents", unit="document", quiet=options["verbosity"] == 0) as bar:
                keys = company_apply(plan=plan, progress=progress_callback(bar))
        except DatabaseError as exc:
            # Everything was checked first, so this is unexpected; the transaction is undone.
            raise CommandError(f"Nothing was imported: the database refused a write ({exc}).") from None
        self.stdout.write(self.style.SUCCESS(f"Done: {len(keys)} document(s) changed."))
