"""Faults while serving: a live daphne process loses Redis or PostgreSQL and gets it back.

Neither shared service is ever stopped (other runs use them): Redis is a private
``redis-server`` started here, PostgreSQL is reached through a proxy in this process
that can drop every connection and refuse new ones, as a restart would.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from conftest import free_port, stop_process
from conversations.models import Message
from conversations.tests.test_browser import database_url
from retrieval.services import index_rebuild

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60
RECOVERY_SECONDS = 20
REQUEST_SECONDS = 20
IN_CI = os.environ.get("CI", "").lower() == "true"
pytestmark = pytest.mark.django_db(transaction=True)


class Server:
    """daphne on the test database, with the environment a test gives it."""

    def __init__(self, *, log_path: Path, daphne_args: tuple[str, ...] = (), **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        full_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "chatcore.settings.test",
            "RETRIEVAL_VERSION_CHECK_SECONDS": "0",
            "LOG_LEVEL": "info",
            **env,
        }
        for name in ("DJANGO_ALLOW_ASYNC_UNSAFE", *(k for k, v in env.items() if v is None)):
            full_env.pop(name, None)
        full_env = {k: v for k, v in full_env.items() if v is not None}
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    *daphne_args,
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "chatcore.asgi:application",
                ],
                cwd=ROOT,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        stop_process(self.process)
        pytest.fail(f"daphne did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def request(self, method: str, path: str, *, token: str | None = None, body: dict | None = None):
        """(status, parsed JSON or text) — never raises for an HTTP error status."""
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=REQUEST_SECONDS) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        text = raw.decode(errors="replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text


@pytest.fixture
def served_company(company, alice):
    index_rebuild()
    return Token.objects.create(user=alice).key


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} not within {seconds}s")


# --- Redis stopped mid-run ------------------------------------------------------------


class PrivateRedis:
    def __init__(self, port: int, log_path: Path) -> None:
        self.port, self.log_path = port, log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def answers() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    return sock.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_for(answers, 10, "redis-server answering")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server is required under CI")
        pytest.skip("redis-server not installed")
    redis = PrivateRedis(free_port(), tmp_path / "redis.log")
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.mark.redis
def test_the_app_keeps_answering_without_redis_and_recovers_when_it_returns(served_company, private_redis, tmp_path, settings):
    token = served_company
    server = Server(
        log_path=tmp_path / "daphne.log",
        REDIS_URL=f"redis://127.0.0.1:{private_redis.port}/0",
        DATABASE_URL=database_url(),
        INDEX_DIR=str(settings.INDEX_DIR),
    )
    try:
        status, body = server.request("POST", "/api/chat/", token=token, body={"message": "Yıllık izin kaç gün?"})
        assert status == 200 and body["cached"] is False, body
        assert server.request("GET", "/readyz")[0] == 200

        private_redis.stop()
        started = time.monotonic()
        status, body = server.request("POST", "/api/chat/", token=token, body={"message": "Yıllık izin kaç gün?"})
        # The cached answer is out of reach: answered again, not refused.
        assert status == 200 and body["cached"] is False and body["answer"], body
        assert time.monotonic() - started < 10
        assert server.request("GET", "/api/conversations/", token=token)[0] == 200
        # A wrong password is still refused, though no failure can be counted towards a lockout.
        status, body = server.request("POST", "/api/auth/token/", body={"username": "alice", "password": "wrong"})
        assert status == 401, body
        status, body = server.request("GET", "/readyz")
        assert status == 503
        assert body["checks"]["cache"]["status"] == "fail"
        # (The test settings keep the channel layer in memory, so only the cache is Redis here.)
        assert body["checks"]["database"]["status"] == body["checks"]["index"]["status"] == "ok"
        log = server.log_path.read_text(errors="replace")
        assert '"event": "ratelimit_unavailable"' in log and '"logger": "chatcore.cache"' in log, server.log()
        assert "Traceback" not in json.dumps(body)

        private_redis.start()
        wait_for(lambda: server.request("GET", "/readyz")[0] == 200, RECOVERY_SECONDS, "/readyz 200 again")
        question = {"message": "Bordro ne zaman kapanır?"}
        assert server.request("POST", "/api/chat/", token=token, body=question)[1]["cached"] is False
        status, body = server.request("POST", "/api/chat/", token=token, body=question)
        assert status == 200 and body["cached"] is True, body
    finally:
        stop_process(server.process)


# --- PostgreSQL restarted -------------------------------------------------------------


class RestartingProxy:
    """TCP between daphne and PostgreSQL. ``down()`` drops every connection and turns new
    ones away (accepted, then closed at once, as a server shutting down does); ``up()``
    serves again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.available = True
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.available:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self.stopped.is_set():
                for key, _ in selector.select(timeout=0.2):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            for sock in (client, upstream):
                sock.close()

    def down(self) -> None:
        self.available = False
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def up(self) -> None:
        self.available = True

    def close(self) -> None:
        self.down()
        self.stopped.set()
        self.listener.close()
        self.thread.join(timeout=5)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "connections",
    [
        # The default: each process's pool; the connections that die with the restart must be
        # noticed when borrowed and replaced.
        {},
        # No pool, kept connections: the one that dies must be noticed and replaced as well.
        {"DATABASE_POOL_MAX_SIZE": "0", "DATABASE_CONN_MAX_AGE": "60"},
    ],
    ids=["pool", "kept-connections"],
)
def test_a_postgresql_restart_is_a_clean_503_and_no_message_is_lost_or_doubled(
    served_company, alice, tmp_path, settings, connections
):
    token = served_company
    s = connection.settings_dict
    proxy = RestartingProxy((s["HOST"] or "127.0.0.1", int(s["PORT"] or 5432)))
    url = database_url().replace(f":{s['PORT'] or 5432}/", f":{proxy.port}/")
    server = Server(
        log_path=tmp_path / "daphne.log", DATABASE_URL=url, INDEX_DIR=str(settings.INDEX_DIR), REDIS_URL=None, **connections
    )
    outcomes: list[tuple[str, int, object]] = []
    phase = {"name": "before"}
    finished = threading.Event()

    def chat_loop(conversation: str) -> None:
        n = 0
        while not finished.is_set():
            n += 1
            status, body = server.request(
                "POST", "/api/chat/", token=token, body={"message": f"Yıllık izin soru {n}", "conversation": conversation}
            )
            outcomes.append((phase["name"], status, body))
            time.sleep(0.05)

    try:
        status, body = server.request("POST", "/api/chat/", token=token, body={"message": "Yıllık izin kaç gün?"})
        assert status == 200, body
        conversation = body["conversation"]
        thread = threading.Thread(target=chat_loop, args=(conversation,), daemon=True)
        thread.start()
        time.sleep(1.5)

        phase["name"] = "during"
        proxy.down()
        time.sleep(0.5)
        status, body = server.request("GET", "/api/conversations/", token=token)
        assert status == 503 and body["error"]["code"] == "unavailable", body
        status, body = server.request("GET", "/readyz")
        assert status == 503 and body["checks"]["database"]["status"] == "fail"
        status, body = server.request("GET", "/login/")
        assert status in (200, 503) and "Traceback" not in str(body)
        time.sleep(2.5)

        proxy.up()
        phase["name"] = "after"
        wait_for(lambda: server.request("GET", "/readyz")[0] == 200, RECOVERY_SECONDS, "/readyz 200 again")
        time.sleep(1.5)
        finished.set()
        thread.join(timeout=REQUEST_SECONDS + 5)
        assert server.request("GET", "/api/conversations/", token=token)[0] == 200
    finally:
        finished.set()
        stop_process(server.process)
        proxy.close()

    statuses = {(p, status) for p, status, _ in outcomes}
    assert all(status in (200, 503) for _, status, _ in outcomes), [o for o in outcomes if o[1] not in (200, 503)]
    assert ("before", 200) in statuses and ("during", 503) in statuses and ("after", 200) in statuses, statuses
    for _, status, body in outcomes:
        if status == 503:
            assert body["error"]["code"] == "unavailable" and "Traceback" not in json.dumps(body)
    answered = 1 + sum(1 for _, status, _ in outcomes if status == 200)
    messages = list(Message.objects.filter(conversation_id=conversation).order_by("id").values_list("role", "incomplete"))
    # Each answered question left its question and its whole answer. A refused one left nothing, or
    # — the database gone while the model wrote, with no transaction held across that — its question
    # and an answer marked incomplete: never a question alone.
    assert [role for role, _ in messages] == ["user", "assistant"] * (len(messages) // 2), messages
    answers = [incomplete for role, incomplete in messages if role == "assistant"]
    assert answers.count(False) == answered, (answers, answered)


# --- A worker killed mid-rebuild ------------------------------------------------------


def start_worker(*, queue: str, index_dir: Path, log_path: Path, delay: float, marker: Path) -> subprocess.Popen:
    from retrieval.tests.test_celery_worker import worker_redis_url

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "chatcore.tests.slow_worker_settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": worker_redis_url(),
        "INDEX_DIR": str(index_dir),
        "SLOW_EMBEDDER_SECONDS": str(delay),
        "SLOW_EMBEDDER_MARKER": str(marker),
        "RETRIEVAL_BACKEND": "embedded",
    }
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "chatcore",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "-Q",
                queue,
                "-n",
                f"{queue}-{time.monotonic_ns()}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def task_sender():
    import uuid

    from celery import Celery

    from chatcore.celery import app as chatcore_app
    from retrieval.tests.test_celery_worker import worker_redis_url

    queue = f"chatcore-test-{uuid.uuid4().hex[:12]}"
    sender = Celery("chatcore-test-sender", broker=worker_redis_url(), backend=worker_redis_url(), set_as_current=False)
    sender.conf.update(
        task_default_queue=queue,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        broker_connection_retry_on_startup=False,
    )
    sender.set_current()
    try:
        yield queue, sender
    finally:
        chatcore_app.set_current()
        with sender.connection_for_write() as conn:
            conn.default_channel.client.delete(queue)
        sender.close()


