"""Writes for company knowledge. Every write sends ``document_changed`` after
its transaction commits, so the search index follows admin, API and imports
alike."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import User
from chatcore.legacy_json import Problem

from .doctypes import DocType, get_doctype
from .importing import CompanyRecord, link_problems, read_company_dir
from .models import Document, Visibility
from .signals import document_changed


class DocumentConflict(ValidationError):
    """The write clashes with what is stored: the key is taken, or the document changed
    (or went) since the caller read it. A ``ValidationError`` so forms show it on a field."""


def _announce(keys: list[str], *, deleted: bool = False, renamed: bool = True) -> None:
    """``renamed``: the documents' titles or visibility may have changed (always so for ones created
    or deleted), so the documents that name them follow."""
    if keys:
        transaction.on_commit(lambda: document_changed.send(sender=Document, keys=list(keys), deleted=deleted, renamed=renamed))


def document_validate(*, doc_type: str | DocType, body: Any, key: str | None = None) -> None:
    """Raise ``ValidationError`` with field errors (``{"salary": [...]}``) when
    ``body`` does not fit its schema or links to a document that does not exist."""
    schema = get_doctype(doc_type) if isinstance(doc_type, str) else doc_type
    errors = schema.validate(body)
    if not errors:
        targets = {target for _, target in schema.links(body)}
        known = dict(Document.objects.filter(key__in=targets).values_list("key", "doc_type"))
        if key is not None and key in targets:
            known[key] = schema.name
        record = CompanyRecord(doc_type=schema, key=key or "", body=body, file="")
        for problem in link_problems([record], known):
            name, _, message = problem.reason.partition(": ")
            errors.setdefault(name.removeprefix("field "), []).append(message[0].upper() + message[1:] + ".")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def document_create(
    *, key: str, doc_type: str, body: dict, visibility: str = Visibility.STAFF, by: User | None = None
) -> Document:
    schema = get_doctype(doc_type)
    body = schema.canonical_body(body)
    document_validate(doc_type=schema, body=body, key=key)
    taken = DocumentConflict({"key": [f"A document with key {key!r} already exists."]})
    if Document.objects.filter(key=key).exists():
        raise taken
    try:
        # A savepoint: on PostgreSQL a failed insert would otherwise spoil the caller's transaction.
        with transaction.atomic():
            document = Document.objects.create(
                key=key,
                doc_type=schema.name,
                title=schema.title(body),
                body=body,
                visibility=visibility,
                updated_by=by,
            )
    except IntegrityError:
        # Another request created the same key between the check and the insert.
        raise taken from None
    _announce([document.key])
    return document


@transaction.atomic
def document_update(
    *,
    document: Document,
    body: dict,
    visibility: str | None = None,
    by: User | None = None,
    expected_version: int | None = None,
) -> Document:
    """Replace the body (and optionally visibility); bump ``version`` only when
    something really changed. With ``expected_version``, refuse (``DocumentConflict``)
    unless the stored document still has that version: the row is locked while checking,
    so of two writers who read the same version only the first succeeds."""
    body = document.schema.canonical_body(body)
    document_validate(doc_type=document.doc_type, body=body, key=document.key)
    stored = Document.objects.select_for_update().filter(pk=document.pk).values_list("version", flat=True).first()
    if stored is None:
        raise DocumentConflict({"key": [f"Document {document.key!r} was deleted meanwhile."]})
    if expected_version is not None and stored != expected_version:
        raise DocumentConflict({"version": [f"The document is at version {stored}, not {expected_version}; read it again."]})
    document.version = stored
    visibility = visibility or document.visibility
    title = document.schema.title(body)
    if body == document.body and visibility == document.visibility and title == document.title:
        return document
    renamed = title != document.title or visibility != document.visibility
    document.body = body
    document.title = title
    document.visibility = visibility
    document.version += 1
    document.updated_by = by
    document.save()
    _announce([document.key], renamed=renamed)
    return document


@transaction.atomic
def document_delete(*, document: Document) -> None:
    key = document.key
    document.delete()
    _announce([key], deleted=True)


# --- Company import ---------------------------------------------------------


@dataclass
class CompanyPlan:
    """What importing a company directory would do."""

    create: list[CompanyRecord] = field(default_factory=list)
    update: list[tuple[Document, CompanyRecord]] = field(default_factory=list)
    unchanged: list[CompanyRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def counts(self) -> dict[str, Counter]:
        return {
            "created": Counter(r.doc_type.name for r in self.create),
            "updated": Counter(r.doc_type.name for _, r in self.update),
            "unchanged": Counter(r.doc_type.name for r in self.unchanged),
        }


def company_plan(*, directory: Path | str, strict: bool = True) -> CompanyPlan:
    """Read ``directory`` and decide, record by record, what to create, update or
    leave alone. In strict mode any problem means the plan must not be applied;
    otherwise bad records (and records linking to them) are left out."""
    read = read_company_dir(directory)
    plan = CompanyPlan(problems=list(read.problems))
    existing = {doc.key: doc for doc in Document.objects.all()}
    records = []
    for record in read.records:
        current = existing.get(record.key)
        if current is not None and current.doc_type != record.doc_type.name:
            plan.problems.append(Problem(record.file, record.key, f"id is already used by a {current.doc_type} document"))
            continue
        records.append(record)

    # Links may point into this batch or at documents already stored. Dropping a
    # bad record can break links to it, so repeat until nothing more drops.
    while True:
        known = {key: doc.doc_type for key, doc in existing.items()}
        known.update({r.key: r.doc_type.name for r in records})
        broken = link_problems(records, known)
        plan.problems.extend(broken)
        if not broken or strict:
            break
        bad_keys = {p.record for p in broken}
        # A dropped record that is already stored keeps its stored version, so
        # links to it still resolve; a dropped new record is gone.
        records = [r for r in records if r.key not in bad_keys]

    for record in records:
        current = existing.get(record.key)
        if current is None:
            plan.create.append(record)
        elif current.body == record.body and current.title == record.title:
            plan.unchanged.append(record)
        else:
            plan.update.append((current, record))
    return plan


@transaction.atomic
def company_apply(*, plan: CompanyPlan, by: User | None = None, progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Write a plan; returns the keys that changed. Announces them after commit. ``progress``
    hears ``(written, total)`` as records are written."""
    total = len(plan.create) + len(plan.update)
    batch = 500
    for start in range(0, len(plan.create), batch):
        Document.objects.bulk_create(
            [
                Document(key=r.key, doc_type=r.doc_type.name, title=r.title, body=r.body, updated_by=by)
                for r in plan.create[start : start + batch]
            ]
        )
        if progress:
            progress(min(start + batch, len(plan.create)), total)
    for n, (document, record) in enumerate(plan.update, 1):
        document.body = record.body
        document.title = record.title
        document.version += 1
        document.updated_by = by
        document.save(update_fields=["body", "title", "version", "updated_by", "updated_at"])
        if progress:
            progress(len(plan.create) + n, total)
    keys = [r.key for r in plan.create] + [r.key for _, r in plan.update]
    _announce(keys)
    return keys
