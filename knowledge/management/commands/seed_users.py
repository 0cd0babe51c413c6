"""Create the demo users: an admin, an HR user and an employee linked to an
employee document. Idempotent: an existing user keeps its password unless a
DEMO_*_PASSWORD variable says otherwise."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import Role, User
from accounts.services import user_apply_role, user_create
from knowledge.models import Document

DEMO_USERS = [
    # username, role, env prefix, default employee key
    ("admin", Role.ADMIN, "DEMO_ADMIN", ""),
    ("hr", Role.HR, "DEMO_HR", "E019"),
    ("employee", Role.EMPLOYEE, "DEMO_EMPLOYEE", "E001"),
]


class Command(BaseCommand):
    help = "Create or update the demo admin, HR and employee users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--logins-file",
            default=str(settings.VAR_DIR / "demo-logins.txt"),
            help="Where generated passwords are written (mode 600) so `make run` can show them again.",
        )

    @transaction.atomic
    def handle(self, *args, logins_file: str, **options) -> None:
        lines = []
        for username, role, prefix, default_key in DEMO_USERS:
            username = os.environ.get(f"{prefix}_USERNAME", username)
            password = os.environ.get(f"{prefix}_PASSWORD", "")
            key = os.environ.get(f"{prefix}_EMPLOYEE_KEY", default_key)
            employee = Document.objects.filter(key=key, doc_type="employee").first() if key else None
            full_name = employee.title if employee else f"Demo {role.label}"
            email = (employee.body.get("email") or "") if employee else ""
            user = User.objects.filter(username=username).first()
            if user is None:
                generated = not password
                password = password or secrets.token_urlsafe(12)
                user = user_create(
                    username=username,
                    role=role,
                    password=password,
                    full_name=full_name,
                    email=email,
                    employee_key=employee.key if employee else "",
                )
                self.stdout.write(self.style.SUCCESS(f"Created {role.label} user {username!r}."))
                lines.append(f"{role.label:<9} {username:<10} {password}" + ("" if generated else "  (from environment)"))
            else:
                user.role = role
                user.full_name = full_name
                user.email = email or user.email
                user.employee_key = employee.key if employee else user.employee_key
                user.is_active = True
                if password and not user.check_password(password):
                    user.set_password(password)
                user.save()
                user_apply_role(user=user)
                self.stdout.write(f"{role.label} user {username!r} already exists; updated its role and profile.")
        if lines:
            path = Path(logins_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            existing = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
            renewed = {line.split()[1] for line in lines}
            kept = [line for line in existing if len(line.split()) > 1 and line.split()[1] not in renewed]
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write("\n".join(kept + lines) + "\n")
            self.stdout.write(f"Demo logins (shown once; also saved to {path}):")
            for line in lines:
                self.stdout.write(f"  {line}")
