"""Reading and checking the legacy company files (``employees.json``,
``departments.json``, ``projects.json``, ``procedures.json``).

Shared by ``load_company`` and ``migrate_legacy``: it reads everything, reports
every problem with file, record and reason, and plans what would change; the
knowledge service applies the plan inside one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatcore.legacy_json import Problem, read_json_file, repeated_keys, value_problems

from .api.serializers import KEY_PATTERN
from .doctypes import DOC_TYPES, DocType
from .models import Document

KEY_RE = re.compile(KEY_PATTERN)


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


def _read_record(doc_type: DocType, raw: Any, index: int, seen: dict[str, str], problems: list[Problem]) -> CompanyRecord | None:
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
        problems.append(
            Problem(
                file,
                position,
                f"field id: {key[:40]!r} is not a valid key: 1-64 letters, digits, '_', '.' or '-', "
                "starting with a letter or digit",
            )
        )
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