@pytest.mark.redis
@pytest.mark.usefixtures("embedded_backend")
def test_a_worker_killed_mid_rebuild_leaves_the_previous_index_serving(company, alice, task_sender, tmp_path, settings):
    from retrieval.indexes.embedded import current_index, index_rebuild
    from retrieval.models import IndexState
    from retrieval.services import reset_process_cache, search_documents

    queue, sender = task_sender
    index_dir = Path(settings.INDEX_DIR)
    previous = index_rebuild().version
    marker = tmp_path / "building"
    log_path = tmp_path / "worker.log"

    worker = start_worker(queue=queue, index_dir=index_dir, log_path=log_path, delay=60, marker=marker)
    try:
        sender.send_task("retrieval.tasks.rebuild_index")
        wait_for(lambda: marker.exists() or worker.poll() is not None, 30, "the rebuild starting")
        assert worker.poll() is None, log_path.read_text(errors="replace")[-3000:]
        worker.kill()
        worker.wait(timeout=10)
    finally:
        stop_process(worker)

    # The database and the CURRENT pointer still name the previous version, which loads
    # (manifest and checksum intact) and serves.
    assert IndexState.objects.get(pk=1).version == previous
    assert (index_dir / "CURRENT").read_text().strip() == str(previous)
    reset_process_cache()
    assert current_index().version == previous
    assert search_documents(user=alice, query="yıllık izin", k=1)

    marker.unlink()
    worker = start_worker(queue=queue, index_dir=index_dir, log_path=log_path, delay=0, marker=marker)
    try:
        rebuilt = sender.send_task("retrieval.tasks.rebuild_index").get(timeout=60)
    finally:
        stop_process(worker)
    assert rebuilt > previous and IndexState.objects.get(pk=1).version == rebuilt
    assert (index_dir / "CURRENT").read_text().strip() == str(rebuilt)
    reset_process_cache()
    assert current_index().version == rebuilt
    assert search_documents(user=alice, query="yıllık izin", k=1)
