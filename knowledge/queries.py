"""Structured reads over the company documents: match by type and field values,
follow links, filter, count and sort, always within what the asker may see.

The chat's exact answers ("every engineer who knows Kafka", "how many projects
are active") and the LLM providers' ``find_documents`` tool both go through
``find_documents``. It works on a snapshot of the documents the viewer may see,
taken once per change of the data (a mid-size company is a few thousand
documents: filtering them in Python costs a millisecond or two and is the same on
SQLite and PostgreSQL). Sensitive fields can neither be read, filtered nor
sorted on by anyone but HR and admins.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models import Count, Max

from accounts.models import User

from .doctypes import DATE, DOC_TYPES, LIST, NUMBER, REF, REFS, STEPS, get_doctype
from .selectors import documents_visible_to, without_hidden_links
from .text import collation_key, fold

MAX_LIMIT = 200
OPERATORS = ("eq", "has", "links", "year", "before", "after", "gt", "lt")


class QueryError(ValueError):
    """A query names an unknown type, field or operator, or a value of the wrong kind."""


class SensitiveFieldError(PermissionError):
    """A non-HR viewer asked to read, filter or sort by a sensitive field."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = sorted(set(fields))
        super().__init__(f"Only HR can see {', '.join(self.fields)}.")


@dataclass(frozen=True)
class Record:
    """One document as the viewer may see it."""

    key: str
    doc_type: str
    title: str
    body: dict


@dataclass(frozen=True)
class Snapshot:
    hr: bool
    records: tuple[Record, ...]
    # What readers derive from the records (a procedure parsed, a lexicon), kept as long as the
    # snapshot: the records never change within one.
    memo: dict = field(default_factory=dict, repr=False, compare=False, hash=False)

    def by_key(self) -> dict[str, Record]:
        found = self.memo.get("by_key")
        if found is None:
            found = self.memo["by_key"] = {r.key: r for r in self.records}
        return found

    @cached_property
    def keys(self) -> frozenset[str]:
        return frozenset(r.key for r in self.records)

    def shown_body(self, record: Record) -> dict:
        """The record's fields with links to documents outside this view left out,
        so neither the name nor the key of a hidden document reaches the viewer."""
        return without_hidden_links(doc_type=record.doc_type, body=record.body, visible=self.keys)

    def of_type(self, doc_type: str) -> list[Record]:
        return [r for r in self.records if r.doc_type == doc_type]


@dataclass(frozen=True)
class Condition:
    # ``negate``: the documents that do not meet it ("not completed", "Ankara dışındaki").
    """``field`` ``op`` ``value``: ``eq`` (same text, any case), ``has`` (a list
    item equal to the value, or a text holding its words), ``links`` (a link
    field pointing at a key), ``year``/``before``/``after`` (dates, ISO or a
    year), ``gt``/``lt`` (numbers). A list of values matches any of them."""

    field: str
    op: str
    value: Any
    negate: bool = False


@dataclass
class QueryResult:
    doc_type: str
    records: list[Record]
    total: int


_cache: dict[bool, tuple[tuple, Snapshot]] = {}
_cache_lock = threading.Lock()


def knowledge_snapshot(*, user: User) -> Snapshot:
    """The documents ``user`` may see, with sensitive fields removed for non-HR
    viewers; cached per view until a document is added, changed or deleted."""
    hr = bool(getattr(user, "is_hr", False))
    documents = documents_visible_to(user=user)
    stamp = tuple(documents.aggregate(n=Count("id"), last=Max("updated_at"), v=Max("version")).values())
    with _cache_lock:
        cached = _cache.get(hr)
        if cached is not None and cached[0] == stamp and user.is_authenticated and user.is_active:
            return cached[1]
    records = []
    for document in documents.only("key", "doc_type", "title", "body").order_by("key"):
        schema = DOC_TYPES.get(document.doc_type)
        body = schema.visible_body(document.body, hr=hr) if schema else {}
        records.append(Record(document.key, document.doc_type, document.title, body))
    snapshot = Snapshot(hr=hr, records=tuple(records))
    if user.is_authenticated and user.is_active:
        with _cache_lock:
            _cache[hr] = (stamp, snapshot)
    return snapshot


def check_fields(*, doc_type: str, fields: Iterable[str], hr: bool) -> None:
    """Unknown fields are a ``QueryError``; sensitive ones a ``SensitiveFieldError``
    unless the viewer is HR."""
    try:
        schema = get_doctype(doc_type)
    except KeyError as exc:
        raise QueryError(str(exc.args[0])) from None
    fields = list(fields)
    unknown = [name for name in fields if schema.field(name) is None]
    if unknown:
        known = ", ".join(f.name for f in schema.fields)
        raise QueryError(f"{doc_type} has no field {', '.join(unknown)}; its fields: {known}.")
    sensitive = [name for name in fields if name in schema.sensitive_fields]
    if sensitive and not hr:
        raise SensitiveFieldError(sensitive)


