"""The company index on disk: built from the database, saved under
``INDEX_DIR/v<version>/`` with a manifest, published by atomically replacing the
``CURRENT`` pointer. A build happens in a temporary directory, so a crash leaves
the previous version serving.

A version is *full* (every passage, with its BM25 and vector index) or a *delta*: the passages
of the documents changed since a full version (its ``base``), which it names. A delta holds every
document changed since its base, so loading a version never needs more than two directories, and
a process that already serves the base loads only the delta: a few files of a few documents."""

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
from .engine import LANGUAGES, Passage, PassageTable, SearchIndex, SegmentedIndex
from .text import passage_language, tokenize

# 3: each view's mean passage length stored, and delta versions (2: each passage's language and the
# BM25 index stored; 1: tokens, indexed at every load).
FORMAT = 3


class IndexUnavailable(Exception):
    """The index on disk is missing, corrupt or built by another embedder."""


@dataclass
class CompanyIndex:
    version: int
    embedder: str
    dim: int
    views: dict[str, SearchIndex]
    documents: dict[str, dict] = field(default_factory=dict)  # key -> {doc_type, title, visibility}
    # A delta version: the full index it extends, the documents changed since (key -> the version
    # each last changed in), and per view those documents' passages.
    main: CompanyIndex | None = None
    changed: dict[str, int] = field(default_factory=dict)
    delta: dict[str, SearchIndex] = field(default_factory=dict)

    @property
    def chunk_count(self) -> int:
        return sum(len(v) for v in self.views.values())

    @property
    def full(self) -> CompanyIndex:
        """The full index: this one, or the one this delta extends."""
        return self.main or self

    @property
    def base(self) -> int:
        return self.full.version

    @property
    def delta_passages(self) -> int:
        return sum(len(v) for v in self.delta.values())

    def vectors_by_text(self, keys=None) -> dict[str, np.ndarray]:
        """Each passage text's vector (of the documents ``keys`` only, when given)."""
        known = {}
        segments = [*self.full.views.values(), *self.delta.values()]
        for segment in segments:
            rows = range(len(segment.rows)) if keys is None else segment.rows_of(keys)
            for i in rows:
                known[segment.rows[i].text] = segment.vectors[i]
        return known


def compose(
    main: CompanyIndex, version: int, changed: dict[str, int], delta: dict[str, SearchIndex], documents: dict[str, dict]
) -> CompanyIndex:
    """The delta version ``version`` of ``main``: ``documents`` are the changed documents that exist."""
    meta = {key: value for key, value in main.documents.items() if key not in changed}
    meta.update(documents)
    views = {view: SegmentedIndex(main.views[view], delta[view], changed) for view in main.views}
    return CompanyIndex(version, main.embedder, main.dim, views, meta, main=main, changed=dict(changed), delta=delta)


def _passages_for(document: Document, view: str, names: dict[str, str]) -> list[Passage]:
    # ``names`` holds only the documents of this view: a link to any other resolves to
    # nothing, so the staff index never holds the name (or key) of an HR-only document.
    chunks = chunk_document(
        key=document.key,
        doc_type=document.doc_type,
        title=document.title,
        body=document.body,
        view=view,
        resolve=lambda k: names.get(k, ""),
    )
    return [Passage(c.key, c.text, {"section": c.section}) for c in chunks]


def _names(documents) -> dict[str, dict[str, str]]:
    # A view resolves links to its own documents only: a link to any other resolves to nothing,
    # so the staff index never holds the name (or key) of an HR-only document.
    return {
        HR: {d.key: d.title for d in documents},
        STAFF: {d.key: d.title for d in documents if d.visibility == Visibility.STAFF},
    }


def _chunk(documents, names) -> dict[str, list[Passage]]:
    per_view: dict[str, list[Passage]] = {view: [] for view in VIEWS}
    for document in documents:
        for view in VIEWS:
            if view == STAFF and document.visibility != Visibility.STAFF:
                continue
            per_view[view].extend(_passages_for(document, view, names[view]))
    return per_view


def _embed(
    embedder: Embedder, texts: list[str], known: dict[str, np.ndarray], progress: Callable[[int, int], None] | None = None
) -> None:
    texts = sorted(set(texts) - set(known))
    batch = 64
    for start in range(0, len(texts), batch):
        part = texts[start : start + batch]
        for text, vector in zip(part, embedder.embed_documents(part), strict=True):
            known[text] = vector
        if progress:
            progress(min(start + batch, len(texts)), len(texts))


