"""Answers in parallel: each answer runs in a thread of its own, off the event loop.

An answer is ``answering.ask`` — a short transaction to store the question, the model's
stream, a short transaction to store the answer — and the model's stream can take many
seconds. Run through ``database_sync_to_async``, every socket of a process would share one
thread and wait for each other's models; here an ``AnswerRun`` gives the answer a thread from a
process-wide pool and hands its events to the event loop through an ``asyncio.Queue``, so the
loop (and every other socket and request on it) never waits for a model.

Limits (settings, per process): at most ``CHAT_MAX_ANSWERS`` answers at once and
``CHAT_MAX_ANSWERS_PER_USER`` for one user; beyond them ``start`` raises ``Busy`` with a
``retry_after`` in seconds. ``CHAT_FIRST_TOKEN_SECONDS`` and ``CHAT_ANSWER_SECONDS`` bound the
wait for the first token and for the whole answer: past them the run is stopped, as Stop stops it.

``cancel`` stops a run: the thread stops reading at the next event, closes the answer's
generator — which closes the provider's HTTP stream and stores the partial answer, marked
incomplete — and releases its database connection and its slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import AsyncIterator

import structlog
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.utils import translation

from accounts.models import User
from chatcore.threads import IdleThreadPool
from retrieval.pipeline import BEFORE_WRITING

from . import metrics
from .answering import Event, ask
from .models import Conversation

log = structlog.get_logger(__name__)

_END = object()


class Busy(Exception):
    """No slot for another answer: the process (``scope="server"``) or this user (``"user"``)."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(scope)
        self.scope = scope
        self.retry_after = retry_after


class LimitReached(Exception):
    """The model sent no first token in time, did not finish in time, or wrote more than an
    answer may hold (``CHAT_MAX_ANSWER_CHARS``)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what  # "first_token", "answer" or "length"


class Preparing:
    """The CPU-bound part of an answer (reading the question, retrieval, the offline answerer)
    runs in at most ``CHAT_PREPARE_THREADS`` threads at once: more would only share the same
    cores and delay every first token. A remote model's writing is waiting, not work, and runs
    outside it."""

    _semaphore: threading.BoundedSemaphore | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.held = False

    @classmethod
    def _gate(cls) -> threading.BoundedSemaphore:
        with cls._lock:
            if cls._semaphore is None:
                cls._semaphore = threading.BoundedSemaphore(settings.CHAT_PREPARE_THREADS)
            return cls._semaphore

    def __enter__(self) -> Preparing:
        self._gate().acquire()
        self.held = True
        self._token = BEFORE_WRITING.set(self.before_writing)
        return self

    def before_writing(self, provider) -> None:
        if provider.name != "local":
            self.release()

    def release(self) -> None:
        if self.held:
            self.held = False
            self._gate().release()

    def __exit__(self, *exc_info) -> None:
        BEFORE_WRITING.reset(self._token)
        self.release()


class _Slots:
    """Counts of running answers, for the process and for each user."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.by_user: dict[int, int] = {}
        self.executor: IdleThreadPool | None = None

    def take(self, user_id: int) -> None:
        with self.lock:
            if self.running >= settings.CHAT_MAX_ANSWERS:
                metrics.ANSWERS_BUSY.labels(scope="server").inc()
                raise Busy("server", settings.CHAT_BUSY_RETRY_SECONDS)
            if self.by_user.get(user_id, 0) >= settings.CHAT_MAX_ANSWERS_PER_USER:
                metrics.ANSWERS_BUSY.labels(scope="user").inc()
                raise Busy("user", settings.CHAT_BUSY_RETRY_SECONDS)
            self.running += 1
            self.by_user[user_id] = self.by_user.get(user_id, 0) + 1
            metrics.ANSWERS_RUNNING.set(self.running)

    def give(self, user_id: int) -> None:
        with self.lock:
            self.running -= 1
            left = self.by_user.get(user_id, 1) - 1
            if left:
                self.by_user[user_id] = left
            else:
                self.by_user.pop(user_id, None)
            metrics.ANSWERS_RUNNING.set(self.running)

    def pool(self) -> IdleThreadPool:
        with self.lock:
            if self.executor is None:
                # A thread that has been idle for THREAD_IDLE_SECONDS ends, closing its
                # database connections: after a burst of answers the process shrinks back.
                self.executor = IdleThreadPool(
                    settings.CHAT_MAX_ANSWERS,
                    name="answer",
                    idle_seconds=settings.THREAD_IDLE_SECONDS,
                    on_thread_exit=connections.close_all,
                )
            return self.executor


