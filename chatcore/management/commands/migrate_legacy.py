"""Migrate the legacy system's data: company JSON files and TinyDB users, sessions, conversations."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from chatcore.legacy import legacy_apply, legacy_plan
from chatcore.legacy_json import printable
from chatcore.progress import progress_bar, progress_callback
from knowledge.management.commands.load_company import write_company_report, write_problems


class Command(BaseCommand):
    help = (
        "Import the legacy data without loss: company documents, users (with their passwords), live sessions "
        "and conversations. Idempotent; all-or-nothing unless --no-strict."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", required=True, help="Legacy backend/data directory (the four company files).")
        parser.add_argument("--tinydb", required=True, help="Directory with users.json, sessions.json, conversations.json.")
        parser.add_argument("--dry-run", action="store_true", help="Check and report; write nothing.")
        parser.add_argument(
            "--no-strict",
            dest="strict",
            action="store_false",
            help="Import what is valid and skip broken records (default: any problem aborts everything).",
        )
        parser.add_argument(
            "--timezone",
            default=settings.TIME_ZONE,
            help="Time zone of the legacy timestamps that carry none (default: TIME_ZONE, %(default)s).",
        )

    def handle(self, *args, data: str, tinydb: str, dry_run: bool, strict: bool, timezone: str, **options) -> None:
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise CommandError(f"Unknown time zone {timezone!r}.") from None
        plan = legacy_plan(data_dir=data, tinydb_dir=tinydb, strict=strict, tz=timezone)
        problems = plan.all_problems
        if problems:
            self.stderr.write(f"{len(problems)} problem(s):")
            write_problems(self, problems)
            if strict:
                raise CommandError("Nothing was imported. Fix the records above, or use --no-strict to skip them.")
        write_company_report(self, plan.company, dry_run=dry_run, verbosity=options["verbosity"])
        if dry_run:
            self.stdout.write(
                f"Would import {len(plan.users)} user(s), {len(plan.sessions)} live session(s), "
                f"{len(plan.conversations)} conversation(s) with "
                f"{sum(len(c.messages) for c in plan.conversations)} message(s)."
            )
            self._write_skipped(plan.tally.skipped)
            self._write_kept(plan.kept)
            self.stdout.write("Dry run: nothing was written.")
            return
        try:
            with progress_bar(self, desc="importing", unit="record", quiet=options["verbosity"] == 0) as bar:
                tally = legacy_apply(plan=plan, progress=progress_callback(bar))
        except DatabaseError as exc:
            # Everything was checked first, so this is unexpected; the transaction is undone.
            raise CommandError(f"Nothing was imported: the database refused a write ({exc}).") from None
        self.stdout.write("Imported:")
        for kind in ("documents", "users", "sessions", "conversations", "messages"):
            self.stdout.write(
                f"  {kind:<14} created {tally.created[kind]:>5}   updated {tally.updated[kind]:>5}"
                f"   unchanged {tally.unchanged[kind]:>5}"
            )
        self._write_skipped(tally.skipped)
        self._write_kept(tally.kept)
        self.stdout.write(self.style.SUCCESS("Done."))

    def _write_kept(self, kept: list[str]) -> None:
        if kept:
            self.stdout.write(f"Left as changed here since the last import ({len(kept)}):")
            for line in kept:
                self.stdout.write(f"  - {line}")

    def _write_skipped(self, skipped: list[tuple[str, str, str]]) -> None:
        if skipped:
            self.stdout.write(f"Skipped {len(skipped)} record(s):")
            for file, record, reason in skipped:
                self.stdout.write(f"  - {file}: record {printable(record)}: {reason}")