def _meta(documents) -> dict[str, dict]:
    return {d.key: {"doc_type": d.doc_type, "title": d.title, "visibility": d.visibility} for d in documents}


def build(
    *,
    embedder: Embedder,
    version: int,
    reuse: CompanyIndex | None = None,
    dense: str = "flat",
    progress: Callable[[int, int], None] | None = None,
) -> CompanyIndex:
    """Chunk and embed every document into a full index. Vectors of unchanged passages are taken
    from ``reuse``, so a one-document change embeds only that document."""
    documents = list(Document.objects.only("key", "doc_type", "title", "body", "visibility").order_by("key"))
    known = reuse.vectors_by_text() if reuse is not None and reuse.embedder == embedder.name else {}
    per_view = _chunk(documents, _names(documents))
    _embed(embedder, [p.text for view in VIEWS for p in per_view[view]], known, progress)
    # The tokens and language of an unchanged passage come from the index this one replaces when
    # it was built in this process (a loaded index keeps no tokens): tokenizing every passage
    # again was most of a one-document update (13 s of 14 at 10,000 documents).
    tokens_of: dict[str, list[str]] = {}
    language_of: dict[str, int] = {}
    if reuse is not None:
        for old in [*reuse.full.views.values(), *reuse.delta.values()]:
            if old.tokens is not None and len(old.tokens) == len(old.rows):
                tokens_of.update((p.text, t) for p, t in zip(old.rows, old.tokens, strict=True))
            language_of.update((p.text, int(code)) for p, code in zip(old.rows, old.languages, strict=True))
    views = {view: _segment(per_view[view], known, embedder.dim, dense, tokens_of, language_of) for view in VIEWS}
    return CompanyIndex(version, embedder.name, embedder.dim, views, _meta(documents))


def _segment(
    passages: list[Passage],
    known: dict[str, np.ndarray],
    dim: int,
    dense: str,
    tokens_of: dict[str, list[str]],
    language_of: dict[str, int],
    keyword_index: bool = True,
) -> SearchIndex:
    vectors = np.stack([known[p.text] for p in passages]) if passages else np.zeros((0, dim), np.float32)
    tokens = [tokens_of[p.text] if p.text in tokens_of else tokenize(p.text) for p in passages]
    languages = np.fromiter(
        (language_of[p.text] if p.text in language_of else LANGUAGES.index(passage_language(p.text)) for p in passages),
        dtype=np.int8,
        count=len(passages),
    )
    return SearchIndex(passages, vectors, tokens, dense=dense, languages=languages, keyword_index=keyword_index)


def build_delta(*, embedder: Embedder, version: int, current: CompanyIndex, keys) -> CompanyIndex:
    """``current`` with the documents ``keys`` (changed or deleted) indexed again, as the delta
    version ``version`` of ``current``'s full index. Every document of the delta is read and chunked
    again from the database (a few, until the next merge), the rest is left as it is."""
    changed = dict(current.changed)
    changed.update(dict.fromkeys(keys, version))
    # Titles of every document, for links; bodies of the changed ones only.
    names = _names(Document.objects.only("key", "title", "visibility"))
    documents = list(
        Document.objects.filter(key__in=list(changed)).only("key", "doc_type", "title", "body", "visibility").order_by("key")
    )
    per_view = _chunk(documents, names)
    known = current.vectors_by_text(changed) if current.embedder == embedder.name else {}
    _embed(embedder, [p.text for view in VIEWS for p in per_view[view]], known)
    delta = {view: _segment(per_view[view], known, embedder.dim, "flat", {}, {}, keyword_index=False) for view in VIEWS}
    return compose(current.full, version, changed, delta, _meta(documents))


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


