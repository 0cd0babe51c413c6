from __future__ import annotations

from rest_framework import serializers

from retrieval.api.serializers import DocumentResultSerializer

from ..answering import MAX_QUESTION_CHARS
from ..models import ID_PATTERN


class StrictCharField(serializers.CharField):
    """Text only: a number or a list is a 400, not silently turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ChatRequestSerializer(serializers.Serializer):
    message = StrictCharField(max_length=MAX_QUESTION_CHARS, trim_whitespace=True)
    conversation = serializers.RegexField(f"^{ID_PATTERN}$", required=False, allow_null=True)


class SourceSerializer(DocumentResultSerializer):
    n = serializers.IntegerField(help_text="The citation number: [n] in the answer.")
    snippet = None


class ChatResponseSerializer(serializers.Serializer):
    conversation = serializers.CharField()
    message_id = serializers.IntegerField()
    answer = serializers.CharField()
    sources = SourceSerializer(many=True)
    provider = serializers.CharField()
    model = serializers.CharField()
    cached = serializers.BooleanField()
    token_count = serializers.IntegerField()


class FeedbackSerializer(serializers.Serializer):
    value = serializers.ChoiceField(choices=[1, -1], allow_null=True)
