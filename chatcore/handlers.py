"""Django's ASGI handler, with each request's middleware and view run in one worker thread."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    """Every view of this project is synchronous (DRF, templates) and so is nearly all the
    middleware, Django's own included. Django's ASGI handler builds its middleware chain for
    async, and each synchronous middleware or view in it is a hop from the event loop to a
    worker thread and back (``MiddlewareMixin`` hops for each of its hooks): about ten hops
    for one API request, which cost more CPU than the view itself. This handler builds the
    chain for sync and crosses once: the whole request runs in the request's own thread
    (Django's ``ThreadSensitiveContext`` per request still applies), while reading the body
    and sending the response stay on the event loop. WebSockets do not come here (Channels)."""

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
