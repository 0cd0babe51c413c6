"""The ASGI handler daphne serves HTTP with: one synchronous middleware chain per request, run
in one of a fixed set of worker threads per process, chat requests in a set of their own."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.testing import ApplicationCommunicator
from django.http import HttpResponse
from django.urls import path

from chatcore.asgi import django_asgi_app
from chatcore.handlers import SyncChainASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)


class Recorder:
    """What the test views saw: their threads, how many ran at once; they wait for ``go``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.threads: list[int] = []
        self.running = self.most = 0
        self.go = threading.Event()

    def view(self, request):
        with self.lock:
            self.threads.append(threading.get_ident())
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if request.GET.get("wait"):
                self.go.wait(10)
            return HttpResponse("ok")
        finally:
            with self.lock:
                self.running -= 1


recorder = Recorder()
urlpatterns = [path("quick/", recorder.view), path("slow/", recorder.view)]


@pytest.fixture
def handler(settings):
    recorder.__init__()  # a clean slate for each test
    settings.ROOT_URLCONF = __name__
    settings.HTTP_THREADS, settings.HTTP_CHAT_THREADS, settings.HTTP_CHAT_PATHS = 2, 1, ["/slow/"]
    yield SyncChainASGIHandler()
    recorder.go.set()


def scope(url: str) -> dict:
    path_, _, query = url.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path_,
        "raw_path": path_.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"x-request-id", b"handler-test-1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def start(app, url: str) -> ApplicationCommunicator:
    request = ApplicationCommunicator(app, scope(url))
    await request.send_input({"type": "http.request", "body": b"", "more_body": False})
    return request


async def status(request: ApplicationCommunicator) -> int:
    start_message = await request.receive_output(timeout=10)
    await request.receive_output(timeout=10)
    return start_message["status"]


async def wait_until(condition, seconds: float = 5) -> None:
    for _ in range(int(seconds * 100)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


def test_the_middleware_chain_is_built_for_sync():
    assert not asyncio.iscoroutinefunction(django_asgi_app._middleware_chain)


@pytest.mark.asyncio
async def test_a_request_passes_every_middleware_in_a_worker_thread(handler):
    request = await start(handler, "/quick/")
    start_message = await request.receive_output(timeout=5)
    body = await request.receive_output(timeout=5)
    headers = dict(start_message["headers"])
    assert start_message["status"] == 200 and body["body"] == b"ok"
    # The outermost and innermost middleware both ran: request id, CSP, clickjacking.
    assert headers[b"X-Request-ID"] == b"handler-test-1"
    assert b"default-src 'self'" in headers[b"Content-Security-Policy"] and headers[b"X-Frame-Options"] == b"DENY"
    assert recorder.threads and recorder.threads[0] != threading.get_ident()


@pytest.mark.asyncio
async def test_requests_share_a_fixed_set_of_threads_and_wait_for_a_free_one(handler):
    waiting = [await start(handler, "/quick/?wait=1") for _ in range(5)]
    await wait_until(lambda: recorder.running == 2)
    await asyncio.sleep(0.2)
    assert recorder.running == 2  # HTTP_THREADS: the other three wait
    recorder.go.set()
    assert [await status(r) for r in waiting] == [200] * 5
    for _ in range(6):
        assert await status(await start(handler, "/quick/")) == 200
    assert recorder.most == 2 and len(set(recorder.threads)) == 2


@pytest.mark.asyncio
async def test_slow_chat_requests_do_not_hold_up_quick_ones(handler):
    slow = [await start(handler, "/slow/?wait=1") for _ in range(2)]
    await wait_until(lambda: recorder.running == 1)  # HTTP_CHAT_THREADS
    # Both quick threads are free while the chat thread waits.
    assert [await status(await start(handler, "/quick/")) for _ in range(3)] == [200] * 3
    assert recorder.running == 1
    recorder.go.set()
    assert [await status(r) for r in slow] == [200, 200]


@pytest.mark.asyncio
async def test_without_a_thread_count_each_request_gets_a_thread_of_its_own(handler, settings):
    settings.HTTP_THREADS = 0
    unbounded = SyncChainASGIHandler()
    waiting = [await start(unbounded, "/quick/?wait=1") for _ in range(5)]
    await wait_until(lambda: recorder.running == 5)
    recorder.go.set()
    assert [await status(r) for r in waiting] == [200] * 5
