"""What the end-to-end benchmarks share: daphne on a free loopback port, bench users
created and removed through the ORM, and a throwaway database for ``--dataset``.

Used by ``bench chat`` (``chat.py``) and ``bench load``
(``load.py``).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections
from django.urls import reverse

from accounts.models import Role, User
from accounts.services import user_create
from chatcore.databases import database_url as url_of_database
from knowledge.models import Document
from retrieval.services import ensure_index
from retrieval.store import IndexUnavailable

SERVER_START_SECONDS = 90
HTTP_SECONDS = 30

ACCESS_LINE = re.compile(r'\S+ - - \[[^]]*\] "')


# On Linux the server asks to be sent SIGTERM when the bench dies, so not even a
# `kill -9` of the bench leaves it running.
DAPHNE = (
    [
        sys.executable,
        "-c",
        "import ctypes, signal; ctypes.CDLL(None).prctl(1, signal.SIGTERM); "
        "from daphne.cli import CommandLineInterface; CommandLineInterface.entrypoint()",
    ]
    if sys.platform.startswith("linux")
    else [sys.executable, "-m", "daphne"]
)


# What the servers of a benchmark run with, whatever the environment says: as in production,
# no DEBUG (which records every SQL query) and no access log line per request from daphne
# (the app's own JSON request log stays).
SERVER_ENV = {"DEBUG": "false"}
SERVER_ARGS = ["--verbosity", "0"]


class Server:
    """daphne on a free loopback port, stopped on leaving the block however it is left."""

    def __init__(self, *, env: dict[str, str], log: Path) -> None:
        self.env, self.log_path = {**env, **SERVER_ENV}, log
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        port = free_port()
        self.port = port
        self.url, self.ws_url = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line: this Python's daphne
            [*DAPHNE, *SERVER_ARGS, "-b", "127.0.0.1", "-p", str(port), "chatcore.asgi:application"],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_SECONDS
        opener = loopback_opener()
        while True:
            if self.process.poll() is not None:
                raise CommandError(f"daphne exited with code {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if opener.open(f"{self.url}/healthz", timeout=2).status == 200:
                    return
            if time.monotonic() > deadline:
                raise CommandError(f"daphne did not answer /healthz within {SERVER_START_SECONDS} s:\n{self.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def log_tail(self, lines: int = 20) -> str:
        """The log's last lines, without daphne's access lines (one per request and socket)."""
        self.log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join([line for line in text.splitlines() if not ACCESS_LINE.match(line)][-lines:])

    def login(self, username: str, password: str) -> str:
        """Sign in through the login form, as a browser does; returns the session key."""
        jar = http.cookiejar.CookieJar()
        opener = loopback_opener(urllib.request.HTTPCookieProcessor(jar))
        url = self.url + reverse("login")
        try:
            page = opener.open(url, timeout=HTTP_SECONDS).read().decode("utf-8")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            if token is None:
                raise CommandError("The login page has no CSRF token.")
            form = {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)}
            request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode())  # noqa: S310 - http://127.0.0.1
            opener.open(request, timeout=HTTP_SECONDS)
        except urllib.error.HTTPError as exc:
            raise CommandError(f"{username} could not sign in: HTTP {exc.code}\n{self.log_tail()}") from None
        except OSError as exc:
            raise CommandError(f"{username} could not sign in: {exc}\n{self.log_tail()}") from None
        session = next((c.value for c in jar if c.name == settings.SESSION_COOKIE_NAME), None)
        if session is None:
            raise CommandError(f"{username} signed in but got no session cookie.")
        return session


def loopback_opener(*handlers) -> urllib.request.OpenerDirector:
    # Loopback only: never through a proxy from the environment.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), *handlers)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The database this process uses (under the test runner: the test database)."""
    try:
        return url_of_database()
    except ValueError as exc:
        raise CommandError(f"The bench needs a database the server can open: {exc}.") from None


