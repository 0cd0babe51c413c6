"""Several machines, each with its own INDEX_DIR, over one database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chatcore.databases import database_url
from knowledge.services import document_update
from retrieval.services import index_rebuild, search_documents

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


class Node:
    def __init__(self, index_dir: Path, username: str) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "chatcore.settings.test",
            "DATABASE_URL": database_url(),
            "INDEX_DIR": str(index_dir),
            "RETRIEVAL_VERSION_CHECK_SECONDS": "0",
        }
        env.pop("REDIS_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "retrieval.tests.node", username],
            cwd=ROOT,
            env=env,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert json.loads(self.process.stdout.readline()) == {"ready": True}

    def ask(self, query: str) -> dict:
        self.process.stdin.write(query + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def test_a_second_node_with_its_own_index_dir_catches_up_after_an_edit(alice, hr_user, company, tmp_path, settings):
    settings.INDEX_DIR = tmp_path / "node-a"
    index_rebuild()
    node_b = Node(tmp_path / "node-b", "alice")
    try:
        before = node_b.ask("zeplin")
        assert not any("Zeplin" in snippet for snippet in before["snippets"])
        document_update(document=company["PR1"], body=dict(company["PR1"].body, summary="Zeplin ile izin talebi."), by=hr_user)
        # Node B answers from the version it has while a thread of its own builds the new one
        # (it has no files for it): the edit shows within a few seconds, no answer waits for it.
        deadline = time.monotonic() + 10
        while True:
            started = time.monotonic()
            after = node_b.ask("zeplin")
            if after["version"] > before["version"] or time.monotonic() > deadline:
                break
            assert time.monotonic() - started < 1.0
            time.sleep(0.2)
    finally:
        node_b.close()
    # Node A (this process) published the new version; node B had no files for it and rebuilt by itself.
    assert after["keys"][:1] == ["PR1"] and "Zeplin" in after["snippets"][0]
    assert after["version"] > before["version"]
    assert search_documents(user=alice, query="zeplin", k=1)[0].key == "PR1"
    assert (tmp_path / "node-b" / f"v{after['version']}" / "manifest.json").exists()