def write(index: CompanyIndex, root: Path) -> tuple[Path, str]:
    """Write the files of ``index`` (full, or a delta) but its manifest into a new temporary
    directory under ``root``; returns the directory and the files' checksum (``save`` finishes it).
    A merge writes the large files of a full index this way before it takes the build lock."""
    private_directory(root)
    tmp = root / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir(mode=0o700)
    try:
        files = []
        is_delta = index.main is not None
        segments = index.delta if is_delta else index.views
        for view, segment in segments.items():
            if is_delta:  # a few passages, with their tokens rather than a BM25 index
                rows = [
                    {"doc_id": p.doc_id, "text": p.text, "meta": p.meta, "tokens": tokens}
                    for p, tokens in zip(segment.rows, segment.tokens, strict=True)
                ]
                (tmp / f"{view}.passages.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
                files.append(tmp / f"{view}.passages.json")
            else:
                files += _save_table(segment.rows, tmp, view)
            np.save(tmp / f"{view}.vectors.npy", segment.vectors)
            np.save(tmp / f"{view}.languages.npy", segment.languages)
            files += [tmp / f"{view}.vectors.npy", tmp / f"{view}.languages.npy"]
            if not is_delta and segment.bm25 is not None:
                # bm25s's own format: the score matrix as .npy arrays, memory-mapped when loaded,
                # so a load does not tokenize or index a passage again.
                segment.bm25.save(str(tmp / f"{view}.bm25"), show_progress=False)
                files += sorted((tmp / f"{view}.bm25").iterdir())
            if not is_delta and segment._faiss is not None:
                faiss.write_index(segment._faiss, str(tmp / f"{view}.faiss"))
                files.append(tmp / f"{view}.faiss")
        documents = (
            {key: index.documents[key] for key in index.changed if key in index.documents} if is_delta else index.documents
        )
        (tmp / "documents.json").write_text(json.dumps(documents, ensure_ascii=False), encoding="utf-8")
        files.append(tmp / "documents.json")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp, _checksum(files)


def save(index: CompanyIndex, root: Path, *, point: bool = True, written: tuple[Path, str] | None = None) -> Path:
    """Write ``index`` (full, or a delta whose base is on disk) to ``root/v<version>`` via a
    temporary directory (``written`` when ``write`` made it already) and, with ``point``, point
    ``CURRENT`` at it; returns the directory."""
    tmp, checksum = written or write(index, root)
    is_delta = index.main is not None
    try:
        manifest = {
            "format": FORMAT,
            "version": index.version,
            "embedder": index.embedder,
            "dim": index.dim,
            "chunks": {view: len(v) for view, v in index.views.items()},
            "dense_index": next(iter(index.full.views.values())).dense_kind if index.views else "flat",
            "avgdl": {view: v.avgdl for view, v in index.full.views.items()},
            "checksum": checksum,
            "built_at": timezone.now().isoformat(),
        }
        if is_delta:
            manifest.update({"kind": "delta", "base": index.base, "changed": index.changed})
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
    if point:
        pointer = root / f".CURRENT-{uuid.uuid4().hex}"
        pointer.write_text(str(index.version), encoding="utf-8")
        pointer.chmod(0o600)
        os.replace(pointer, root / "CURRENT")
        _prune(root, keep={index.version, index.base})
    return target


# A full version's passages (``engine.PassageTable``): texts, their offsets, document and metadata
# numbers as arrays, the document keys and distinct metadata as JSON.
TABLE_PARTS = ("texts.bin", "offsets.npy", "docs.npy", "meta.npy", "keys.json")


def _save_table(rows, directory: Path, view: str) -> list[Path]:
    table = rows if isinstance(rows, PassageTable) else PassageTable.of(rows)
    (directory / f"{view}.texts.bin").write_bytes(bytes(table.texts))
    np.save(directory / f"{view}.offsets.npy", table.offsets)
    np.save(directory / f"{view}.docs.npy", table.docs)
    np.save(directory / f"{view}.meta.npy", table.meta)
    (directory / f"{view}.keys.json").write_text(
        json.dumps({"keys": table.keys, "metas": table.metas}, ensure_ascii=False), encoding="utf-8"
    )
    return [directory / f"{view}.{part}" for part in TABLE_PARTS]


def _load_table(directory: Path, view: str) -> PassageTable:
    names = json.loads((directory / f"{view}.keys.json").read_text(encoding="utf-8"))
    return PassageTable(
        list(names["keys"]),
        np.load(directory / f"{view}.docs.npy"),
        np.load(directory / f"{view}.offsets.npy"),
        (directory / f"{view}.texts.bin").read_bytes(),
        list(names["metas"]),
        np.load(directory / f"{view}.meta.npy"),
    )


def _prune(root: Path, keep: set[int], extra: int = 2) -> None:
    """Remove all but the ``extra`` newest versions, ``keep``, and the full versions they extend."""
    on_disk = versions(root)
    kept = set(keep) | set(on_disk[:extra])
    for version in list(kept):
        with contextlib.suppress(IndexUnavailable):
            base = read_manifest(root, version).get("base")
            if isinstance(base, int):
                kept.add(base)
    for version in on_disk:
        if version not in kept:
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


def load(root: Path, version: int, *, embedder: Embedder, serving: CompanyIndex | None = None) -> CompanyIndex:
    """Load ``root/v<version>``; ``IndexUnavailable`` when it (or the full version a delta extends)
    is missing, corrupt or was built by another embedder. A delta of the full index ``serving``
    already holds is loaded without loading that again."""
    directory = root / f"v{version}"
    manifest = read_manifest(root, version)
    if manifest.get("format") != FORMAT or manifest.get("version") != version:
        raise IndexUnavailable(f"{directory}: manifest of another format or version")
    if manifest.get("embedder") != embedder.name or manifest.get("dim") != embedder.dim:
        raise IndexUnavailable(f"{directory}: built with {manifest.get('embedder')}, not {embedder.name}")
    is_delta = manifest.get("kind") == "delta"
    main = None
    if is_delta:
        base = manifest.get("base")
        if not isinstance(base, int) or base >= version:
            raise IndexUnavailable(f"{directory}: a delta without a valid base")
        main = serving.full if serving is not None and serving.base == base else None
        if main is None:
            main = load(root, base, embedder=embedder)
            if main.main is not None:
                raise IndexUnavailable(f"{directory}: its base v{base} is itself a delta")
    try:
        parts = ("passages.json",) if is_delta else TABLE_PARTS
        files = [directory / f"{view}.{part}" for view in VIEWS for part in (*parts, "vectors.npy", "languages.npy")]
        files += [
            path for view in VIEWS if (directory / f"{view}.bm25").is_dir() for path in (directory / f"{view}.bm25").iterdir()
        ]
        files += [directory / f"{view}.faiss" for view in VIEWS if (directory / f"{view}.faiss").exists()]
        files.append(directory / "documents.json")
        if _checksum(files) != manifest.get("checksum"):
            raise IndexUnavailable(f"{directory}: checksum mismatch (corrupt or half-written)")
        views = {}
        for view in VIEWS:
            vectors = np.load(directory / f"{view}.vectors.npy")
            languages = np.load(directory / f"{view}.languages.npy")
            if is_delta:
                raw = json.loads((directory / f"{view}.passages.json").read_text(encoding="utf-8"))
                passages = [Passage(p["doc_id"], p["text"], p.get("meta") or {}) for p in raw]
                views[view] = SearchIndex(
                    passages, vectors, [list(p["tokens"]) for p in raw], languages=languages, keyword_index=False
                )
                continue
            passages = _load_table(directory, view)
            bm25_dir = directory / f"{view}.bm25"
            bm25 = bm25s.BM25.load(str(bm25_dir), mmap=True, show_progress=False, verbosity=0) if bm25_dir.is_dir() else None
            faiss_path = directory / f"{view}.faiss"
            stored = faiss.read_index(str(faiss_path)) if faiss_path.exists() else None
            views[view] = SearchIndex(
                passages,
                vectors,
                [] if bm25 is None else None,
                dense=manifest.get("dense_index", "flat"),
                faiss_index=stored,
                languages=languages,
                bm25=bm25,
                avgdl=float(manifest["avgdl"][view]),
            )
        documents = json.loads((directory / "documents.json").read_text(encoding="utf-8"))
        if is_delta:
            changed = {str(key): int(at) for key, at in manifest["changed"].items()}
            return compose(main, version, changed, views, documents)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexUnavailable(f"{directory}: unreadable ({exc})") from None
    return CompanyIndex(version, manifest["embedder"], manifest["dim"], views, documents)


def current_version_on_disk(root: Path) -> int | None:
    try:
        return int((root / "CURRENT").read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


__all__ = [
    "HR",
    "STAFF",
    "CompanyIndex",
    "IndexUnavailable",
    "build",
    "build_delta",
    "compose",
    "current_version_on_disk",
    "load",
    "read_manifest",
    "save",
    "versions",
    "write",
]
