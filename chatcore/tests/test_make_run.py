"""`make run` serves as a user would be served: DEBUG off (no URL patterns on a 404, no
settings on a 500), and no access line holding a query string. The server is started with
the Makefile's own command and settings."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from django.test import RequestFactory
from django.utils import translation

from chatcore.errors import server_error
from chatcore.tests.test_faults import ROOT, Server
from conftest import stop_process
from conversations.tests.test_browser import database_url

pytestmark = pytest.mark.django_db(transaction=True)


def make_serve_options() -> tuple[str, ...]:
    """The daphne options of the Makefile's SERVE, address, port and application aside."""
    line = re.search(r"^SERVE = (.*)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert line, "the Makefile has no SERVE command"
    words = shlex.split(line.group(1))
    assert words[0].endswith("daphne") and words[-1] == "chatcore.asgi:application"
    options, rest = [], iter(words[1:-1])
    for word in rest:
        if word in ("-b", "-p"):
            next(rest)
        else:
            options.append(word)
    return tuple(options)


def fetch(url: str) -> tuple[int, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_make_run_serves_without_debug_pages_or_query_strings_in_the_log(tmp_path):
    env = {
        "DJANGO_SETTINGS_MODULE": "chatcore.settings.local",
        "DATABASE_URL": database_url(),
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    # As `make setup` does before serving: the pages' styles come from the collected files.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
        cwd=ROOT,
        env={k: v for k, v in {**os.environ, **env}.items() if k not in ("DJANGO_ENV", "DEBUG")},
        check=True,
        timeout=120,
    )
    server = Server(log_path=tmp_path / "daphne.log", daphne_args=make_serve_options(), DJANGO_ENV=None, DEBUG=None, **env)
    try:
        status, page = fetch(server.url + "/no-such-page/?q=needle-one")
        assert status == 404, server.log()
        assert "URLconf" not in page and "urlpatterns" not in page and "DEBUG" not in page
        assert "ChatCore.AI" in page and "Page not found at" not in page
        status, _ = fetch(server.url + "/documents/?q=needle-two")
        assert status == 200  # the sign-in page it was sent to
        log = server.log()
        assert "needle" not in log, log
    finally:
        stop_process(server.process)


def test_a_server_error_is_a_plain_page_without_details(settings):
    settings.DEBUG = False
    with translation.override("en"):
        response = server_error(RequestFactory().get("/somewhere/"))
    assert response.status_code == 500
    text = response.content.decode()
    assert "Something went wrong" in text and "Traceback" not in text and "SECRET" not in text
