"""The company index on disk: built from the database, saved under
``INDEX_DIR/v<version>/`` with a manifest, published by atomically replacing the
``CURRENT`` pointer. A build happens in a temporary directory, so a crash leaves
the previous version serving."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import faiss
import numpy as np
from django.utils import timezone

from knowledge.models import Document, Visibility

from .chunking import HR, STAFF, VIEWS, chunk_document
from .embeddings import Embedder
from .engine import LANGUAGES, Passage, SearchIndex
from .text import passage_language, tokenize

FORMAT = 2  # 2: each passage's language and the BM25 index stored (1: tokens, indexed at every load)


class IndexUnavailable(Exception):
    """The index on disk is missing, corrupt or built by another embedder."""


@dataclass
class CompanyIndex:
    version: int
    embedder: str
    dim: int
    views: dict[str, SearchIndex]
    documents: dict[str, dict] = field(default_factory=dict)  # key -> {doc_type, title, visibility}

    @property
    def chunk_count(self) -> int:
        return sum(len(v) for v in self.views.values())

    def vectors_by_text(self) -> dict[str, np.ndarray]:
        known = {}
        for view in self.views.values():
            for passage, vector in zip(view.passages, view.vectors, strict=True):
                known[passage.text] = vector
        return known


def _passages_for(document: Document, view: str, names: dict[str, str]) -> list[Passage]:
    # ``names`` holds only the documents of this view: a link to any other resolves to
    # nothing, so the staff index never holds the name (or key) of an HR-only document.
    chunks = chunk_document(key=document.key, doc_type=document.doc_type, title=document.title,
                            body=document.body, view=view, resolve=lambda k: names.get(k, ""))
    return [Passage(c.key, c.text, {"section": c.section}) for c in chunks]


def build(*, embedder: Embedder, version: int, reuse: CompanyIndex | None = None, dense: str = "flat",
          progress: Callable[[int, int], None] | None = None) -> CompanyIndex:
    """Chunk and embed every document. Vectors of unchanged passages are taken
    from ``reuse``, so a one-document change embeds only that document."""
    documents = list(Document.objects.only("key", "doc_type", "title", "body", "visibility").order_by("key"))
    names = {
        HR: {d.key: d.title for d in documents},
        STAFF: {d.key: d.title for d in documents if d.visibility == Visibility.STAFF},
    }
    known = reuse.vectors_by_text() if reuse is not None and reuse.embedder == embedder.name else {}
    per_view: dict[str, list[Passage]] = {view: [] for view in VIEWS}
    for document in documents:
        for view in VIEWS:
            if view == STAFF and document.visibility != Visibility.STAFF:
                continue
            per_view[view].extend(_passages_for(document, view, names[view]))
    texts = sorted({p.text for view in VIEWS for p in per_view[view]} - set(known))
    batch = 64
    for start in range(0, len(texts), batch):
        part = texts[start:start + batch]
        for text, vector in zip(part, embedder.embed_documents(part), strict=True):
            known[text] = vector
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    # The tokens and language of an unchanged passage come from the index this one replaces when
    # it was built in this process (a loaded index keeps no tokens): tokenizing every passage
    # again was most of a one-document update (13 s of 14 at 10,000 documents).
    tokens_of: dict[str, list[str]] = {}
    language_of: dict[str, int] = {}
    if reuse is not None:
        for old in reuse.views.values():
            if old.tokens is not None and len(old.tokens) == len(old.passages):
                tokens_of.update((p.text, t) for p, t in zip(old.passages, old.tokens, strict=True))
            language_of.update((p.text, int(code)) for p, code in zip(old.passages, old.languages, strict=True))
    views = {}
    for view in VIEWS:
        passages = per_view[view]
        vectors = np.stack([known[p.text] for p in passages]) if passages else np.zeros((0, embedder.dim), np.float32)
        tokens = [tokens_of[p.text] if p.text in tokens_of else tokenize(p.text) for p in passages]
        languages = np.fromiter(
            (language_of[p.text] if p.text in language_of else LANGUAGES.index(passage_language(p.text))
             for p in passages), dtype=np.int8, count=len(passages))
        views[view] = SearchIndex(passages, vectors, tokens, dense=dense, languages=languages)
    meta = {d.key: {"doc_type": d.doc_type, "title": d.title, "visibility": d.visibility} for d in documents}
    return CompanyIndex(version, embedder.name, embedder.dim, views, meta)


def _checksum(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def private_directory(path: Path) -> None:
    """Make ``path`` (and parents) if missing, readable by this process's user only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(PermissionError):  # a mount point owned by another user: its owner decides
        path.chmod(0o700)


