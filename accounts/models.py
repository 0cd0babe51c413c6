"""Users with a role, and the devices they are signed in on."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_noop


class Role(models.TextChoices):
    # Marked, not translated here: commands and files use these labels; pages translate them.
    ADMIN = "admin", gettext_noop("Admin")
    HR = "hr", gettext_noop("HR")
    EMPLOYEE = "employee", gettext_noop("Employee")


class User(AbstractUser):
    """A member of staff. ``employee_key`` links to the employee document
    (``knowledge.Document.key``) by its stable external id, so the link survives
    re-imports and keeps ``accounts`` free of a dependency on ``knowledge``."""

    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EMPLOYEE, db_index=True)
    employee_key = models.CharField(
        "employee document",
        max_length=64,
        blank=True,
        db_index=True,
        help_text="Key of the employee document this user is, e.g. E001.",
    )
    # What the legacy import last wrote of the values an admin may change here
    # ({"role": "hr", "is_active": true}): a re-run updates a value only while it
    # still holds what the import wrote, so it never undoes a demotion.
    legacy_imported = models.JSONField(default=dict, blank=True, editable=False)

    # True while check_password() runs: a save then is Django re-hashing the same password
    # with a newer hasher (a migrated user's first sign-in), not a change of password.
    _rehashing = False

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username

    def check_password(self, raw_password: str) -> bool:
        self._rehashing = True
        try:
            return super().check_password(raw_password)
        finally:
            self._rehashing = False

    async def acheck_password(self, raw_password: str) -> bool:
        self._rehashing = True
        try:
            return await super().acheck_password(raw_password)
        finally:
            self._rehashing = False

    def password_is_changing(self, *, update_fields: Iterable[str] | None = None) -> bool:
        """Whether saving now stores another password than the stored one: set, reset
        or made unusable by any route. Re-hashing the same password is not a change."""
        if self._rehashing or self.pk is None:
            return False
        if update_fields is not None and "password" not in update_fields:
            return False
        stored = User.objects.filter(pk=self.pk).values_list("password", flat=True).first()
        return stored is not None and stored != self.password

    @property
    def display_name(self) -> str:
        return self.full_name or self.get_full_name() or self.username

    @property
    def is_hr(self) -> bool:
        """HR and admins may see sensitive fields (salary, national id, phone, budget)."""
        return self.is_active and (self.role in (Role.HR, Role.ADMIN) or self.is_superuser)


class LoginSession(models.Model):
    """One signed-in device: a page login, a JWT login, or a session carried over
    from the legacy system (which grants no access by itself)."""

    class Kind(models.TextChoices):
        # Marked, not translated here (like Role): the sessions page translates them.
        WEB = "web", gettext_noop("Web")
        JWT = "jwt", gettext_noop("API (JWT)")
        LEGACY = "legacy", gettext_noop("Legacy import")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    jti = models.CharField("JWT id", max_length=64, blank=True, db_index=True)
    legacy_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_activity = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)

    class Meta:
        ordering = ["-last_activity"]
        indexes = [models.Index(fields=["user", "-last_activity"])]
        constraints = [
            models.UniqueConstraint(
                fields=["legacy_id"], condition=~models.Q(legacy_id=""), name="loginsession_unique_legacy_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_kind_display()} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()
