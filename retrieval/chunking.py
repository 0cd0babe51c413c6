"""Turning documents into passages for the index.

Employees, departments and projects become one passage each, written as plain
sentences in English and Turkish that resolve links to names ("Emre Şahin leads
Kervan"). Procedures are split into summary, steps and content sections; long
text is windowed with overlap. Every passage starts with its document's title.

Each document has two views: ``staff`` never contains a sensitive field, ``hr``
has everything. The staff view is built from the staff body, so a sensitive
value cannot leak through a template.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from knowledge.doctypes import get_doctype

STAFF = "staff"
HR = "hr"
VIEWS = (STAFF, HR)

WINDOW_WORDS = 120
OVERLAP_WORDS = 30

STATUS = {
    "planned": ("a planned", "planlanan"),
    "active": ("an active", "aktif"),
    "on_hold": ("an on-hold", "beklemede"),
    "completed": ("a completed", "tamamlanmış"),
}


@dataclass(frozen=True)
class Chunk:
    key: str
    doc_type: str
    title: str
    section: str
    text: str


Resolver = Callable[[str], str]


def _names(resolve: Resolver, keys: Iterable[str]) -> str:
    return ", ".join(name for name in (resolve(k) for k in keys if k) if name)


def _join(parts: Iterable[str | None]) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _extra(body: dict, known: set[str]) -> str:
    """Fields the schema does not declare still get indexed, as "name: value"."""
    items = []
    for name, value in body.items():
        if name in known or value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        items.append(f"{name.replace('_', ' ')}: {value}.")
    return " ".join(items)


def employee_text(body: dict, resolve: Resolver) -> str:
    name = f"{body.get('first_name', '')} {body.get('last_name', '')}".strip()
    title = body.get("title") or ""
    department = resolve(body["department_id"]) if body.get("department_id") else ""
    # None: no manager. "": one the viewer may not see, of whom nothing is said.
    manager = resolve(body["manager_id"]) if body.get("manager_id") else None
    skills = ", ".join(body.get("skills") or [])
    languages = ", ".join(body.get("languages") or [])
    return _join(
        [
            f"{name} is {title} in {department}." if department else f"{name} is {title}.",
            f"{name}, {department} biriminde {title} olarak çalışıyor." if department else None,
            f"Location / konum: {body['location']}." if body.get("location") else None,
            f"Manager / yöneticisi: {manager}." if manager else (f"{name} reports to no one." if manager is None else None),
            f"Skills / yetenekler: {skills}." if skills else None,
            f"Languages / diller: {languages}." if languages else None,
            f"Started / işe başlama: {body['start_date']}." if body.get("start_date") else None,
            f"E-mail / e-posta: {body['email']}." if body.get("email") else None,
            f"Phone / telefon: {body['phone']}." if body.get("phone") else None,
            f"Salary / maaş: {body['salary']}." if body.get("salary") is not None else None,
            f"National ID / TC kimlik no: {body['national_id']}." if body.get("national_id") else None,
        ]
    )


def department_text(body: dict, resolve: Resolver) -> str:
    name = body.get("name") or ""
    head = resolve(body["head_id"]) if body.get("head_id") else ""
    return _join(
        [
            f"{name} department." if name else None,
            f"{head} heads {name}; {name} biriminin yöneticisi {head}." if head else None,
            f"Location / konum: {body['location']}." if body.get("location") else None,
            body.get("description"),
            f"Budget / bütçe: {body['budget']}." if body.get("budget") is not None else None,
        ]
    )


def project_text(body: dict, resolve: Resolver) -> str:
    name = body.get("name") or ""
    code = body.get("code") or ""
    label = f"{name} ({code})" if code and code != name else name
    status = body.get("status") or ""
    status_en, status_tr = STATUS.get(status, (f"a {status}", status))
    lead = resolve(body["lead_id"]) if body.get("lead_id") else ""
    department = resolve(body["department_id"]) if body.get("department_id") else ""
    members = _names(resolve, body.get("members") or [])
    return _join(
        [
            f"{label} is {status_en} project" + (f" of {department}." if department else "."),
            f"{label} {status_tr} bir projedir" + (f"; birimi {department}." if department else "."),
            f"{lead} leads {label}; proje lideri {lead}." if lead else None,
            f"Members / ekip üyeleri: {members}." if members else None,
            f"Client / müşteri: {body['client']}." if body.get("client") else None,
            f"Tech stack / teknolojiler: {', '.join(body['tech_stack'])}." if body.get("tech_stack") else None,
            f"Start / başlangıç: {body['start_date']}." if body.get("start_date") else None,
            f"End / bitiş: {body['end_date']}." if body.get("end_date") else None,
            body.get("description"),
        ]
    )


def windows(text: str, size: int = WINDOW_WORDS, overlap: int = OVERLAP_WORDS) -> list[str]:
    """Split long text into windows of ``size`` words overlapping by ``overlap``."""
    words = text.split()
    if len(words) <= size:
        return [text.strip()] if text.strip() else []
    step = max(1, size - overlap)
    out = []
    for start in range(0, len(words), step):
        out.append(" ".join(words[start : start + size]))
        if start + size >= len(words):
            break
    return out


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*)$", re.MULTILINE)


def markdown_sections(text: str) -> list[tuple[str, str]]:
    """(heading, text) pairs of a Markdown text; text before the first heading has no heading."""
    sections = []
    matches = list(_HEADING.finditer(text))
    if not matches:
        return [("", text)]
    if text[: matches[0].start()].strip():
        sections.append(("", text[: matches[0].start()]))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        sections.append((match.group(1).strip(), text[match.end() : end]))
    return sections


_TABLE_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _sentences_of_tables(markdown: str) -> str:
    """Each row of a Markdown table as one sentence of its headers and cells ("Hizmet süresi:
    1–5 yıl; Yıllık izin: 14 gün."), each list item ending as a sentence: a passage then reads
    row by row, never as one run of cells."""
    lines = markdown.splitlines()
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith("|") and i + 1 < len(lines) and _TABLE_SEPARATOR.match(lines[i + 1].strip()):
            header = _cells(line)
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = _cells(lines[i])
                pairs = [f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=False) if c]
                if pairs:
                    out.append("; ".join(pairs) + ".")
                i += 1
            continue
        stripped = line.rstrip()
        if re.match(r"^\s*([-*•]|\d{1,2}[.)])\s+\S", stripped) and stripped[-1] not in ".!?:;…":
            stripped += "."
        out.append(stripped)
        i += 1
    return "\n".join(out)


def _plain(markdown: str) -> str:
    text = re.sub(r"[*_`>#|]+", " ", _sentences_of_tables(markdown))
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^[\s-]*-{3,}[\s-]*$", " ", text, flags=re.MULTILINE)
    return re.sub(r"\s+", " ", text).strip()


# Tags help search find a procedure; they are not an answer to anything.
TAGS_LABEL = "Tags / etiketler:"


def procedure_chunks(key: str, title: str, body: dict, resolve: Resolver) -> list[Chunk]:
    chunks = []
    owner = resolve(body["owner_department_id"]) if body.get("owner_department_id") else ""
    meta = _join(
        [
            f"Category / kategori: {body['category']}." if body.get("category") else None,
            f"Owner / sahibi: {owner}." if owner else None,
            f"Version {body['version']}." if body.get("version") not in (None, "") else None,
            f"Effective / yürürlük: {body['effective_date']}." if body.get("effective_date") else None,
            f"{TAGS_LABEL} {', '.join(body['tags'])}." if body.get("tags") else None,
        ]
    )
    summary = _join([body.get("summary"), meta])
    if summary:
        chunks.append(Chunk(key, "procedure", title, "summary", f"{title}. {summary}"))
    steps = body.get("steps") or []
    if steps:
        numbered = " ".join(f"{i}. {step.strip()}" for i, step in enumerate(steps, 1))
        for part in windows(numbered):
            chunks.append(Chunk(key, "procedure", title, "steps", f"{title}. Steps / adımlar: {part}"))
    for heading, section in markdown_sections(body.get("content") or ""):
        plain = _plain(section)
        prefix = f"{title} — {heading}." if heading else f"{title}."
        for part in windows(plain):
            chunks.append(Chunk(key, "procedure", title, heading or "content", f"{prefix} {part}"))
    extra = _extra(body, {f.name for f in get_doctype("procedure").fields})
    if extra:
        chunks.append(Chunk(key, "procedure", title, "other", f"{title}. {extra}"))
    return chunks


SINGLE = {"employee": employee_text, "department": department_text, "project": project_text}


def chunk_document(*, key: str, doc_type: str, title: str, body: dict, view: str, resolve: Resolver) -> list[Chunk]:
    """The passages of one document in one view (``staff`` or ``hr``)."""
    schema = get_doctype(doc_type)
    visible = schema.visible_body(body, hr=view == HR)
    if doc_type == "procedure":
        return procedure_chunks(key, title, visible, resolve)
    known = {f.name for f in schema.fields}
    if doc_type in SINGLE:
        text = _join([SINGLE[doc_type](visible, resolve), _extra(visible, known)])
    else:
        # A type added later without a writer of its own: its labelled fields.
        text = schema.as_text(visible, hr=view == HR)
    parts = windows(text, size=WINDOW_WORDS * 2, overlap=OVERLAP_WORDS)
    return [Chunk(key, doc_type, title, "profile", p if p.startswith(title) else f"{title}. {p}") for p in parts]
