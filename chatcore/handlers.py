"""Django's ASGI handler, with each request's middleware and view run in one worker thread
taken from a fixed set per process."""

from __future__ import annotations

import asyncio
import weakref

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.db import connections

from .threads import IdleThreadPool


class SyncChainASGIHandler(ASGIHandler):
    """Every view of this project is synchronous (DRF, templates) and so is nearly all the
    middleware, Django's own included. Two things made Django's own ASGI handler slow here:

    * It builds the middleware chain for async, and each synchronous middleware or view in it
      is a hop from the event loop to a worker thread and back (``MiddlewareMixin`` hops for
      each of its hooks): about ten hops for one API request, costing more CPU than the view.
      This handler builds the chain for sync and crosses once.
    * It gives every request a new thread, however many arrive at once. Under load, dozens of
      threads then fight over one interpreter lock and each request takes longer. Here a
      process has ``HTTP_THREADS`` worker threads, as a WSGI server's threaded worker has; a
      request waits on the event loop for a free one and keeps it until its response is sent
      (a streamed answer included), so the request's database connection, its streamed body
      and its ``request_finished`` signal all stay in that one thread, as with Django's own.
      Chat requests (``HTTP_CHAT_PATHS``) have threads of their own (``HTTP_CHAT_THREADS``): an
      answer from a remote model can take many seconds, and must not hold up the quick requests.
      A lane's thread ends after ``THREAD_IDLE_SECONDS`` without work (the next request
      starts another), so a burst of chat requests leaves no idle threads behind.

    ``HTTP_THREADS=0`` keeps Django's thread per request. WebSockets do not come here (Channels).
    """

    def __init__(self) -> None:
        super().__init__()
        self.threads = {"http": settings.HTTP_THREADS, "chat": settings.HTTP_CHAT_THREADS}
        self.chat_paths = tuple(settings.HTTP_CHAT_PATHS)
        # One set of threads per lane and event loop: daphne has one loop; tests may run several.
        self._free: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Queue]] = weakref.WeakKeyDictionary()

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not self.threads["http"]:
            await super().__call__(scope, receive, send)
            return
        free = self._threads("chat" if scope["path"].startswith(self.chat_paths) else "http")
        executor = await free.get()
        try:
            # asgiref runs the block's thread-sensitive work (here: the whole request) on the
            # executor given, and leaves it running for the next request.
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            free.put_nowait(executor)

    def _threads(self, lane: str) -> asyncio.Queue:
        lanes = self._free.setdefault(asyncio.get_running_loop(), {})
        free = lanes.get(lane)
        if free is None:
            free = lanes[lane] = asyncio.Queue()
            for n in range(self.threads[lane]):
                # One call at a time on one thread, as ThreadSensitiveContext needs.
                free.put_nowait(
                    IdleThreadPool(
                        1, name=f"{lane}-{n}", idle_seconds=settings.THREAD_IDLE_SECONDS, on_thread_exit=connections.close_all
                    )
                )
        return free
