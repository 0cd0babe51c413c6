from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chatcore.api import StrictSerializer

from ..doctypes import DOC_TYPES
from ..models import Visibility
from ..selectors import document_body

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class DocumentSerializer(serializers.Serializer):
    """One document as the reader may see it: ``body`` holds sensitive fields (salary,
    national id, phone, budget) only for HR and admins."""

    key = serializers.CharField()
    doc_type = serializers.CharField()
    title = serializers.CharField(help_text="Derived from the body by the document type (e.g. first and last name).")
    body = serializers.SerializerMethodField()
    visibility = serializers.ChoiceField(choices=Visibility.choices)
    version = serializers.IntegerField(help_text="Bumped on every change; send it back with PUT to detect conflicts.")
    updated_at = serializers.DateTimeField()
    url = serializers.CharField(source="get_absolute_url", help_text="The document's page.")

    @extend_schema_field({"type": "object", "additionalProperties": {}})
    def get_body(self, document) -> dict:
        # No default reader: forgetting the context must fail, not show salaries.
        return document_body(document=document, user=self.context["user"])


class DocumentCreateSerializer(StrictSerializer):
    key = serializers.RegexField(
        KEY_PATTERN,
        max_length=64,
        help_text="Stable external id used in URLs and citations, e.g. E042: letters, digits, `_`, `.`, `-`.",
    )
    doc_type = serializers.ChoiceField(choices=list(DOC_TYPES))
    body = serializers.DictField(help_text="The fields of the document type's schema (plus any extra fields).")
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.STAFF)


class DocumentUpdateSerializer(StrictSerializer):
    """A full replacement of the body and the visibility; key and type never change."""

    body = serializers.DictField()
    visibility = serializers.ChoiceField(choices=Visibility.choices)
    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The version you read. When given and the document has changed since: 409, nothing written.",
    )
