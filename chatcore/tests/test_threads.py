"""The pool behind answer threads and chat lanes: threads start with work, run it in parallel up to
the limit, and end when idle, so a process returns to its resting size after a burst."""

from __future__ import annotations

import threading
import time

import pytest

from chatcore.threads import IdleThreadPool


def wait_until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_work_runs_in_parallel_up_to_the_limit_and_the_rest_waits_its_turn():
    pool = IdleThreadPool(3, idle_seconds=5, name="t-limit")
    gate = threading.Event()
    running, most = [0], [0]
    lock = threading.Lock()

    def work(n):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        gate.wait(5)
        with lock:
            running[0] -= 1
        return n

    futures = [pool.submit(work, n) for n in range(7)]
    assert wait_until(lambda: running[0] == 3)
    assert pool.threads == 3
    gate.set()
    assert [f.result(5) for f in futures] == list(range(7))
    assert most[0] == 3
    pool.shutdown()


def test_idle_threads_end_and_new_work_starts_one_again():
    ended = []
    pool = IdleThreadPool(4, idle_seconds=0.2, name="t-idle", on_thread_exit=lambda: ended.append(1))
    assert [f.result(5) for f in [pool.submit(time.sleep, 0.05) for _ in range(4)]] == [None] * 4
    assert wait_until(lambda: pool.threads == 0, 3)
    assert len(ended) == 4
    assert not [t for t in threading.enumerate() if t.name.startswith("t-idle-")]
    assert pool.submit(lambda: 42).result(5) == 42
    pool.shutdown()


def test_no_work_is_lost_when_it_arrives_as_idle_threads_end():
    # Work submitted at the moment threads time out must still run: hammer the boundary.
    pool = IdleThreadPool(2, idle_seconds=0.001, name="t-race")
    done = []
    for n in range(300):
        pool.submit(done.append, n).result(5)
        if n % 7 == 0:
            time.sleep(0.002)
    assert done == list(range(300))
    pool.shutdown()


def test_an_error_reaches_the_caller_and_the_thread_goes_on():
    pool = IdleThreadPool(1, idle_seconds=5, name="t-error")

    def fail():
        raise ValueError("broken")

    with pytest.raises(ValueError, match="broken"):
        pool.submit(fail).result(5)
    assert pool.submit(lambda: "still here").result(5) == "still here"
    pool.shutdown()


def test_shutdown_ends_every_thread_and_refuses_new_work():
    pool = IdleThreadPool(3, idle_seconds=60, name="t-shutdown")
    for f in [pool.submit(time.sleep, 0.05) for _ in range(3)]:
        f.result(5)
    pool.shutdown(wait=True)
    assert pool.threads == 0
    with pytest.raises(RuntimeError):
        pool.submit(print)


def test_it_needs_at_least_one_thread():
    with pytest.raises(ValueError):
        IdleThreadPool(0, idle_seconds=1)


def test_a_failing_exit_hook_still_lets_the_thread_end():
    def broken():
        raise RuntimeError("cannot close")

    pool = IdleThreadPool(2, idle_seconds=0.1, name="t-hook", on_thread_exit=broken)
    pool.submit(lambda: None).result(5)
    assert wait_until(lambda: pool.threads == 0, 3)
    # The count drops when the thread decides to end; the hook and its log line run after.
    assert wait_until(lambda: not [t for t in threading.enumerate() if t.name.startswith("t-hook-")], 3)
