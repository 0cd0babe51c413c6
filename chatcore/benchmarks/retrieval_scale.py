"""``bench retrieval --documents N``: the configured search backend at the size of a large
company, in a database of its own (a scratch PostgreSQL database on the configured server, or a
temporary SQLite file), dropped at the end; the user's database is never touched.

Three processes:
- the **writer** loads a synthetic company (``synthetic.SyntheticCompany``, reproducible with
  ``--seed``), indexes it all (rebuild throughput), then saves edits through the same service
  the admin and the API use, each re-indexed after commit as a task would;
- the **web process** (a "probe": what daphne would run, with the real embedding model loaded)
  asks questions of five kinds as an employee and as HR, and during each edit searches for the
  edit's new word every 20 ms until it finds it (edit → searchable, and the longest search
  while the index changes);
- this command, which times them against the same monotonic clock and prints one JSON line.

Vectors: ``synthetic`` (the default; ``embeddings.synthetic``, a hashed bag of words) costs
almost nothing, so 100,000 documents index in minutes instead of days on two cores; every other
cost (chunking, tokens, SQL, HNSW, the permission join) is real. The web process still loads the real model, whose own
query time is reported beside the search's (``query_embedding_ms``). ``--real-vectors`` embeds
with the configured model (quality runs; about 30 passages a second here).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

KINDS = ("name", "skill", "howto_tr", "howto_en", "key")
CHILD = "from chatcore.benchmarks.retrieval_scale import child; child()"


def _percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else 0.0


class Child:
    """A process speaking JSON lines on stdin/stdout."""

    def __init__(self, role: str, env: dict) -> None:
        self.process = subprocess.Popen(  # noqa: S603 — our own interpreter and module
            [sys.executable, "-c", CHILD, role],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def ask(self, message: dict) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise CommandError(f"the {message.get('do')} step failed (see the error above)")
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.ask({"do": "quit"})
            except (CommandError, OSError, ValueError):
                pass
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class ScratchDatabase:
    """A database of the configured kind that only this benchmark uses."""

    def __init__(self, workdir: Path) -> None:
        default = settings.DATABASES["default"]
        self.postgres = default["ENGINE"] == "django.db.backends.postgresql"
        self.name = f"chatcore_bench_{os.getpid()}"
        if self.postgres:
            netloc = default.get("USER") or ""
            if default.get("PASSWORD"):
                netloc += ":" + urllib.parse.quote(default["PASSWORD"], safe="")
            host = f"{default.get('HOST') or 'localhost'}:{default.get('PORT') or 5432}"
            self.url = f"postgres://{netloc}@{host}/{self.name}" if netloc else f"postgres://{host}/{self.name}"
        else:
            self.url = f"sqlite:///{urllib.parse.quote(str(workdir / 'bench.sqlite3'))}"

    def _admin(self, sql: str) -> None:
        import psycopg

        default = settings.DATABASES["default"]
        with psycopg.connect(
            dbname=default["NAME"],
            user=default.get("USER") or None,
            password=default.get("PASSWORD") or None,
            host=default.get("HOST") or None,
            port=default.get("PORT") or None,
            autocommit=True,
        ) as conn:
            conn.execute(sql)

    def create(self) -> None:
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')
            self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def disk_bytes(self, index_dir: Path) -> int:
        if self.postgres:
            import psycopg

            with psycopg.connect(self.url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
                return int(
                    conn.execute(
                        "SELECT pg_total_relation_size('retrieval_indexedpassage') + "
                        "pg_total_relation_size('retrieval_indexposting') + "
                        "pg_total_relation_size('retrieval_indexterm')"
                    ).fetchone()[0]
                )
        return sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())


def run(
    command: BaseCommand,
    *,
    documents: int,
    seed: int,
    edits: int,
    queries: int,
    real_vectors: bool,
    as_json: bool,
    keep: bool = False,
    **options,
) -> None:
    if documents < 10:
        raise CommandError("--documents needs at least 10 documents.")
    backend = settings.RETRIEVAL_BACKEND.rsplit(".", 1)[-1]
    workdir = Path(tempfile.mkdtemp(prefix="chatcore-bench-scale-"))
    database = ScratchDatabase(workdir)
    say = (lambda text: None) if as_json else (lambda text: command.stderr.write(text))
    env = {
        **os.environ,
        "DATABASE_URL": database.url,
        "INDEX_DIR": str(workdir / "index"),
        "RETRIEVAL_BACKEND": settings.RETRIEVAL_BACKEND,
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "EMBEDDING_PROVIDER": settings.EMBEDDING_PROVIDER if real_vectors else "synthetic",
        "BENCH_REAL_EMBEDDER": settings.EMBEDDING_PROVIDER,
        "DJANGO_LOG_LEVEL": "WARNING",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_REPLICA_URL", None)
    writer = probe = None
    try:
        database.create()
        say(
            f"Scratch {'PostgreSQL database ' + database.name if database.postgres else 'SQLite database'}; "
            f"{documents} synthetic documents (seed {seed}), {'real' if real_vectors else 'synthetic'} vectors, "
            f"{backend}."
        )
        migrate = subprocess.run(  # noqa: S603 - a fixed command line: this Python's manage.py
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "migrate",
                "--no-input",
                "--verbosity",
                "0",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
        )
        if migrate.returncode:
            raise CommandError(f"migrate failed:\n{migrate.stderr.strip()[-2000:]}")
        writer = Child("writer", env)
        loaded = writer.ask({"do": "load", "documents": documents, "seed": seed})
        say(f"Loaded {loaded['documents']} documents in {loaded['seconds']:.0f}s; indexing…")
        built = writer.ask({"do": "rebuild"})
        say(f"Indexed {built['passages']} passages in {built['seconds']:.0f}s; starting the web process…")
        probe = Child("probe", env)
        started = probe.ask({"do": "start", "seed": seed})
        asked = probe.ask({"do": "queries", "count": queries, "seed": seed})
        say(f"Queries: p50 {asked['all']['p50_ms']} ms; {edits} edits…")
        rng = random.Random(seed)
        keys = loaded["sample_keys"]
        delays, stalls, reindexed = [], [], []
        # Synthetic vectors carry no meaning, so with them the made-up word is looked for by its
        # keywords alone (the same index, the same permission join); real vectors: the hybrid search.
        probe_method = "hybrid" if real_vectors else "bm25"
        for n in range(edits):
            key = rng.choice(keys)
            # A made-up word of its own (no prefix shared with the other edits' words).
            word = "".join(rng.choice("bcdfgkmnprstvz") + rng.choice("aeiou") for _ in range(5))
            probe.ask({"do": "watch", "word": word, "key": key, "method": probe_method})
            edit = writer.ask({"do": "edit", "key": key, "word": word})
            seen = probe.ask({"do": "wait", "timeout": 30})
            if seen["found_at"] is None:
                raise CommandError(f"edit {n + 1} ({key}) was not searchable after 30 s {seen['error']}")
            delays.append(seen["found_at"] - edit["started_at"])
            reindexed.append(edit["indexed_s"])
            stalls.append(seen["slowest_ms"])
        rss = probe.ask({"do": "rss"})
        merged = writer.ask({"do": "merges"})
        result = {
            "bench": "retrieval-scale",
            "backend": backend,
            "database": "postgresql" if database.postgres else "sqlite",
            "documents": loaded["documents"],
            "passages": built["passages"],
            "seed": seed,
            "vectors": "real" if real_vectors else "synthetic",
            "embedder": built["embedder"],
            "load_s": round(loaded["seconds"], 1),
            "rebuild_s": round(built["seconds"], 1),
            "rebuild_documents_per_s": round(loaded["documents"] / built["seconds"], 1),
            "rebuild_passages_per_s": round(built["passages"] / built["seconds"], 1),
            "edits": edits,
            "edit_probe": probe_method,
            "edit_to_searchable_p50_s": _percentile(delays, 50),
            "edit_to_searchable_max_s": round(max(delays), 3) if delays else 0.0,
            # The writer's save, commit and re-index, before anyone can search for it.
            "edit_saved_and_reindexed_p50_s": _percentile(reindexed, 50),
            "edit_saved_and_reindexed_max_s": round(max(reindexed), 3) if reindexed else 0.0,
            "slowest_search_during_edits_ms": round(max(stalls), 1) if stalls else 0.0,
            # Embedded backend: deltas merged into a new full index during the edits (each loaded
            # by the web process while it searched).
            "merges_during_edits": merged["merges"],
            "query_ms": {kind: asked[kind] for kind in (*KINDS, "all")},
            "query_embedding_ms": started["query_embedding_ms"],
            "web_process_start_s": started["seconds"],
            "web_process_rss_mib": rss["rss_mib"],
            "disk_mib": round(database.disk_bytes(workdir / "index") / 2**20, 1),
        }
        if not as_json:
            _table(command, result)
        command.stdout.write(json.dumps(result))
    finally:
        for child in (probe, writer):
            if child is not None:
                child.close()
        if keep:
            command.stderr.write(
                f"Kept: DATABASE_URL={database.url} INDEX_DIR={workdir / 'index'} EMBEDDING_PROVIDER={env['EMBEDDING_PROVIDER']}"
            )
        else:
            try:
                database.drop()
            finally:
                shutil.rmtree(workdir, ignore_errors=True)


def _table(command: BaseCommand, r: dict) -> None:
    write = command.stdout.write
    write(
        f"{r['backend']} on {r['database']}: {r['documents']} documents, {r['passages']} passages "
        f"({r['vectors']} vectors, {r['embedder']})"
    )
    write(
        f"  rebuild: {r['rebuild_s']} s ({r['rebuild_documents_per_s']} documents/s, "
        f"{r['rebuild_passages_per_s']} passages/s); disk {r['disk_mib']} MiB"
    )
    write(
        f"  edit → searchable from another process: p50 {r['edit_to_searchable_p50_s']} s, "
        f"max {r['edit_to_searchable_max_s']} s over {r['edits']} edits; slowest search meanwhile "
        f"{r['slowest_search_during_edits_ms']} ms"
        + (f" ({r['merges_during_edits']} merges of the delta meanwhile)" if r["merges_during_edits"] else "")
    )
    write(
        f"  web process: RSS {r['web_process_rss_mib']} MiB, ready in {r['web_process_start_s']} s; "
        f"query embedding p50 {r['query_embedding_ms']['p50_ms']} ms (not in the search times below)"
    )
    write(f"  {'search':<10}{'p50 ms':>8}{'p95 ms':>8}")
    for kind, row in r["query_ms"].items():
        write(f"  {kind:<10}{row['p50_ms']:>8}{row['p95_ms']:>8}")


# --- the child processes --------------------------------------------------------------


def child() -> None:
    import django

    from chatcore.env import configure_settings_module

    configure_settings_module()
    django.setup()
    role = sys.argv[-1]
    handler = Writer() if role == "writer" else Probe()
    for line in sys.stdin:
        message = json.loads(line)
        if message["do"] == "quit":
            print(json.dumps({"ok": True}), flush=True)
            return
        print(json.dumps(getattr(handler, message["do"])(message)), flush=True)


class Writer:
    def load(self, message: dict) -> dict:
        from accounts.models import Role
        from accounts.services import user_create
        from knowledge.doctypes import get_doctype
        from knowledge.models import Document

        from .synthetic import SyntheticCompany

        started = time.perf_counter()
        company = SyntheticCompany(message["documents"], seed=message["seed"])
        batch, count, keys = [], 0, []
        for document in company.documents():
            schema = get_doctype(document.doc_type)
            body = schema.canonical_body(document.body)
            batch.append(
                Document(
                    key=document.key,
                    doc_type=document.doc_type,
                    title=schema.title(body),
                    body=body,
                    visibility=document.visibility,
                )
            )
            if document.doc_type in ("employee", "procedure") and document.visibility == "staff":
                keys.append(document.key)
            if len(batch) >= 2000:
                Document.objects.bulk_create(batch)
                count += len(batch)
                batch = []
        Document.objects.bulk_create(batch)
        count += len(batch)
        user_create(username="bench-employee", role=Role.EMPLOYEE, password="-", full_name="Bench Employee")
        user_create(username="bench-hr", role=Role.HR, password="-", full_name="Bench HR")
        rng = random.Random(message["seed"])
        return {
            "documents": count,
            "seconds": time.perf_counter() - started,
            "sample_keys": rng.sample(keys, min(200, len(keys))),
        }

    def rebuild(self, message: dict) -> dict:
        from retrieval.services import index_rebuild

        started = time.perf_counter()
        summary = index_rebuild()
        return {"seconds": time.perf_counter() - started, "passages": summary.chunk_count, "embedder": summary.embedder}

    def edit(self, message: dict) -> dict:
        from knowledge.models import Document
        from knowledge.services import document_update

        document = Document.objects.get(key=message["key"])
        body = dict(document.body)
        field = "summary" if document.doc_type == "procedure" else "title"
        body[field] = f"{body.get(field) or ''} {message['word']}".strip()
        started = time.monotonic()
        # As the admin saves: the re-index runs when the transaction commits (a task, eager here).
        document_update(document=document, body=body)
        return {"started_at": started, "indexed_s": time.monotonic() - started}

    def merges(self, message: dict) -> dict:
        from retrieval.indexes import embedded

        embedded.wait_for_merge()
        return {"merges": embedded.merges_started}


class Probe:
    """What a web process does: load the model, then search."""

    def start(self, message: dict) -> dict:
        from accounts.models import User
        from retrieval.embeddings import get_embedder
        from retrieval.services import ensure_index

        started = time.perf_counter()
        real = get_embedder(os.environ.get("BENCH_REAL_EMBEDDER") or None)
        real.load()
        ensure_index()
        self.users = {"employee": User.objects.get(username="bench-employee"), "hr": User.objects.get(username="bench-hr")}
        seconds = time.perf_counter() - started
        latencies = []
        for n in range(30):
            t0 = time.perf_counter()
            real.embed_queries([f"yıllık izin için kaç gün önce başvurmalıyım {n}"])
            latencies.append((time.perf_counter() - t0) * 1000)
        return {
            "seconds": round(seconds, 2),
            "query_embedding_ms": {"p50_ms": _percentile(latencies, 50), "p95_ms": _percentile(latencies, 95)},
        }

    def _questions(self, count: int, seed: int) -> list[tuple[str, str]]:
        from knowledge.models import Document

        from .synthetic import PROJECT_KINDS, SKILLS, TOPICS

        rng = random.Random(seed)
        people = list(Document.objects.filter(doc_type="employee").order_by("?").values_list("title", "key")[:count])
        questions = []
        for n in range(count):
            title, key = people[n % len(people)]
            tr, en = rng.choice(TOPICS)
            questions += [
                ("name", title),
                ("skill", f"{rng.choice(SKILLS)} bilen mühendisler"),
                ("howto_tr", f"{tr.lower()} için ne yapmalıyım?"),
                ("howto_en", f"how do I request {en.lower()}? who works on the {rng.choice(PROJECT_KINDS)[1].lower()}?"),
                ("key", key),
            ]
        return questions

    def queries(self, message: dict) -> dict:
        from retrieval.services import search_documents

        by_kind: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for kind, question in self._questions(message["count"], message["seed"]):
            for user in self.users.values():
                t0 = time.perf_counter()
                search_documents(user=user, query=question, k=10)
                by_kind[kind].append((time.perf_counter() - t0) * 1000)
        everything = [v for values in by_kind.values() for v in values]
        result = {kind: {"p50_ms": _percentile(v, 50), "p95_ms": _percentile(v, 95)} for kind, v in by_kind.items()}
        result["all"] = {"p50_ms": _percentile(everything, 50), "p95_ms": _percentile(everything, 95)}
        return result

    def watch(self, message: dict) -> dict:
        """Start searching for ``word`` on a thread until ``key`` is found."""
        import threading

        from django.db import connections

        from retrieval.services import search_documents

        self.found_at = None
        self.error = ""
        self.slowest = 0.0
        self.stop = threading.Event()
        user = self.users["hr"]

        def poll() -> None:
            try:
                while not self.stop.is_set():
                    t0 = time.perf_counter()
                    found = [r.key for r in search_documents(user=user, query=message["word"], k=3, method=message["method"])]
                    self.slowest = max(self.slowest, (time.perf_counter() - t0) * 1000)
                    if message["key"] in found:
                        self.found_at = time.monotonic()
                        return
                    self.stop.wait(0.02)
            except Exception as exc:  # noqa: BLE001 — reported to the command
                self.error = repr(exc)
            finally:
                connections.close_all()

        self.thread = threading.Thread(target=poll, daemon=True)
        self.thread.start()
        return {"watching": message["word"]}

    def wait(self, message: dict) -> dict:
        self.thread.join(message["timeout"])
        self.stop.set()
        self.thread.join(5)
        return {"found_at": self.found_at, "slowest_ms": self.slowest, "error": self.error}

    def rss(self, message: dict) -> dict:
        import gc

        import psutil

        gc.collect()
        return {"rss_mib": round(psutil.Process().memory_info().rss / 2**20)}
