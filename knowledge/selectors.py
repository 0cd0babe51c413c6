"""Reads of company knowledge, always for a given user."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from accounts.models import User

from .doctypes import DOC_TYPES, REF, REFS
from .models import Document, Visibility
from .text import case_variants


def documents_visible_to(*, user: User) -> QuerySet[Document]:
    if not user.is_authenticated or not user.is_active:
        return Document.objects.none()
    if user.is_hr:
        return Document.objects.all()
    return Document.objects.filter(visibility=Visibility.STAFF)


def document_list(*, user: User, doc_type: str = "", q: str = "") -> QuerySet[Document]:
    """Documents the user may see, by type and a plain key/title filter."""
    documents = documents_visible_to(user=user)
    if doc_type:
        documents = documents.filter(doc_type=doc_type)
    if q:
        match = Q(key__iexact=q)
        for variant in case_variants(q):
            match |= Q(title__icontains=variant)
        documents = documents.filter(match)
    return documents.order_by("doc_type", "title")


def document_get(*, user: User, key: str) -> Document | None:
    return documents_visible_to(user=user).filter(key=key).first()


@dataclass
class LinkedValue:
    """A link field's value: the document when the viewer may open it, else the key."""

    key: str
    document: Document | None


@dataclass
class DocumentField:
    name: str
    label: str
    kind: str
    value: object
    sensitive: bool = False


@dataclass
class Backlink:
    label: str
    documents: list[Document]


def document_fields(*, document: Document, user: User) -> list[DocumentField]:
    """The fields of ``document`` the user may see, in schema order, with links
    resolved to the documents the user may open. Extra fields come last."""
    schema = document.schema
    body = document.visible_body(user)
    link_keys = {key for _, key in schema.links(body)}
    linked = {d.key: d for d in documents_visible_to(user=user).filter(key__in=link_keys)}
    fields = []
    for spec in schema.fields:
        value = body.get(spec.name)
        if value in (None, "", []):
            continue
        if spec.kind == REF:
            value = LinkedValue(value, linked.get(value))
        elif spec.kind == REFS:
            value = [LinkedValue(item, linked.get(item)) for item in value]
        fields.append(DocumentField(spec.name, spec.label, spec.kind, value, spec.sensitive))
    for name, value in body.items():
        if schema.field(name) is None and value not in (None, "", []):
            fields.append(DocumentField(name, name.replace("_", " ").capitalize(), "extra", value))
    return fields


def document_backlinks(*, document: Document, user: User) -> list[Backlink]:
    """Documents whose single-link fields point at ``document`` (a department's
    employees, a manager's reports, the projects someone leads)."""
    visible = documents_visible_to(user=user)
    backlinks = []
    for other in DOC_TYPES.values():
        for spec in other.link_fields:
            if spec.target != document.doc_type:
                continue
            if spec.kind == REF:
                found = visible.filter(doc_type=other.name, **{f"body__{spec.name}": document.key})
            else:
                # JSON "contains" is not portable to SQLite; scan this type in Python.
                found = [
                    d for d in visible.filter(doc_type=other.name)
                    if document.key in (d.body.get(spec.name) or [])
                ]
            found = list(found)
            if found:
                backlinks.append(Backlink(spec.reverse_label or other.label_plural, found))
    return backlinks
