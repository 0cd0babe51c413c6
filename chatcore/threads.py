"""A thread pool whose threads end when they have had nothing to do for a while.

``concurrent.futures.ThreadPoolExecutor`` keeps every thread it ever started: after fifty
answers at once a process would hold fifty idle threads (and, on SQLite, fifty open database
connections) until it exits. This pool starts a thread when work arrives and none is free (up
to ``max_workers``) and lets it end after ``idle_seconds`` without work, so a process returns to
its resting size after a burst.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future

import structlog

log = structlog.get_logger(__name__)


class IdleThreadPool(Executor):
    def __init__(
        self, max_workers: int, *, idle_seconds: float, name: str = "pool", on_thread_exit: Callable[[], None] | None = None
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self.idle_seconds = idle_seconds
        self.name = name
        self._on_thread_exit = on_thread_exit
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0  # alive
        self._idle = 0  # waiting for work
        self._pending = 0  # submitted, not yet taken by a thread
        self._started = 0
        self._alive: set[threading.Thread] = set()
        self._shut = False

    @property
    def threads(self) -> int:
        return self._threads

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        with self._lock:
            if self._shut:
                raise RuntimeError("cannot submit to a pool that was shut down")
            self._work.put((future, fn, args, kwargs))
            self._pending += 1
            # A thread for each piece of work no idle thread will take, up to the limit; beyond
            # it, work waits in turn for the next thread to finish.
            if self._pending > self._idle and self._threads < self.max_workers:
                self._threads += 1
                self._started += 1
                thread = threading.Thread(target=self._run, name=f"{self.name}-{self._started}", daemon=True)
                self._alive.add(thread)
                thread.start()
        return future

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    self._idle += 1
                try:
                    item = self._work.get(timeout=self.idle_seconds)
                except queue.Empty:
                    with self._lock:
                        # Work put in while the wait ended is still counted in ``_pending``:
                        # stay for it. Submitting holds the same lock, so none is missed.
                        if self._pending > 0 and not self._shut:
                            self._idle -= 1
                            continue
                        self._idle -= 1
                        self._threads -= 1
                        return
                with self._lock:
                    self._idle -= 1
                    self._pending -= 1
                if item is None:  # shutdown
                    with self._lock:
                        self._threads -= 1
                    return
                future, fn, args, kwargs = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # noqa: BLE001 — handed to the future
                    future.set_exception(exc)
                else:
                    future.set_result(result)
                del item, future, fn, args, kwargs
        finally:
            if self._on_thread_exit is not None:
                try:
                    self._on_thread_exit()
                except Exception:  # noqa: BLE001 — the thread ends either way; the pool must know it
                    log.exception("pool_thread_exit_failed", pool=self.name)
            with self._lock:
                self._alive.discard(threading.current_thread())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shut = True
            if cancel_futures:
                while True:
                    try:
                        item = self._work.get_nowait()
                    except queue.Empty:
                        break
                    self._pending -= 1
                    if item is not None:
                        item[0].cancel()
            for _ in range(self._threads):
                self._work.put(None)
                self._pending += 1
            alive = list(self._alive)
        if wait:
            for thread in alive:
                if thread is not threading.current_thread():
                    thread.join()