SLOTS = _Slots()


class _Run:
    """One answer and its slot. ``reserve`` takes the slot (``Busy`` when there is none), so a
    caller can refuse before it starts anything; ``start`` takes it if ``reserve`` did not."""

    def __init__(
        self,
        *,
        user: User,
        question,
        conversation: Conversation | None,
        language: str,
        provider_name: str | None = None,
        render=None,
    ) -> None:
        self.user = user
        self.question = question
        self.conversation = conversation
        self.language = language
        self.provider_name = provider_name
        # ``render(event)``: the HTML of a "started" or "done" event, made in the thread that reads
        # the answer (it reads the database); it comes as data["html"].
        self.render = render
        self.started_at = 0.0
        self._slot = False
        self._slot_lock = threading.Lock()

    def reserve(self):
        with self._slot_lock:
            if self._slot:
                return self
            SLOTS.take(self.user.pk)
            self._slot = True
        return self

    def _give(self) -> None:
        with self._slot_lock:
            had, self._slot = self._slot, False
        if had:
            SLOTS.give(self.user.pk)


class AnswerRun(_Run):
    """One answer, run in a thread of its own; its events are read with ``async for``.

    The thread hands events over in batches: it appends to a list and wakes the event loop once
    until the reader has taken what is there, and the reader joins the tokens it takes together
    into one. When the process is busy, a socket then gets fewer, larger frames instead of a
    backlog, and the loop is woken once per batch, not once per token."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self._items: list = []
        self._items_lock = threading.Lock()
        self._wake_pending = False
        self._ready: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._submitted = False
        self.finished = asyncio.Event()

    def start(self) -> AnswerRun:
        """Take the slot (unless reserved) and start the thread; ``Busy`` when there is none."""
        self.reserve()
        self._loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        self.started_at = time.monotonic()
        # The run's log lines carry the request id bound for this question.
        context = contextvars.copy_context()
        try:
            SLOTS.pool().submit(context.run, self._work)
        except BaseException:
            self._give()
            raise
        self._submitted = True
        return self

    def cancel(self) -> None:
        self._cancelled.set()

    async def events(self) -> AsyncIterator[Event]:
        """The answer's events as they come; ``LimitReached`` past a limit (the run is then
        stopped and its partial answer stored); an error of the answer is raised here.

        Once the answer streams, batches are read at most every ``CHAT_STREAM_INTERVAL_MS``: the
        first token goes out at once, later ones that arrive within the interval go out together.
        Each frame costs the process the same whatever it holds, so a fast model (or many
        answers at once) costs far fewer frames, and a reader sees no difference at 20 a second."""
        first = settings.CHAT_FIRST_TOKEN_SECONDS
        whole = settings.CHAT_ANSWER_SECONDS
        interval = settings.CHAT_STREAM_INTERVAL_MS / 1000
        got_token = False
        next_read = 0.0
        while True:
            if got_token and interval:
                pause = next_read - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
            elapsed = time.monotonic() - self.started_at
            limits = [(whole - elapsed, "answer")] if whole else []
            if first and not got_token:
                limits.append((first - elapsed, "first_token"))
            timeout, what = min(limits) if limits else (None, "")
            try:
                async with asyncio.timeout(None if timeout is None else max(timeout, 0.001)):
                    await self._ready.wait()
            except TimeoutError:
                self.cancel()
                metrics.ANSWERS_TIMED_OUT.labels(limit=what).inc()
                raise LimitReached(what) from None
            self._ready.clear()
            with self._items_lock:
                self._wake_pending = False
                batch, self._items = self._items, []
            next_read = time.monotonic() + interval
            for item in _joined(batch):
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                if item.kind == "token":
                    got_token = True
                yield item

    async def wait(self) -> None:
        """Until the thread has stored the answer and let go of its slots."""
        if self._submitted:
            await self.finished.wait()

    def close(self, timeout: float) -> None:
        """From a thread other than the loop's: stop the answer if it still runs and wait (at most
        ``timeout`` seconds) until it is stored; a run that never started gives its slot back."""
        if not self._submitted:
            self._give()
            return
        self.cancel()
        self._done.wait(timeout)

    # In the answer's thread ------------------------------------------------------------------

    def _put(self, item) -> None:
        with self._items_lock:
            self._items.append(item)
            if self._wake_pending:
                return
            self._wake_pending = True
        # A reader that is gone with its event loop (a server shutting down) reads nothing more;
        # the answer is still stored.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._ready.set)

    def _work(self) -> None:
        close_old_connections()
        events = None
        released = False
        preparing = Preparing()
        try:
            with translation.override(self.language), preparing:
                events = ask(
                    user=self.user, question=self.question, conversation=self.conversation, provider_name=self.provider_name
                )
                written = 0
                for event in events:
                    written = _count_written(written, event)
                    self._put(_rendered(self.render, event))
                    if self._cancelled.is_set():
                        break
                    if event.kind == "token":
                        preparing.release()
                    if event.kind == "token" and not released:
                        # The model writes now; the answer stores its message at the end. Until then
                        # its database connection goes back to the pool, so a pool smaller than
                        # the answers running at once is not exhausted.
                        release_connections()
                        released = True
                # Closing the generator here, in its own thread, closes the provider's stream and
                # stores what was said so far, marked incomplete, when the run was stopped.
                events.close()
        except BaseException as exc:  # noqa: BLE001 — handed to the reader, which logs it
            if events is not None:
                try:
                    events.close()
                except Exception:  # noqa: BLE001
                    log.exception("chat_answer_close_failed", user_id=self.user.pk)
            self._put(exc)
        finally:
            # The answer is stored: its database connections are closed (a pooled one goes back to
            # its pool), so a thread waiting in the pool for the next answer holds none.
            release_connections(pooled_only=False)
            self._give()
            self._done.set()
            self._put(_END)
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self.finished.set)


class InlineRun(_Run):
    """An answer of the offline answerer: CPU work of a few milliseconds and no waiting, read
    one event at a time in the thread all sockets share (``database_sync_to_async``; for a
    streamed API answer, the request's own thread). Answers then take turns, which gets each
    its first token sooner than running them all at once on the same cores (10 users at once on
    2 cores: first token p50 75–80 ms, against 200–230 ms in a thread each). Same slots and
    limits as ``AnswerRun``."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._events = None

    def start(self) -> InlineRun:
        self.reserve()
        self.started_at = time.monotonic()
        self._events = within_limits(
            ask(user=self.user, question=self.question, conversation=self.conversation, provider_name=self.provider_name),
            self.started_at,
        )
        return self

    def _next(self):
        with translation.override(self.language):
            try:
                event = next(self._events)
            except StopIteration:
                return _END
            return _rendered(self.render, event)

    async def events(self) -> AsyncIterator[Event]:
        from channels.db import database_sync_to_async

        try:
            while (event := await database_sync_to_async(self._next)()) is not _END:
                yield event
        finally:
            self._give()

    def cancel(self) -> None:
        pass  # the reader stops reading; ``wait`` or ``close`` closes the answer

    async def wait(self) -> None:
        from channels.db import database_sync_to_async

        await database_sync_to_async(self.close)()

    def close(self, timeout: float = 0) -> None:
        """Close the answer (its partial answer is stored, marked incomplete) and give the slot
        back; in the thread that read it."""
        if self._events is not None:
            self._events.close()
        self._give()


def run_for(provider_name: str | None = None):
    """The kind of run an answer of this provider gets: in a thread of its own when a model
    writes it (seconds of waiting), in turn when the offline answerer does (milliseconds of CPU)."""
    from retrieval.llm import get_provider

    return InlineRun if get_provider(provider_name).name == "local" else AnswerRun


def _count_written(written: int, event: Event) -> int:
    """The characters written so far with ``event``; ``LimitReached`` past ``CHAT_MAX_ANSWER_CHARS``
    (a model that will not stop: what it wrote is stored, marked incomplete)."""
    if event.kind != "token":
        return written
    written += len(event.data["text"])
    if written > settings.CHAT_MAX_ANSWER_CHARS:
        metrics.ANSWERS_TIMED_OUT.labels(limit="length").inc()
        raise LimitReached("length")
    return written


def _joined(batch: list) -> list:
    """A batch of a run's items with each run of tokens joined into one token."""
    joined: list = []
    for item in batch:
        if (
            isinstance(item, Event)
            and item.kind == "token"
            and joined
            and isinstance(joined[-1], Event)
            and joined[-1].kind == "token"
        ):
            joined[-1] = Event("token", {"text": joined[-1].data["text"] + item.data["text"]})
        else:
            joined.append(item)
    return joined


def _rendered(render, event: Event) -> Event:
    """A "started" or "done" event with its frame (``render``), made in the thread reading the answer."""
    if render is not None and event.kind in ("started", "done"):
        return Event(event.kind, {**event.data, "html": render(event)})
    return event


def release_connections(*, pooled_only: bool = True) -> None:
    """Give this thread's pooled database connections back to their pool (those not inside a
    transaction); the next query takes one again. With ``pooled_only`` a connection without a pool
    (SQLite) stays, as the model writes: opening one costs more than keeping it, and it limits
    nobody; once the answer is stored, it is closed too."""
    for connection in connections.all(initialized_only=True):
        if connection.in_atomic_block:
            continue
        if pooled_only and not connection.settings_dict.get("OPTIONS", {}).get("pool"):
            continue
        try:
            connection.close()
        except DatabaseError:
            # Made in another thread (never by this code): that thread closes it.
            log.warning("chat_connection_not_closed", alias=connection.alias)


# The API's answers run in the request's own thread (a chat lane of ``chatcore.handlers``): the
# same slots and time limits, checked between the answer's events.


@contextlib.contextmanager
def answer_slot(user: User):
    """A slot for one answer of ``user``, or ``Busy``."""
    SLOTS.take(user.pk)
    try:
        yield
    finally:
        SLOTS.give(user.pk)


def within_limits(events, started: float | None = None):
    """``events`` until a time limit passes, then ``LimitReached`` (the answer's generator is closed
    first, so its partial answer is stored, marked incomplete)."""
    started = time.monotonic() if started is None else started
    first, whole = settings.CHAT_FIRST_TOKEN_SECONDS, settings.CHAT_ANSWER_SECONDS
    got_token = False
    written = 0
    try:
        for event in events:
            written = _count_written(written, event)
            yield event
            if event.kind == "token" and not got_token:
                release_connections()  # as in ``AnswerRun``: not held while the model writes
            got_token = got_token or event.kind == "token"
            elapsed = time.monotonic() - started
            if whole and elapsed > whole:
                raise LimitReached("answer")
            if first and not got_token and event.kind not in ("started",) and elapsed > first:
                raise LimitReached("first_token")
    finally:
        events.close()
