"""Conversations and their messages."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

# Short ids go in URLs; 10 characters of a 62-letter alphabet give ~8e17 ids.
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
ID_LENGTH = 10
# Legacy ids (kept so old links still work) may be longer or contain - and _.
ID_PATTERN = r"[A-Za-z0-9_-]{1,64}"


def new_conversation_id() -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


class Conversation(models.Model):
    id = models.CharField(
        primary_key=True,
        max_length=64,
        editable=False,
        validators=[RegexValidator(f"^{ID_PATTERN}$")],
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    title = models.CharField(max_length=200, blank=True)
    message_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return self.title or self.id

    def get_absolute_url(self) -> str:
        return reverse("conversation", args=[self.id])


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"
        SYSTEM = "system", "System"

    class Feedback(models.IntegerChoices):
        UP = 1, "Helpful"
        DOWN = -1, "Not helpful"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField()
    # [{"key": "PR001", "score": 0.83}, ...] in citation order: [1] is the first.
    used_documents = models.JSONField(default=list, blank=True)
    token_count = models.PositiveIntegerField(default=0)
    provider = models.CharField(max_length=32, blank=True)
    model = models.CharField(max_length=128, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    cached = models.BooleanField(default=False)
    incomplete = models.BooleanField(default=False, help_text="Generation stopped before the answer was finished.")
    feedback = models.SmallIntegerField(choices=Feedback.choices, null=True, blank=True)
    legacy_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at", "id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "legacy_id"],
                condition=~models.Q(legacy_id=""),
                name="message_unique_legacy_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"

    @property
    def cited_keys(self) -> list[str]:
        return [item["key"] for item in self.used_documents if isinstance(item, dict) and item.get("key")]
