"""Company knowledge: one ``Document`` per employee, department, project, procedure…"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from .doctypes import DOC_TYPES, DocType, get_doctype


def validate_doc_type(value: str) -> None:
    if value not in DOC_TYPES:
        raise ValidationError(f"Unknown document type {value!r}; known: {', '.join(DOC_TYPES)}.")


class Visibility(models.TextChoices):
    STAFF = "staff", "All staff"
    HR = "hr", "HR and admins only"


class Document(models.Model):
    """A piece of company knowledge. ``key`` is the stable external id (``E001``)
    used in links, URLs, citations and imports; ``body`` holds the fields of its
    ``doc_type`` schema plus any extra fields an import brought along."""

    key = models.CharField(max_length=64, unique=True)
    # Not a ``choices`` field: the list lives in ``doctypes.DOC_TYPES`` and may
    # grow without a migration.
    doc_type = models.CharField(max_length=32, db_index=True, validators=[validate_doc_type])
    title = models.CharField(max_length=300)
    body = models.JSONField(default=dict)
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.STAFF)
    version = models.PositiveIntegerField(default=1, help_text="Bumped on every change.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["doc_type", "key"]
        indexes = [models.Index(fields=["doc_type", "key"])]

    def __str__(self) -> str:
        return f"{self.key} · {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("document", args=[self.key])

    @property
    def schema(self) -> DocType:
        return get_doctype(self.doc_type)

    def is_visible_to(self, user) -> bool:
        if not user.is_authenticated or not user.is_active:
            return False
        return self.visibility == Visibility.STAFF or user.is_hr

    def visible_body(self, user) -> dict:
        """The body without the sensitive fields, unless ``user`` is HR or an admin."""
        return self.schema.visible_body(self.body, hr=user.is_hr)
