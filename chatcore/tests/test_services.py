"""The suite runs on the real services when they are configured; under CI they must be."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection


@pytest.mark.redis
def test_the_cache_is_redis_when_redis_url_is_set():
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    key = f"probe-{uuid.uuid4()}"
    cache.set(key, {"ş": "ğ"}, 30)
    from django_redis import get_redis_connection

    raw_keys = get_redis_connection("default").keys(f"*{key}*")
    assert raw_keys, "the value must really be stored in Redis"
    assert cache.get(key) == {"ş": "ğ"}


@pytest.mark.redis
async def test_the_redis_channel_layer_delivers_a_message():
    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(hosts=[settings.REDIS_URL], prefix=f"test-{uuid.uuid4().hex[:8]}")
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "chat.token", "text": "merhaba"})
    assert (await layer.receive(channel))["text"] == "merhaba"
    await layer.flush()


@pytest.mark.postgres
@pytest.mark.django_db
def test_document_body_is_jsonb_with_a_gin_index():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = 'knowledge_document' AND column_name = 'body'"
        )
        assert cursor.fetchone()[0] == "jsonb"
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'knowledge_document_body_gin'")
        row = cursor.fetchone()
    assert row is not None and "gin" in row[0].lower()