def create_users(prefix: str, full_name: str, count: int, password: str) -> list[User]:
    """``count`` employees named ``<prefix>NN``, after removing any left by an interrupted run."""
    remove_users(prefix, full_name, [])
    # Hashed once for all of them: the hasher is slow on purpose.
    encoded = make_password(password)
    return [
        user_create(username=f"{prefix}{n:02d}", role=Role.EMPLOYEE, encoded_password=encoded, full_name=full_name)
        for n in range(1, count + 1)
    ]


def remove_users(prefix: str, full_name: str, session_keys: list[str]) -> None:
    """Bench users go with their conversations, tokens and login records (cascade); their
    sessions are not linked to them, so those are deleted by key."""
    # The run can outlast this process's connection (a database restarted under load): the
    # next query then gets a new one, as a request's would.
    close_old_connections()
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in session_keys:
        store(session_key=key).delete()
    User.objects.filter(username__startswith=prefix, full_name=full_name).delete()


@contextlib.contextmanager
def stop_on_sigterm():
    """``kill`` unwinds like Ctrl-C does, so the server and the bench users are cleaned up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def bench_index():
    """The index the servers will serve; a clear error when there is nothing to bench on."""
    try:
        documents = Document.objects.exists()
    except DatabaseError as exc:
        raise CommandError(
            f"The database is not set up ({exc}): run `make setup` (or `manage.py migrate` "
            "and `manage.py load_company sample_company`) first."
        ) from None
    if not documents:
        raise CommandError(
            "The database has no company documents: run `make setup` (or `manage.py "
            "load_company sample_company`), or use --dataset sample_company."
        )
    try:
        # Builds it when this machine lacks it, as the server would on its first question.
        return ensure_index()
    except IndexUnavailable as exc:
        raise CommandError(f"The search index is not usable: {exc}") from None


def run_bench(command: BaseCommand, *, dataset: str, bench: list[str], as_json: bool, here: Callable[[], None]) -> None:
    """Run a benchmark here (``here``), or with ``--dataset`` in a process on a
    throwaway copy; either way ``kill`` cleans up."""
    with stop_on_sigterm():
        if dataset:
            run_on_dataset(command, dataset, bench=bench, as_json=as_json)
        else:
            here()


# --- --dataset: a throwaway database and index ------------------------------------------


def run_on_dataset(command: BaseCommand, directory: str, *, bench: list[str], as_json: bool) -> None:
    """Load ``directory`` as ``make setup`` does, into a temporary SQLite database and
    index, then run ``manage.py bench <bench…>`` in a process configured for them."""
    if not Path(directory).is_dir():
        raise CommandError(f"{directory} is not a directory.")
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    with tempfile.TemporaryDirectory(prefix="chatcore-bench-data-") as workdir:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{urllib.parse.quote(str(Path(workdir) / 'bench.sqlite3'))}",
            "INDEX_DIR": str(Path(workdir) / "index"),
            "CELERY_TASK_ALWAYS_EAGER": "true",
        }
        if not as_json:
            command.stderr.write(f"Loading {directory} into a temporary database and index…")
        # With eager tasks the import builds the index as it commits.
        for step in (["migrate", "--no-input"], ["load_company", str(Path(directory).resolve())]):
            done = subprocess.run(  # noqa: S603 - a fixed command line: this Python's manage.py
                [*manage, *step, "--verbosity", "0"],
                cwd=settings.BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
            )
            if done.returncode:
                raise CommandError(f"{' '.join(step)} failed:\n{done.stderr.strip()[-2000:]}")
        # Progress and errors go straight to the terminal; the table and JSON line through this command.
        child = subprocess.Popen(  # noqa: S603 - a fixed command line: this Python's manage.py
            [*manage, "bench", *bench, *(["--json"] if as_json else [])],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            out, _ = child.communicate()
        except BaseException as exc:
            # Ctrl-C reached the child as well; anything else must stop it. Either way it
            # stops its server before the temporary files go.
            if not isinstance(exc, KeyboardInterrupt):
                child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            raise
        if out.strip():
            command.stdout.write(out.rstrip("\n"))
        if child.returncode:
            raise CommandError(f"bench {bench[0]} on {directory} failed (exit code {child.returncode}).")
