"""The ASGI handler daphne serves HTTP with: one synchronous middleware chain per request."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.testing import ApplicationCommunicator
from django.http import HttpResponse
from django.urls import path

from chatcore.asgi import django_asgi_app

seen_threads: list[int] = []


def thread_view(request):
    seen_threads.append(threading.get_ident())
    return HttpResponse("ok")


urlpatterns = [path("thread/", thread_view)]


def test_the_middleware_chain_is_built_for_sync():
    assert not asyncio.iscoroutinefunction(django_asgi_app._middleware_chain)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_request_passes_every_middleware_and_runs_off_the_event_loop(settings):
    settings.ROOT_URLCONF = __name__
    seen_threads.clear()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/thread/", "raw_path": b"/thread/", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"x-request-id", b"handler-test-1")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    app = ApplicationCommunicator(django_asgi_app, scope)
    await app.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await app.receive_output(timeout=5)
    body = await app.receive_output(timeout=5)
    headers = dict(start["headers"])
    assert start["status"] == 200 and body["body"] == b"ok"
    # The outermost and innermost middleware both ran: request id, CSP, clickjacking.
    assert headers[b"X-Request-ID"] == b"handler-test-1"
    assert b"default-src 'self'" in headers[b"Content-Security-Policy"] and headers[b"X-Frame-Options"] == b"DENY"
    assert seen_threads and seen_threads[0] != threading.get_ident()
