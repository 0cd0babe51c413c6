"""Reading and checking the legacy company files (``employees.json``,
``departments.json``, ``projects.json``, ``procedures.json``).

Shared by ``load_company`` and ``migrate_legacy``: it reads everything, reports
every problem with file, record and reason, and plans what would change; the
knowledge service applies the plan inside one transaction.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api.serializers import KEY_PATTERN
from .doctypes import DOC_TYPES, DocType
from .models import Document

# Far deeper than any legacy record (a TinyDB message's cited documents are six
# levels down), and no deeper than the API and admin take a body back: an
# imported document can always be edited and sent again.
MAX_DEPTH = 32
# A body's integers must fit 64 signed bits: SQLite's JSON functions, which the
# body lookups use, hold no larger integer, and clients read them as such.
MAX_INT = 2**63 - 1
# A record with more problems than this is reported with the first ones only.
MAX_PROBLEMS_PER_RECORD = 10
KEY_RE = re.compile(KEY_PATTERN)


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


@dataclass
class CompanyRecord:
    doc_type: DocType
    key: str
    body: dict[str, Any]
    file: str

    @property
    def title(self) -> str:
        return self.doc_type.title(self.body)


@dataclass
class ReadResult:
    records: list[CompanyRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


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
        problems.append(Problem(path.name, record,
                                f"nested deeper than {MAX_DEPTH} levels (line {line}, column {column})"))
        return None


def read_company_dir(directory: Path | str) -> ReadResult:
    """Read and check the four company files of ``directory``. Link targets are
    checked later, against these records and the database together."""
    directory = Path(directory)
    result = ReadResult()
    if not directory.is_dir():
        result.problems.append(Problem(str(directory), "", "directory not found"))
        return result
    seen: dict[str, str] = {}
    for doc_type in DOC_TYPES.values():
        data = read_json_file(directory / doc_type.legacy_file, result.problems)
        if data is None:
            continue
        if not isinstance(data, list):
            result.problems.append(Problem(doc_type.legacy_file, "", "must hold a JSON array of records"))
            continue
        for index, raw in enumerate(data):
            record = _read_record(doc_type, raw, index, seen, result.problems)
            if record is not None:
                result.records.append(record)
    return result


def _read_record(
    doc_type: DocType, raw: Any, index: int, seen: dict[str, str], problems: list[Problem]
) -> CompanyRecord | None:
    file = doc_type.legacy_file
    position = f"#{index + 1}"
    if not isinstance(raw, dict):
        problems.append(Problem(file, position, "must be a JSON object"))
        return None
    key = raw.get("id")
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    stored = value_problems(raw, level=2)
    if stored:
        # Named by its id unless the id is itself in doubt.
        trusted = isinstance(key, str) and KEY_RE.fullmatch(key.strip()) and "id" not in repeated_keys(raw)
        label = key.strip() if trusted else position
        problems.extend(Problem(file, label, reason) for reason in stored)
        return None
    if not isinstance(key, str) or not key.strip():
        problems.append(Problem(file, position, "field id: this field is required (text)"))
        return None
    key = key.strip()
    if not KEY_RE.fullmatch(key):
        # The same rule as the API's: a key is part of URLs and citations.
        problems.append(Problem(
            file, position,
            f"field id: {key[:40]!r} is not a valid key: 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit",
        ))
        return None
    if key in seen:
        where = "this file" if seen[key] == file else seen[key]
        problems.append(Problem(file, key, f"duplicate id: already used in {where}"))
        return None
    seen[key] = file
    # Another spelling of a sensitive field (``Salary``, ``national-ID``) becomes the
    # declared field, never an extra field that all staff would see.
    body = doc_type.canonical_body({name: value for name, value in raw.items() if name != "id"})
    errors = doc_type.validate(body)
    for name, messages in errors.items():
        for message in messages:
            label = "record" if name == "__all__" else f"field {name}"
            problems.append(Problem(file, key, f"{label}: {message}"))
    if errors:
        return None
    record = CompanyRecord(doc_type=doc_type, key=key, body=body, file=file)
    title_max = Document._meta.get_field("title").max_length
    if len(record.title) > title_max:
        problems.append(Problem(file, key, f"record: the title is longer than {title_max} characters"))
        return None
    return record


def link_problems(records: list[CompanyRecord], known_types: dict[str, str]) -> list[Problem]:
    """Problems for links that point nowhere or to a document of the wrong type.
    ``known_types`` maps every key that exists (in the batch or the database) to
    its type."""
    problems = []
    for record in records:
        for spec, target_key in record.doc_type.links(record.body):
            target_type = known_types.get(target_key)
            if target_type is None:
                reason = f"field {spec.name}: {target_key!r} does not match any {spec.target}"
            elif target_type != spec.target:
                reason = f"field {spec.name}: {target_key!r} is a {target_type}, not a {spec.target}"
            else:
                continue
            problems.append(Problem(record.file, record.key, reason))
    return problems
