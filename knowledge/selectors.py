"""Reads of company knowledge, always for a given user."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from accounts.models import User

from .doctypes import DOC_TYPES, REF, REFS
from .models import Document, Visibility
from .text import case_variants, collation_key


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


def in_reading_order(documents, language: str | None = None) -> list[Document]:
    """``documents`` by type, then by title as a reader of ``language`` (the active one by default)
    sorts names: the Turkish alphabet in Turkish (Cem before Çağla, Irmak before İpek), accents
    ignored in English. Done here, not by the database, whose collation differs by engine."""
    return sorted(documents, key=lambda d: (d.doc_type, collation_key(d.title, language)))


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


def without_hidden_links(*, doc_type: str, body: dict, visible: set[str] | frozenset[str]) -> dict:
    """``body`` with each link to a key outside ``visible`` left out: a link to a
    document the viewer may not see shows neither its name nor its key, and looks
    the same as a link to nothing."""
    schema = DOC_TYPES.get(doc_type)
    shown = dict(body)
    for spec in schema.link_fields if schema else ():
        value = shown.get(spec.name)
        if spec.kind == REF and isinstance(value, str) and value and value not in visible:
            shown[spec.name] = None
        elif spec.kind == REFS and isinstance(value, list):
            shown[spec.name] = [item for item in value if item in visible]
    return shown


def document_body(*, document: Document, user: User) -> dict:
    """The body of ``document`` as ``user`` may read it: no sensitive field unless HR,
    and no link to a document they may not see."""
    body = document.visible_body(user)
    if user.is_hr:
        return body
    links = {key for _, key in document.schema.links(body)}
    if not links:
        return body
    visible = set(documents_visible_to(user=user).filter(key__in=links).values_list("key", flat=True))
    return without_hidden_links(doc_type=document.doc_type, body=body, visible=visible)


def document_fields(*, document: Document, user: User) -> list[DocumentField]:
    """The fields of ``document`` the user may see, in schema order, with links
    resolved to the documents the user may open. Extra fields come last."""
    schema = document.schema
    body = document_body(document=document, user=user)
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
            fields.append(DocumentField(name, name.replace("_", " ").capitalize(), "extra", value, schema.is_sensitive(name)))
    return fields


def document_referrers(*, keys) -> list[str]:
    """Keys of the documents that link to any of ``keys`` (and are not among them): their search
    passages name the documents they link to, so they change with those documents' names."""
    keys = sorted(set(keys))
    if not keys:
        return []
    wanted = set(keys)
    found: set[str] = set()
    for other in DOC_TYPES.values():
        for spec in other.link_fields:
            of_type = Document.objects.filter(doc_type=other.name)
            if spec.kind == REF:
                found.update(of_type.filter(**{f"body__{spec.name}__in": keys}).values_list("key", flat=True))
            elif connection.vendor == "postgresql":
                condition = Q()
                for key in keys:
                    condition |= Q(**{f"body__{spec.name}__contains": [key]})
                found.update(of_type.filter(condition).values_list("key", flat=True))
            else:
                # JSON "contains" is not portable to SQLite; scan this type's bodies in Python.
                found.update(
                    key
                    for key, body in of_type.values_list("key", "body")
                    if isinstance(body, dict) and wanted & set(_strings(body.get(spec.name)))
                )
    return sorted(found - wanted)


def _strings(value) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


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
                found = [d for d in visible.filter(doc_type=other.name) if document.key in (d.body.get(spec.name) or [])]
            found = list(found)
            if found:
                backlinks.append(Backlink(spec.reverse_label or other.label_plural, found))
    return backlinks