def save(index: CompanyIndex, root: Path) -> Path:
    """Write ``index`` to ``root/v<version>`` via a temporary directory and point
    ``CURRENT`` at it; returns the directory."""
    private_directory(root)
    tmp = root / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir(mode=0o700)
    try:
        files = []
        for view, search_index in index.views.items():
            passages = [{"doc_id": p.doc_id, "text": p.text, "meta": p.meta} for p in search_index.passages]
            (tmp / f"{view}.passages.json").write_text(json.dumps(passages, ensure_ascii=False), encoding="utf-8")
            np.save(tmp / f"{view}.vectors.npy", search_index.vectors)
            np.save(tmp / f"{view}.languages.npy", search_index.languages)
            files += [tmp / f"{view}.passages.json", tmp / f"{view}.vectors.npy", tmp / f"{view}.languages.npy"]
            if search_index.bm25 is not None:
                # bm25s's own format: the score matrix as .npy arrays, memory-mapped when loaded,
                # so a load does not tokenize or index a passage again.
                search_index.bm25.save(str(tmp / f"{view}.bm25"), show_progress=False)
                files += sorted((tmp / f"{view}.bm25").iterdir())
            if search_index._faiss is not None:
                faiss.write_index(search_index._faiss, str(tmp / f"{view}.faiss"))
                files.append(tmp / f"{view}.faiss")
        (tmp / "documents.json").write_text(json.dumps(index.documents, ensure_ascii=False), encoding="utf-8")
        files.append(tmp / "documents.json")
        manifest = {
            "format": FORMAT, "version": index.version, "embedder": index.embedder, "dim": index.dim,
            "chunks": {view: len(v) for view, v in index.views.items()},
            "dense_index": next(iter(index.views.values())).dense_kind if index.views else "flat",
            "checksum": _checksum(files), "built_at": timezone.now().isoformat(),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        for path in tmp.rglob("*"):
            # The HR view holds every salary and national id: for this process's user only.
            path.chmod(0o700 if path.is_dir() else 0o600)
        target = root / f"v{index.version}"
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pointer = root / f".CURRENT-{uuid.uuid4().hex}"
    pointer.write_text(str(index.version), encoding="utf-8")
    pointer.chmod(0o600)
    os.replace(pointer, root / "CURRENT")
    _prune(root, keep={index.version})
    return target


def _prune(root: Path, keep: set[int], extra: int = 2) -> None:
    for version in versions(root)[extra:]:
        if version not in keep:
            shutil.rmtree(root / f"v{version}", ignore_errors=True)


def read_manifest(root: Path, version: int) -> dict:
    """The manifest of ``root/v<version>``; ``IndexUnavailable`` when there is none."""
    directory = root / f"v{version}"
    try:
        data = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexUnavailable(f"{directory}: no readable manifest ({exc})") from None
    if not isinstance(data, dict):
        raise IndexUnavailable(f"{directory}: no readable manifest")
    return data


def versions(root: Path) -> list[int]:
    """The index versions on disk, newest first."""
    return sorted((int(p.name[1:]) for p in root.glob("v*") if p.name[1:].isdigit()), reverse=True)


def load(root: Path, version: int, *, embedder: Embedder) -> CompanyIndex:
    """Load ``root/v<version>``; ``IndexUnavailable`` when it is missing, corrupt
    or was built by another embedder."""
    directory = root / f"v{version}"
    manifest = read_manifest(root, version)
    if manifest.get("format") != FORMAT or manifest.get("version") != version:
        raise IndexUnavailable(f"{directory}: manifest of another format or version")
    if manifest.get("embedder") != embedder.name or manifest.get("dim") != embedder.dim:
        raise IndexUnavailable(f"{directory}: built with {manifest.get('embedder')}, not {embedder.name}")
    try:
        files = [directory / f"{view}.{part}" for view in VIEWS
                 for part in ("passages.json", "vectors.npy", "languages.npy")]
        files += [path for view in VIEWS if (directory / f"{view}.bm25").is_dir()
                  for path in (directory / f"{view}.bm25").iterdir()]
        files += [directory / f"{view}.faiss" for view in VIEWS if (directory / f"{view}.faiss").exists()]
        files.append(directory / "documents.json")
        if _checksum(files) != manifest.get("checksum"):
            raise IndexUnavailable(f"{directory}: checksum mismatch (corrupt or half-written)")
        views = {}
        for view in VIEWS:
            raw = json.loads((directory / f"{view}.passages.json").read_text(encoding="utf-8"))
            passages = [Passage(p["doc_id"], p["text"], p.get("meta") or {}) for p in raw]
            bm25_dir = directory / f"{view}.bm25"
            bm25 = (bm25s.BM25.load(str(bm25_dir), mmap=True, show_progress=False, verbosity=0)
                    if bm25_dir.is_dir() else None)
            vectors = np.load(directory / f"{view}.vectors.npy")
            faiss_path = directory / f"{view}.faiss"
            stored = faiss.read_index(str(faiss_path)) if faiss_path.exists() else None
            languages = np.load(directory / f"{view}.languages.npy")
            views[view] = SearchIndex(passages, vectors, [] if bm25 is None else None,
                                      dense=manifest.get("dense_index", "flat"), faiss_index=stored,
                                      languages=languages, bm25=bm25)
        documents = json.loads((directory / "documents.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise IndexUnavailable(f"{directory}: unreadable ({exc})") from None
    return CompanyIndex(version, manifest["embedder"], manifest["dim"], views, documents)


def current_version_on_disk(root: Path) -> int | None:
    try:
        return int((root / "CURRENT").read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


__all__ = ["HR", "STAFF", "CompanyIndex", "IndexUnavailable", "build", "current_version_on_disk", "load",
           "read_manifest", "save", "versions"]
