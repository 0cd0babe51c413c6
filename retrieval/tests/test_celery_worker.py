"""A real Celery worker process, fed through Redis, keeps the index in step with
the database, and the web side serves what it published."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from celery import Celery

from chatcore.celery import app as chatcore_app
from conftest import stop_process
from knowledge.services import document_update
from retrieval import services
from retrieval.indexes.embedded import current_index, index_rebuild
from retrieval.models import IndexState
from retrieval.services import search_documents
from retrieval.tests.test_nodes import database_url

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 25
pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def worker_redis_url() -> str:
    # A database of its own, so a stray test task never reaches a development worker on /0.
    return urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/5"))


@pytest.fixture
def worker(tmp_path, settings):
    """``celery worker`` on a queue no other run uses, against this test's database, with the
    test's search backend."""
    queue = f"chatcore-test-{uuid.uuid4().hex[:12]}"
    index_dir = tmp_path / "worker-index"
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "retrieval.tests.worker_settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": worker_redis_url(),
        "INDEX_DIR": str(index_dir),
        "RETRIEVAL_BACKEND": settings.RETRIEVAL_BACKEND,
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
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
                f"{queue}@%h",
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
    # Sends from this process as a web process with REDIS_URL set would: to the broker, not eagerly.
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
        yield {"process": process, "index_dir": index_dir, "log": log_path, "sender": sender}
    finally:
        chatcore_app.set_current()
        stop_process(process)
        with sender.connection_for_write() as conn:
            conn.default_channel.client.delete(queue)
        sender.close()


def wait_for_version(above: int, worker) -> int:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        version = IndexState.objects.get(pk=1).version
        if version > above:
            return version
        assert worker["process"].poll() is None, worker["log"].read_text(errors="replace")[-3000:]
        time.sleep(0.1)
    pytest.fail(
        f"no index version above {above} after {DEADLINE_SECONDS}s:\n" + worker["log"].read_text(errors="replace")[-3000:]
    )


@pytest.mark.usefixtures("embedded_backend")
def test_an_edit_is_reindexed_by_the_worker_and_served_by_the_web_side(alice, hr_user, company, worker, settings):
    settings.RETRIEVAL = {**settings.RETRIEVAL, "VERSION_CHECK_SECONDS": 0.2}
    before = index_rebuild().version
    assert not any("Zeplin" in r.snippet for r in search_documents(user=alice, query="zeplin", k=3))

    # The service commits, the receiver queues reindex_documents; nothing runs in this process.
    document_update(document=company["PR1"], body=dict(company["PR1"].body, summary="Zeplin ile izin talebi."), by=hr_user)
    version = wait_for_version(before, worker)

    # Only the worker wrote that version: this process's INDEX_DIR does not have it yet.
    assert (worker["index_dir"] / f"v{version}" / "manifest.json").exists()
    assert not (Path(settings.INDEX_DIR) / f"v{version}").exists()
    time.sleep(0.2)
    # This process keeps serving its version while a thread loads the new one.
    current_index()
    services.wait_for_loader()
    assert current_index().version == version
    hits = search_documents(user=alice, query="zeplin", k=1)
    assert hits[0].key == "PR1" and "Zeplin" in hits[0].snippet

    # A full rebuild through the broker returns the version it recorded.
    result = worker["sender"].send_task("retrieval.tasks.rebuild_index")
    rebuilt = result.get(timeout=DEADLINE_SECONDS)
    assert rebuilt == version + 1 == IndexState.objects.get(pk=1).version
    assert (worker["index_dir"] / f"v{rebuilt}" / "manifest.json").exists()


@pytest.mark.postgres
@pytest.mark.usefixtures("postgres_backend")
def test_with_postgres_an_edit_is_searchable_everywhere_when_the_worker_commits(alice, hr_user, company, worker):
    from retrieval.models import IndexedPassage
    from retrieval.services import index_rebuild as rebuild

    before = rebuild().version
    assert not any("Zeplin" in r.snippet for r in search_documents(user=alice, query="zeplin", k=3))
    document_update(document=company["PR1"], body=dict(company["PR1"].body, summary="Zeplin ile izin talebi."), by=hr_user)
    wait_for_version(before, worker)
    # Nothing to load: the worker's commit is what this process searches.
    hits = search_documents(user=alice, query="zeplin", k=1)
    assert hits[0].key == "PR1" and "Zeplin" in hits[0].snippet
    assert IndexedPassage.objects.filter(key="PR1", text__contains="Zeplin").count() == 2  # staff and HR
    assert not list(worker["index_dir"].glob("v*"))  # and no files anywhere
    result = worker["sender"].send_task("retrieval.tasks.rebuild_index")
    assert result.get(timeout=DEADLINE_SECONDS) > before
