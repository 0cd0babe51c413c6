"""WebSocket routes (``/ws/chat/<conversation id>/``, ``new`` for a new conversation)."""

from __future__ import annotations

from django.urls import re_path

from .consumers import ChatConsumer
from .models import ID_PATTERN

websocket_urlpatterns = [
    re_path(rf"^ws/chat/(?P<conversation_id>{ID_PATTERN})/$", ChatConsumer.as_asgi()),
]
