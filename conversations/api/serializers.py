from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from chatcore.api import StrictSerializer
from retrieval.api.serializers import DocumentResultSerializer

from ..answering import MAX_QUESTION_CHARS
from ..models import ID_PATTERN, Message
from ..services import MAX_TITLE_CHARS


class ChatRequestSerializer(StrictSerializer):
    message = serializers.CharField(max_length=MAX_QUESTION_CHARS, trim_whitespace=True)
    conversation = serializers.RegexField(f"^{ID_PATTERN}$", required=False, allow_null=True)


class SourceSerializer(DocumentResultSerializer):
    n = serializers.IntegerField(help_text="The citation number: [n] in the answer.")
    snippet = None


class ChatResponseSerializer(serializers.Serializer):
    conversation = serializers.CharField()
    message_id = serializers.IntegerField()
    answer = serializers.CharField(allow_blank=True)
    sources = SourceSerializer(many=True)
    provider = serializers.CharField()
    model = serializers.CharField(allow_blank=True)
    cached = serializers.BooleanField()
    token_count = serializers.IntegerField()


class FeedbackSerializer(StrictSerializer):
    value = serializers.ChoiceField(choices=Message.Feedback.choices, allow_null=True)


# --- Conversations --------------------------------------------------------------


class ConversationCreateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=MAX_TITLE_CHARS, required=False, allow_blank=True, default="")


class ConversationUpdateSerializer(StrictSerializer):
    title = serializers.CharField(max_length=MAX_TITLE_CHARS)


class ConversationListQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class ConversationSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField(allow_blank=True)
    message_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    url = serializers.CharField(source="get_absolute_url", help_text="The conversation's page.")


class MessageSourceSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="The citation number: [n] in the answer.")
    key = serializers.CharField()
    doc_type = serializers.CharField(allow_null=True)
    title = serializers.CharField(allow_null=True)
    score = serializers.FloatField(allow_null=True)
    url = serializers.CharField(allow_null=True)


class MessageSerializer(serializers.Serializer):
    """``sources`` are the documents an answer cites. A document the reader may no longer
    open (deleted, or now for HR only) keeps its key; its type, title and url are null."""

    id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=Message.Role.choices)
    content = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    sources = serializers.SerializerMethodField()
    provider = serializers.CharField(allow_blank=True)
    model = serializers.CharField(allow_blank=True)
    cached = serializers.BooleanField()
    incomplete = serializers.BooleanField(help_text="Generation stopped before the answer was finished.")
    feedback = serializers.ChoiceField(choices=Message.Feedback.choices, allow_null=True)
    token_count = serializers.IntegerField()
    latency_ms = serializers.IntegerField(allow_null=True)

    @extend_schema_field(MessageSourceSerializer(many=True))
    def get_sources(self, message: Message) -> list[dict]:
        documents = self.context["documents"]
        sources = []
        for i, item in enumerate(message.used_documents, 1):
            if not isinstance(item, dict) or not item.get("key"):
                continue
            document = documents.get(item["key"])
            score = item.get("score")
            sources.append(
                {
                    "n": item.get("n") or i,
                    "key": item["key"],
                    "doc_type": document.doc_type if document else None,
                    "title": document.title if document else None,
                    "score": score if isinstance(score, (int, float)) else None,
                    "url": document.get_absolute_url() if document else None,
                }
            )
        return MessageSourceSerializer(sources, many=True).data
