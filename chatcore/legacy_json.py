"""Reading the legacy system's JSON files strictly: every file, record and value is checked, and
every problem is reported with its file, record and reason instead of stopping at the first.

Shared by each app's part of the legacy import (``knowledge.importing`` for the company files,
``accounts.legacy`` and ``conversations.legacy`` for the TinyDB tables) and wired together by
``chatcore.legacy``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone

# Far deeper than any legacy record (a TinyDB message's cited documents are six
# levels down), and no deeper than the API and admin take a body back: an
# imported document can always be edited and sent again.
MAX_DEPTH = 32
# A body's integers must fit 64 signed bits: SQLite's JSON functions, which the
# body lookups use, hold no larger integer, and clients read them as such.
MAX_INT = 2**63 - 1
# A record with more problems than this is reported with the first ones only.
MAX_PROBLEMS_PER_RECORD = 10


def printable(text: str, limit: int = 80) -> str:
    """``text`` as a report may show it: as is when short and printable, else
    quoted with escapes (a legacy id may hold terminal control characters)."""
    if len(text) <= limit and text.isprintable():
        return text
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


@dataclass(frozen=True)
class Problem:
    file: str
    record: str
    reason: str

    def __str__(self) -> str:
        where = f"{printable(self.file)}: record {printable(self.record)}" if self.record else printable(self.file)
        return f"{where}: {self.reason}"


class _Refused:
    """A JSON value that cannot be stored (NaN, an integer beyond 64 bits…), left in
    place by the parser so the check that follows can name the record holding it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _RepeatedKeys(dict):
    """A JSON object that gives some key more than once; plain ``json`` would keep
    the last value silently."""

    repeated: list[str]


def _object(pairs: list[tuple[str, Any]]) -> dict:
    result: dict[str, Any] = {}
    repeated: list[str] = []
    for name, value in pairs:
        if name in result and name not in repeated:
            repeated.append(name)
        result[name] = value
    if not repeated:
        return result
    marked = _RepeatedKeys(result)
    marked.repeated = repeated
    return marked


def _number(text: str) -> str:
    # The parser hands over JSON number syntax only: digits, sign, point, exponent.
    return text if len(text) <= 24 else text[:24] + "…"


def _int(text: str) -> int | _Refused:
    # Checked on the digits first: int() refuses very long numbers with an error of its own.
    if len(text.lstrip("-")) > 19 or not -MAX_INT - 1 <= int(text) <= MAX_INT:
        return _Refused(f"{_number(text)} is too large a number (at most ±2^63)")
    return int(text)


def _float(text: str) -> float | _Refused:
    value = float(text)
    if not math.isfinite(value):
        return _Refused(f"{_number(text)} is beyond the range of a number")
    return value


def _constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a number JSON allows")


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "holds a NUL character (\\u0000), which cannot be stored"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"holds an unpaired surrogate ({text[exc.start]!r}), which is not text"
    return None


def _path(parent: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{parent}[{name}]"
    name = printable(name, 40)
    return f"{parent}.{name}" if parent else name


def value_problems(value: Any, *, level: int) -> list[str]:
    """Why ``value``, found ``level`` containers deep in its file (a company record:
    2), cannot be stored: repeated keys, NaN, numbers out of range, NUL characters,
    nesting deeper than ``MAX_DEPTH``. Each reason names the field. Iterative, so
    any depth the parser accepted is walked safely."""
    problems: list[str] = []
    stack: list[tuple[Any, str, int]] = [(value, "", level)]
    while stack:
        item, path, depth = stack.pop()
        where = f"field {path}: " if path else ""
        if isinstance(item, _Refused):
            problems.append(where + item.reason)
        elif isinstance(item, str):
            problem = _text_problem(item)
            if problem:
                problems.append(f"{where}text {problem}")
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                problems.append(f"{where}nested deeper than {MAX_DEPTH} levels")
                continue
            if isinstance(item, _RepeatedKeys):
                problems.extend(f"field {_path(path, name)}: given more than once" for name in item.repeated)
            children: list[tuple[Any, str, int]] = []
            if isinstance(item, dict):
                for name, child in item.items():
                    problem = _text_problem(name)
                    if problem:
                        problems.append(f"field {_path(path, name)}: the name {problem}")
                    children.append((child, _path(path, name), depth + 1))
            else:
                children = [(child, _path(path, index), depth + 1) for index, child in enumerate(item)]
            stack.extend(reversed(children))
    if len(problems) > MAX_PROBLEMS_PER_RECORD:
        more = len(problems) - MAX_PROBLEMS_PER_RECORD
        problems = problems[:MAX_PROBLEMS_PER_RECORD] + [f"and {more} more problem(s) of this kind"]
    return problems


def repeated_keys(value: Any) -> list[str]:
    """The keys that an object (a TinyDB file's tables, a table's records) gives more than once."""
    return list(value.repeated) if isinstance(value, _RepeatedKeys) else []


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},]')