def find_documents(
    *,
    user: User,
    doc_type: str,
    where: Iterable[Condition] = (),
    keys: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    order_by: str = "",
    limit: int | None = None,
    snapshot: Snapshot | None = None,
) -> QueryResult:
    """Documents of ``doc_type`` that ``user`` may see and that meet every
    condition, optionally only among ``keys``; sorted by ``order_by`` (a field,
    ``-`` for descending; title otherwise); ``total`` counts them all, ``records``
    holds at most ``limit`` (``MAX_LIMIT`` at most)."""
    where = list(where)
    sort_field = order_by.lstrip("-")
    for condition in where:
        if condition.op not in OPERATORS:
            raise QueryError(f"Unknown operator {condition.op!r}; use one of: {', '.join(OPERATORS)}.")
    check_fields(
        doc_type=doc_type,
        fields=[c.field for c in where] + ([sort_field] if sort_field else []),
        hr=bool(getattr(user, "is_hr", False)),
    )
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise QueryError("limit must be a whole number ≥ 0.")
    snapshot = snapshot or knowledge_snapshot(user=user)
    schema = get_doctype(doc_type)
    only = set(keys) if keys is not None else None
    skip = set(exclude)
    found = [
        r
        for r in snapshot.of_type(doc_type)
        if (only is None or r.key in only)
        and r.key not in skip
        and all(_meets(r.body, schema.field(c.field).kind, c) != c.negate for c in where)
    ]
    if sort_field:
        with_value = [r for r in found if r.body.get(sort_field) not in (None, "", [])]
        with_value.sort(key=lambda r: _sort_key(r.body.get(sort_field)), reverse=order_by.startswith("-"))
        found = with_value + [r for r in found if r not in with_value]
    else:
        found.sort(key=lambda r: collation_key(r.title))
    cap = MAX_LIMIT if limit is None else min(limit, MAX_LIMIT)
    return QueryResult(doc_type=doc_type, records=found[:cap], total=len(found))


def _sort_key(value: Any):
    if isinstance(value, (int, float)):
        return (0, value, "")
    return (1, 0, collation_key(str(value)))


def _values(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def _words(text: str) -> list[str]:
    return [w for w in "".join(ch if ch.isalnum() else " " for ch in fold(text)).split() if w]


def text_has(text: str, wanted: str) -> bool:
    """Whether ``text`` holds the words of ``wanted`` in order, each word possibly
    inflected ("engineer" in "Senior Software Engineers", "mühendis" in "Yazılım
    Mühendisi")."""
    have, want = _words(text), _words(wanted)
    if not want:
        return False
    for start in range(len(have) - len(want) + 1):
        if all(_same_word(have[start + i], w) for i, w in enumerate(want)):
            return True
    return False


# What may follow a word in a text and leave it the same word: English plurals, Turkish case and
# possessive endings ("Mühendisi", "Uzmanları"); not "-ing" ("Engineering" is no engineer).
_ENDINGS = re.compile(r"^(?:s|es|l[ae]r[iu]?|s?[iu]|n?[iu]n|y?[ea]|[dt][ea]n?|[iu]m|[iu]n[iu]z)$")


def _same_word(have: str, want: str) -> bool:
    if have == want:
        return True
    return len(want) >= 4 and have.startswith(want) and bool(_ENDINGS.match(have[len(want) :]))


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, int) and 1000 <= value <= 9999:
        return dt.date(value, 1, 1)
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        text = str(value)
        if text.isdigit() and len(text) == 4:
            return dt.date(int(text), 1, 1)
        return None


def _meets(body: dict, kind: str, condition: Condition) -> bool:
    value = body.get(condition.field)
    if value in (None, "", []):
        return False
    wanted = _values(condition.value)
    op = condition.op
    if op == "links":
        have = value if kind == REFS else [value]
        return any(key in have for key in wanted)
    if op in ("eq", "has"):
        if kind in (LIST, STEPS, REFS):
            items = [fold(str(item)) for item in value]
            if op == "eq":
                return any(fold(str(w)) in items for w in wanted)
            return any(fold(str(w)) == item or text_has(item, str(w)) for w in wanted for item in items)
        if kind == REF:
            return any(str(w) == value for w in wanted)
        if op == "eq":
            return any(fold(str(w)) == fold(str(value)) for w in wanted)
        return any(text_has(str(value), str(w)) for w in wanted)
    if op in ("year", "before", "after"):
        if kind != DATE:
            raise QueryError(f"{condition.field} is not a date.")
        have = _as_date(value)
        if have is None:
            return False
        for w in wanted:
            if op == "year":
                year = _as_date(w)
                if year is not None and have.year == year.year:
                    return True
            else:
                bound = _as_date(w)
                if bound is None:
                    raise QueryError(f"{w!r} is not a date or a year.")
                if (op == "before" and have < bound) or (op == "after" and have >= bound):
                    return True
        return False
    if op in ("gt", "lt"):
        if kind != NUMBER or not isinstance(value, (int, float)):
            raise QueryError(f"{condition.field} is not a number.")
        for w in wanted:
            if isinstance(w, bool) or not isinstance(w, (int, float)):
                raise QueryError(f"{w!r} is not a number.")
            if (op == "gt" and value > w) or (op == "lt" and value < w):
                return True
        return False
    return False


def linked_keys(record: Record, field: str) -> list[str]:
    """The keys a record's link field points at."""
    value = record.body.get(field)
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v]
    return []


def referrers(snapshot: Snapshot, *, doc_type: str, field: str, key: str) -> list[Record]:
    """Documents of ``doc_type`` whose link ``field`` points at ``key``."""
    kind = get_doctype(doc_type).field(field).kind
    return [r for r in snapshot.of_type(doc_type) if _meets(r.body, kind, Condition(field, "links", key))]


__all__ = [
    "MAX_LIMIT",
    "Condition",
    "QueryError",
    "QueryResult",
    "Record",
    "SensitiveFieldError",
    "Snapshot",
    "check_fields",
    "find_documents",
    "knowledge_snapshot",
    "linked_keys",
    "referrers",
    "text_has",
]
