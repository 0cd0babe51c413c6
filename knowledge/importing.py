"""Reading and checking the legacy company files (``employees.json``,
``departments.json``, ``projects.json``, ``procedures.json``).

Shared by ``load_company`` and ``migrate_legacy``: it reads everything, reports
every problem with file, record and reason, and plans what would change; the
knowledge service applies the plan inside one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .doctypes import DOC_TYPES, DocType


@dataclass(frozen=True)
class Problem:
    file: str
    record: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: record {self.record}" if self.record else self.file
        return f"{where}: {self.reason}"


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


def read_json_file(path: Path, problems: list[Problem]) -> Any | None:
    """Parse one JSON file; on failure add a problem naming the file and position."""
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
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(path.name, "", f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"))
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
    if not isinstance(key, str) or not key.strip():
        problems.append(Problem(file, position, "field id: this field is required (text)"))
        return None
    key = key.strip()
    if len(key) > 64 or any(ch.isspace() or ch == "/" for ch in key):
        problems.append(Problem(file, key, "field id: must be at most 64 characters, without spaces or '/'"))
        return None
    if key in seen:
        where = "this file" if seen[key] == file else seen[key]
        problems.append(Problem(file, key, f"duplicate id: already used in {where}"))
        return None
    seen[key] = file
    body = {name: value for name, value in raw.items() if name != "id"}
    errors = doc_type.validate(body)
    for name, messages in errors.items():
        for message in messages:
            label = "record" if name == "__all__" else f"field {name}"
            problems.append(Problem(file, key, f"{label}: {message}"))
    if errors:
        return None
    return CompanyRecord(doc_type=doc_type, key=key, body=body, file=file)


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