def _deep_location(text: str, record_level: int) -> tuple[str, int]:
    """Where ``text`` first nests deeper than ``MAX_DEPTH``: the record (the key or
    ``#n`` of the container ``record_level`` levels down) and the character offset."""
    # Each open container: [is_object, index, key, expecting_key].
    stack: list[list] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            if len(stack) >= MAX_DEPTH:
                record = ""
                if len(stack) >= record_level:
                    is_object, index, key, _ = stack[record_level - 1]
                    record = key if is_object else f"#{index + 1}"
                return record, match.start()
            stack.append([token == "{", 0, "", token == "{"])
        elif token in "]}":
            if stack:
                stack.pop()
        elif token == ",":
            if stack:
                stack[-1][1] += 1
                stack[-1][3] = stack[-1][0]
        elif stack and stack[-1][3]:
            try:
                stack[-1][2] = json.loads(token)
            except ValueError:
                stack[-1][2] = token
            stack[-1][3] = False
    return "", len(text)


def read_json_file(path: Path, problems: list[Problem], *, record_level: int = 1) -> Any | None:
    """Parse one JSON file; on failure add a problem naming the file and position.
    Values that cannot be stored are kept as markers for ``value_problems``, so the
    caller names the record that holds them; ``record_level`` says how deep the
    records are (1: the items of an array), to name one nested too deep to parse."""
    if not path.is_file():
        problems.append(Problem(path.name, "", f"file not found in {path.parent}"))
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(Problem(path.name, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return None
    except OSError as exc:
        problems.append(Problem(path.name, "", f"cannot be read: {exc.strerror}"))
        return None
    try:
        return json.loads(text, object_pairs_hook=_object, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        problems.append(Problem(path.name, "", f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"))
        return None
    except ValueError as exc:
        problems.append(Problem(path.name, "", f"invalid JSON: {exc}"))
        return None
    except RecursionError:
        # Nested too deep for the parser itself (thousands of levels).
        record, offset = _deep_location(text, record_level)
        line = text.count("\n", 0, offset) + 1
        column = offset - text.rfind("\n", 0, offset)
        problems.append(Problem(path.name, record, f"nested deeper than {MAX_DEPTH} levels (line {line}, column {column})"))
        return None


@dataclass
class Tally:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (file, record, reason)
    kept: list[str] = field(default_factory=list)  # "kept role employee for ayse (legacy says hr)"


class TinyDBReader:
    """Turns raw TinyDB records into checked records, collecting problems."""

    def __init__(self, tz: dt.tzinfo, problems: list[Problem]) -> None:
        self.tz = tz
        self.problems = problems

    def problem(self, file: str, record: str, reason: str) -> None:
        self.problems.append(Problem(file, record, reason))

    def table(self, path: Path, name: str) -> list[tuple[str, Any]] | None:
        data = read_json_file(path, self.problems, record_level=2)
        if data is None:
            return None
        if not isinstance(data, dict):
            self.problem(path.name, "", "must be a TinyDB file: a JSON object of tables")
            return None
        if name in repeated_keys(data):
            self.problem(path.name, "", f"table {name!r} is given more than once")
            return None
        table = data.get(name, {})
        if not isinstance(table, dict):
            self.problem(path.name, "", f"table {name!r} must be an object of records")
            return None
        # Two records under one id: neither is taken, since which one is meant is unknown.
        repeated = set(repeated_keys(table))
        for doc_id in sorted(repeated):
            self.problem(path.name, doc_id, f"record id given more than once in table {name!r}")
        items = [(doc_id, raw) for doc_id, raw in table.items() if doc_id not in repeated]
        # TinyDB document ids are string numbers; keep the file's numeric order.
        return sorted(items, key=lambda item: (not item[0].isdigit(), int(item[0]) if item[0].isdigit() else 0, item[0]))

    def records(self, path: Path, name: str, *, label: str = "") -> Iterator[tuple[str, dict]]:
        """The object records of a table that can be stored at all; anything else is
        reported as a problem, naming the record by its ``label`` field or its id."""
        for doc_id, raw in self.table(path, name) or []:
            if not isinstance(raw, dict):
                self.problem(path.name, doc_id, "must be a JSON object")
                continue
            problems = value_problems(raw, level=3)
            if problems:
                named = raw.get(label) if label else None
                record = named if isinstance(named, str) and named and named.isprintable() else doc_id
                for reason in problems:
                    self.problem(path.name, record, reason)
                continue
            yield doc_id, raw

    def when(self, value: Any, file: str, record: str, name: str, *, required: bool) -> dt.datetime | None:
        if value in (None, ""):
            if required:
                self.problem(file, record, f"field {name}: this field is required")
            return None
        if not isinstance(value, str):
            self.problem(file, record, f"field {name}: expected an ISO date-time, got {type(value).__name__}")
            return None
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            parsed = parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=self.tz)
            # Stored in UTC: a time at the very edge of the calendar may not fit.
            parsed.astimezone(dt.UTC)
        except (ValueError, OverflowError):
            self.problem(file, record, f"field {name}: {value[:40]!r} is not an ISO date-time")
            return None
        return parsed

    def text(
        self, raw: dict, name: str, file: str, record: str, *, required: bool = False, max_length: int | None = None
    ) -> str | None:
        value = raw.get(name)
        if value is None or value == "":
            if required:
                self.problem(file, record, f"field {name}: this field is required")
                return None
            return ""
        if not isinstance(value, str):
            self.problem(file, record, f"field {name}: expected text, got {type(value).__name__}")
            return None
        if max_length is not None and len(value) > max_length:
            self.problem(file, record, f"field {name}: longer than {max_length} characters")
            return None
        return value
