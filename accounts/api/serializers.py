from __future__ import annotations

from rest_framework import serializers

from chatcore.api import StrictSerializer


class TokenRequestSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()


class RefreshRequestSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=4096)


class JWTPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Exchange once at /api/auth/jwt/refresh/; it is then used up.")
