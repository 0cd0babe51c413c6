"""WebSocket routes (``/ws/chat/<conversation id>/``)."""

from __future__ import annotations

websocket_urlpatterns: list = []
