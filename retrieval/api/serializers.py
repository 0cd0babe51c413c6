from __future__ import annotations

from rest_framework import serializers


class DocumentSearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=4000, trim_whitespace=True)
    doc_type = serializers.CharField(required=False, allow_blank=True, max_length=32)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=50, default=10)


class DocumentResultSerializer(serializers.Serializer):
    key = serializers.CharField()
    doc_type = serializers.CharField()
    title = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    snippet = serializers.CharField(allow_blank=True)
    url = serializers.CharField()


class DocumentSearchResponseSerializer(serializers.Serializer):
    results = DocumentResultSerializer(many=True)
