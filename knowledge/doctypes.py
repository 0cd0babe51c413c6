"""Document types as code: one declared schema per ``doc_type``.

A schema says which fields a body has, which are required, which are sensitive
(only HR and admins may ever see them) and which link to other documents. The
same declaration drives validation (imports, admin, API), the admin form, the
document page and the text that retrieval indexes. Adding a type means adding
one ``DocType`` to ``DOC_TYPES``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# Labels are marked for translation but stay English here: the indexed text uses
# them, and it must not depend on who triggered the re-index. Pages translate them.
from django.utils.translation import gettext_noop

from .text import fold

# Field kinds.
STR = "str"  # one line of text
TEXT = "text"  # several lines of plain text
MARKDOWN = "markdown"  # long text rendered as Markdown
NUMBER = "number"  # int or float
DATE = "date"  # ISO date, YYYY-MM-DD
LIST = "list"  # list of short strings
STEPS = "steps"  # ordered list of sentences
REF = "ref"  # key of another document
REFS = "refs"  # list of keys of other documents
CHOICE = "choice"  # one of ``choices``
VERSION = "version"  # a version label; legacy files hold "2.1" or 2.1


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = STR
    required: bool = False
    sensitive: bool = False
    target: str | None = None
    choices: tuple[str, ...] = ()
    # How the linked document lists the documents that link to it ("Direct reports").
    reverse_label: str = ""
    # The words a question uses for this field, Turkish and English ("manager",
    # "yönetici"), and for the link read backwards ("reports", "ekibi"). A word
    # matches its inflected forms ("yöneticisi", "leads"): see ``retrieval.questions``.
    terms: tuple[str, ...] = ()
    reverse_terms: tuple[str, ...] = ()
    # Values named in questions ("Kafka", "Ankara") are matched against the data
    # of fields marked ``matchable``; choices have words of their own.
    matchable: bool = False
    choice_terms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # How an answer states the field: (English, Turkish) templates with {subject}
    # and {value}; and how a list names the filter ("who know {value}").
    says: tuple[str, str] = ("", "")
    filter_says: tuple[str, str] = ("", "")

    @property
    def is_link(self) -> bool:
        return self.kind in (REF, REFS)


@dataclass(frozen=True)
class DocType:
    name: str
    label: str
    label_plural: str
    legacy_file: str
    fields: tuple[Field, ...]
    title_of: Callable[[dict], str]
    # At least one of these fields must hold something (e.g. a procedure needs text).
    one_of: tuple[str, ...] = ()
    # The words a question uses for documents of this type ("projects", "proje").
    terms: tuple[str, ...] = ()
    _by_name: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def field(self, name: str) -> Field | None:
        return self._by_name.get(name)

    @property
    def sensitive_fields(self) -> frozenset[str]:
        """The declared sensitive fields; ``is_sensitive`` also knows their other
        spellings and the extra fields whose names look sensitive."""
        return frozenset(f.name for f in self.fields if f.sensitive)

    def is_sensitive(self, name: str) -> bool:
        """Whether only HR and admins may see the field ``name``: a declared field
        says so itself; any other name (``Salary``, ``IBAN``, ``Maaş Bilgisi``) is
        sensitive when it looks like one (see ``looks_sensitive``)."""
        spec = self.field(name)
        if spec is not None:
            return spec.sensitive
        return looks_sensitive(name)

    def canonical_name(self, name: str) -> str | None:
        """The declared sensitive field that ``name`` spells differently
        (``national_ID``, ``NationalId``, `` SALARY `` → ``national_id``, ``salary``)."""
        if self.field(name) is not None:
            return None
        return self._sensitive_by_compact.get(compact_name(name))

    @functools.cached_property
    def _sensitive_by_compact(self) -> dict[str, str]:
        return {compact_name(f.name): f.name for f in self.fields if f.sensitive}

    def canonical_body(self, body: Any) -> Any:
        """``body`` with other spellings of the sensitive fields renamed to the
        declared name, so no variant ever lands beside them as an extra field.
        Spellings that disagree on the value are left as they are for
        ``validate`` to refuse."""
        if not isinstance(body, dict):
            return body
        groups = self._spellings(body)
        if not groups:
            return body
        result: dict[str, Any] = {}
        for name, value in body.items():
            canonical = self.canonical_name(name) or name
            names = groups.get(canonical)
            if names is None or not _agree(body, names):
                result[name] = value
            elif canonical not in result:
                result[canonical] = body[canonical] if canonical in body else value
        return result

    def _spellings(self, body: dict) -> dict[str, list[str]]:
        """For each declared sensitive field given under another spelling, every
        name it is given under (the declared one first, when present)."""
        groups: dict[str, list[str]] = {}
        for name in body:
            canonical = self.canonical_name(name)
            if canonical is not None:
                groups.setdefault(canonical, [canonical] if canonical in body else []).append(name)
        return groups

    @property
    def link_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.is_link)

    def title(self, body: dict) -> str:
        return self.title_of(body).strip()

    def validate(self, body: Any) -> dict[str, list[str]]:
        """Field errors of ``body`` against this schema (empty when valid).
        Links are checked for shape here; whether they resolve is the caller's
        job, since it needs the other documents."""
        if not isinstance(body, dict):
            return {"__all__": [f"A {self.label.lower()} must be a JSON object."]}
        errors: dict[str, list[str]] = {}
        for canonical, names in self._spellings(body).items():
            if not _agree(body, names):
                spelled = ", ".join(repr(n) for n in names)
                errors.setdefault(canonical, []).append(f"Given more than once with different values, as {spelled}; keep one.")
        for spec in self.fields:
            value = body.get(spec.name)
            if _is_empty(value):
                if spec.required:
                    errors.setdefault(spec.name, []).append("This field is required.")
                continue
            problem = _check_kind(spec, value)
            if problem:
                errors.setdefault(spec.name, []).append(problem)
        if self.one_of and all(_is_empty(body.get(name)) for name in self.one_of):
            names = ", ".join(self.one_of)
            errors.setdefault("__all__", []).append(f"At least one of these fields must be filled: {names}.")
        if not errors and not self.title(body):
            errors.setdefault("__all__", []).append("The document has no title.")
        return errors

    def links(self, body: dict) -> Iterator[tuple[Field, str]]:
        """Each (field, key) this body links to."""
        for spec in self.link_fields:
            value = body.get(spec.name)
            if spec.kind == REF and isinstance(value, str) and value:
                yield spec, value
            elif spec.kind == REFS and isinstance(value, list):
                for item in value:
                    if isinstance(item, str) and item:
                        yield spec, item

    def visible_body(self, body: dict, *, hr: bool) -> dict:
        """The body as the viewer may see it: HR and admins see everything, everyone
        else never sees a sensitive field."""
        if hr:
            return dict(body)
        return {name: value for name, value in body.items() if not self.is_sensitive(name)}

    def as_text(self, body: dict, *, hr: bool) -> str:
        """A plain-text rendering ("Label: value" lines) of the viewer's view of the
        body; extra fields the schema does not know are included too."""
        visible = self.visible_body(body, hr=hr)
        lines = [self.title(body)]
        for name, value in visible.items():
            if _is_empty(value):
                continue
            spec = self.field(name)
            label = spec.label if spec else name.replace("_", " ").capitalize()
            if isinstance(value, list):
                value = ", ".join(str(item) for item in value)
            elif isinstance(value, dict):
                value = ", ".join(f"{k}: {v}" for k, v in value.items())
            lines.append(f"{label}: {value}")
        return "\n".join(lines)


def _agree(body: dict, names: list[str]) -> bool:
    first = body[names[0]]
    return all(type(body[n]) is type(first) and body[n] == first for n in names[1:])


# Field names that hold personal or secret data whatever the document type: an
# extra field an import brought along ("Maaş Bilgisi", "IBAN", "home_address")
# is hidden from everyone but HR and admins when its name contains one of these.
# Names are compared folded (Turkish letters to ASCII, lower case) and without
# separators, so "Doğum Tarihi", "dogum-tarihi" and "DOGUM_TARIHI" are the same.
# A false match only hides a harmless field from staff; a miss would show a salary.
SENSITIVE_NAME_PARTS = (
    # pay
    "salary",
    "salaries",
    "maas",
    "ucret",
    "wage",
    "payroll",
    "payslip",
    "bordro",
    "compensation",
    "bonus",
    "budget",
    "butce",
    # identity numbers
    "nationalid",
    "tckimlik",
    "kimlikno",
    "kimliknumara",
    "tcno",
    "tckn",
    "socialsecurity",
    "sgkno",
    "passport",
    "pasaport",
    "identitynumber",
    "idnumber",
    # money accounts
    "iban",
    "bankaccount",
    "bankahesab",
    "bankahesap",
    "hesapno",
    "hesapnumara",
    "accountnumber",
    "creditcard",
    "kredikart",
    "cardnumber",
    # reaching someone privately
    "phone",
    "telefon",
    "mobile",
    "gsm",
    "address",
    "adres",
    # secrets
    "password",
    "parola",
    "sifre",
    "secret",
    "token",
    "apikey",
    "privatekey",
    # birth
    "birthdate",
    "dateofbirth",
    "birthday",
    "dogum",
)
# Too short to look for inside a name ("pay" is in "display", "ssn" in "business");
# they count as a whole word of it: "pay_grade", "TC No", "employeeSSN".
SENSITIVE_NAME_WORDS = ("pay", "ssn", "tc", "dob", "cep", "pin", "sgk")

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _name_words(name: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(_CAMEL.sub(" ", name)))


def compact_name(name: str) -> str:
    """A field name folded and without separators: ``National-ID`` → ``nationalid``."""
    return "".join(_name_words(name))


@functools.lru_cache(maxsize=4096)
def looks_sensitive(name: str) -> bool:
    """Whether a field name looks like it holds sensitive data (``SENSITIVE_NAME_PARTS``)."""
    words = _name_words(name)
    joined = "".join(words)
    return any(part in joined for part in SENSITIVE_NAME_PARTS) or any(w in SENSITIVE_NAME_WORDS for w in words)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _check_kind(spec: Field, value: Any) -> str | None:
    kind = spec.kind
    if kind in (STR, TEXT, MARKDOWN, REF):
        if not isinstance(value, str):
            return f"Expected text, got {_type_name(value)}."
        if kind in (STR, REF) and "\n" in value:
            return "Must be a single line."
    elif kind == NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"Expected a number, got {_type_name(value)}."
        if value < 0:
            return "Must not be negative."
    elif kind == DATE:
        if not isinstance(value, str):
            return f"Expected a date (YYYY-MM-DD), got {_type_name(value)}."
        try:
            dt.date.fromisoformat(value[:10])
        except ValueError:
            return f"{value!r} is not a date (YYYY-MM-DD)."
    elif kind in (LIST, STEPS, REFS):
        if not isinstance(value, list):
            return f"Expected a list, got {_type_name(value)}."
        if not all(isinstance(item, str) and item.strip() for item in value):
            return "Every item must be non-empty text."
    elif kind == CHOICE:
        if value not in spec.choices:
            return f"{value!r} is not one of: {', '.join(spec.choices)}."
    elif kind == VERSION:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return f"Expected a version such as 2.1, got {_type_name(value)}."
    return None


def _type_name(value: Any) -> str:
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "an object",
        type(None): "null",
    }.get(type(value), type(value).__name__)


PLACE_TERMS = (
    "location",
    "located",
    "based",
    "city",
    "where",
    "office",
    "konum",
    "lokasyon",
    "nerede",
    "şehir",
    "hangi şehir",
    "ofis",
)
DEPARTMENT_TERMS = ("department", "dept", "unit", "division", "departman", "birim", "bölüm")

EMPLOYEE = DocType(
    name="employee",
    label=gettext_noop("Employee"),
    label_plural=gettext_noop("Employees"),
    legacy_file="employees.json",
    title_of=lambda b: f"{b.get('first_name') or ''} {b.get('last_name') or ''}",
    terms=(
        "employee",
        "staff",
        "people",
        "person",
        "colleague",
        "worker",
        "anyone",
        "someone",
        "everyone",
        "çalışan",
        "personel",
        "kişi",
        "eleman",
        "meslektaş",
        "kimler",
    ),
    fields=(
        Field("first_name", gettext_noop("First name"), required=True),
        Field("last_name", gettext_noop("Last name"), required=True),
        Field(
            "title",
            gettext_noop("Title"),
            required=True,
            matchable=True,
            terms=("title", "job title", "position", "role", "job", "unvan", "ünvan", "pozisyon", "görevi"),
            says=("{subject} is {value}", "{subject} {value} olarak çalışıyor"),
            # "{noun}": the word of the title names the people listed ("3 engineers who know Kafka").
            filter_says=("{noun}", "{noun}"),
        ),
        Field(
            "department_id",
            gettext_noop("Department"),
            REF,
            required=True,
            target="department",
            reverse_label=gettext_noop("Employees"),
            terms=DEPARTMENT_TERMS,
            reverse_terms=(
                "employees",
                "staff",
                "people",
                "members",
                "work in",
                "works in",
                "working in",
                "team",
                "çalışan",
                "personel",
                "kişi",
                "ekip",
                "ekib",
                "üye",
            ),
            says=("{subject} works in {value}", "{subject}, {value} biriminde çalışıyor"),
            filter_says=("in {value}", "{value} biriminde"),
        ),
        Field(
            "manager_id",
            gettext_noop("Manager"),
            REF,
            target="employee",
            reverse_label=gettext_noop("Direct reports"),
            terms=(
                "manager",
                "boss",
                "supervisor",
                "line manager",
                "reports to",
                "report to",
                # "Who works for Burak?" (his reports: read backwards before a name, like "reports to"),
                # "Who does Ayşe work for?" (her manager).
                "works for",
                "work for",
                "yönetici",
                "müdür",
                "amir",
                "bağlı",
                "kime bağlı",
            ),
            reverse_terms=(
                "direct reports",
                "reports",
                "reportees",
                "subordinates",
                "team",
                "manage",
                "manages",
                "ekip",
                "ekib",
                "astları",
                "altında",
                "bağlı çalışan",
                "yönettiği kişi",
            ),
            says=("{value} is {subject_of} manager", "{subject_gen} yöneticisi {value}"),
            filter_says=("reporting to {value}", "{value_dat} bağlı"),
        ),
        Field(
            "email",
            gettext_noop("E-mail"),
            terms=("email", "e-mail", "mail", "e-posta", "eposta"),
            says=("{subject_of} e-mail address is {value}", "{subject_gen} e-posta adresi {value}"),
        ),
        Field(
            "phone",
            gettext_noop("Phone"),
            sensitive=True,
            terms=("phone", "telephone", "mobile", "cell", "phone number", "telefon", "cep", "gsm"),
            says=("{subject_of} phone number is {value}", "{subject_gen} telefon numarası {value}"),
        ),
        Field(
            "location",
            gettext_noop("Location"),
            matchable=True,
            terms=PLACE_TERMS,
            says=("{subject} is based in {value}", "{subject} {value_loc} çalışıyor"),
            filter_says=("based in {value}", "{value_loc}"),
        ),
        Field(
            "start_date",
            gettext_noop("Start date"),
            DATE,
            terms=(
                "start",
                "started",
                "join",
                "joined",
                "hired",
                "since when",
                "how long",
                "seniority",
                "başla",
                "işe gir",
                "giriş",
                "kıdem",
                "ne zamandır",
                "ne zamandan beri",
            ),
            says=("{subject} joined on {value}", "{subject} {value} tarihinde işe başladı"),
            filter_says=("who joined {value}", "{value} işe başlayan"),
        ),
        Field(
            "skills",
            gettext_noop("Skills"),
            LIST,
            matchable=True,
            terms=(
                "skill",
                "skills",
                "know",
                "knows",
                "expertise",
                "experience",
                "experienced",
                "good at",
                "familiar",
                "expert",
                "yetenek",
                "yetkinlik",
                "bilen",
                "biliyor",
                "bilir",
                "bilgisi olan",
                "deneyim",
                "tecrübe",
                "uzman",
            ),
            says=("{subject_of} skills are {value}", "{subject_gen} yetkinlikleri: {value}"),
            filter_says=("who know {value}", "{value} bilen"),
        ),
        Field(
            "languages",
            gettext_noop("Languages"),
            LIST,
            matchable=True,
            terms=("language", "languages", "speak", "speaks", "dil", "konuş"),
            says=("{subject} speaks {value}", "{subject} şu dilleri konuşuyor: {value}"),
            filter_says=("who speak {value}", "{value} konuşan"),
        ),
        Field(
            "salary",
            gettext_noop("Salary"),
            NUMBER,
            sensitive=True,
            terms=(
                "salary",
                "salaries",
                "earn",
                "earns",
                "paid",
                "pay",
                "wage",
                "income",
                "compensation",
                "how much * make",
                "how much * makes",
                "how much * paid",
                "maaş",
                "ücret",
                "kazan",
                "gelir",
                "ne kadar * alıyor",
                "kaç para * alıyor",
            ),
            says=("{subject_of} salary is {value}", "{subject_gen} maaşı {value}"),
            filter_says=("with a salary of {value}", "maaşı {value} olan"),
        ),
        Field(
            "national_id",
            gettext_noop("National ID"),
            sensitive=True,
            terms=("national id", "id number", "identity number", "tc kimlik", "kimlik no", "kimlik numara", "tckn", "tc no"),
            says=("{subject_of} national ID number is {value}", "{subject_gen} T.C. kimlik numarası {value}"),
        ),
    ),
)

DEPARTMENT = DocType(
    name="department",
    label=gettext_noop("Department"),
    label_plural=gettext_noop("Departments"),
    legacy_file="departments.json",
    title_of=lambda b: str(b.get("name") or ""),
    terms=DEPARTMENT_TERMS,
    fields=(
        Field("name", gettext_noop("Name"), required=True),
        Field(
            "head_id",
            gettext_noop("Head"),
            REF,
            target="employee",
            reverse_label=gettext_noop("Heads department"),
            terms=(
                "head",
                "heads",
                "lead",
                "leads",
                "leader",
                "runs",
                "run",
                "manager",
                "manages",
                "director",
                "in charge",
                "responsible",
                "başkan",
                "yönet",
                "müdür",
                "başında",
                "sorumlu",
                "lider",
                "şef",
            ),
            reverse_terms=("head of", "heads", "runs", "başında", "yönettiği birim"),
            says=("{value} heads {subject}", "{subject} birimini {value} yönetiyor"),
            filter_says=("headed by {value}", "{value} tarafından yönetilen"),
        ),
        Field(
            "location",
            gettext_noop("Location"),
            matchable=True,
            terms=PLACE_TERMS,
            says=("{subject} is based in {value}", "{subject} {value_loc} bulunuyor"),
            filter_says=("based in {value}", "{value_loc} bulunan"),
        ),
        Field(
            "description",
            gettext_noop("Description"),
            TEXT,
            terms=(
                "describe",
                "description",
                "responsible for",
                "what does",
                "ne yapar",
                "ne iş yapar",
                "açıklama",
                "sorumluluk",
            ),
            says=("{value}", "{value}"),
        ),
        Field(
            "budget",
            gettext_noop("Budget"),
            NUMBER,
            sensitive=True,
            terms=("budget", "bütçe"),
            says=("{subject_of} budget is {value}", "{subject_gen} bütçesi {value}"),
        ),
    ),
)

PROJECT = DocType(
    name="project",
    label=gettext_noop("Project"),
    label_plural=gettext_noop("Projects"),
    legacy_file="projects.json",
    title_of=lambda b: str(b.get("name") or ""),
    terms=("project", "proje"),
    fields=(
        Field("name", gettext_noop("Name"), required=True),
        Field(
            "code",
            gettext_noop("Code"),
            terms=("code", "kod"),
            says=("{subject_of} code is {value}", "{subject_gen} kodu {value}"),
        ),
        Field(
            "status",
            gettext_noop("Status"),
            CHOICE,
            required=True,
            choices=("planned", "active", "on_hold", "completed"),
            terms=("status", "state", "durum"),
            choice_terms=(
                ("planned", ("planned", "upcoming", "future", "planlanan", "planlanmış", "planlama aşaması")),
                (
                    "active",
                    (
                        "active",
                        "ongoing",
                        "running",
                        "current",
                        "in progress",
                        "aktif",
                        "devam eden",
                        "süren",
                        "yürüyen",
                        "devam ediyor",
                    ),
                ),
                ("on_hold", ("on hold", "paused", "suspended", "stopped", "beklemede", "askıda", "durdurul", "bekleyen")),
                (
                    "completed",
                    ("completed", "finished", "done", "closed", "delivered", "tamamlan", "biten", "bitmiş", "bitti", "kapanan"),
                ),
            ),
            says=("{subject} is {value}", "{subject} şu anda {value} durumda"),
            filter_says=("{value}", "{value}"),
        ),
        Field(
            "department_id",
            gettext_noop("Department"),
            REF,
            target="department",
            reverse_label=gettext_noop("Projects"),
            terms=DEPARTMENT_TERMS,
            reverse_terms=("projects", "projeler", "projesi"),
            says=("{subject} belongs to {value}", "{subject}, {value} biriminin projesi"),
            filter_says=("of {value}", "{value} biriminin"),
        ),
        Field(
            "lead_id",
            gettext_noop("Lead"),
            REF,
            target="employee",
            reverse_label=gettext_noop("Leads projects"),
            terms=(
                "lead",
                "leads",
                "leader",
                "led",
                "manage",
                "manages",
                "managed",
                "manager",
                "in charge",
                "responsible",
                "runs",
                "owner",
                "lider",
                "yönet",
                "sorumlu",
                "başında",
            ),
            reverse_terms=("lead", "leads", "led", "manage", "manages", "in charge", "lider", "yönet", "sorumlu"),
            says=("{value} leads {subject}", "{subject} projesini {value} yönetiyor"),
            filter_says=("led by {value}", "{value} liderliğindeki"),
        ),
        Field(
            "members",
            gettext_noop("Members"),
            REFS,
            target="employee",
            reverse_label=gettext_noop("Member of projects"),
            terms=(
                "member",
                "members",
                "team",
                "work on",
                "works on",
                "working on",
                "worked on",
                "is on",
                "are on",
                "was on",
                "were on",
                "involved",
                "staffed",
                "people",
                "üye",
                "ekip",
                "ekib",
                "çalış",
                "görevli",
                "yer al",
            ),
            reverse_terms=(
                "work on",
                "works on",
                "working on",
                "worked on",
                "member",
                "involved",
                "part of",
                "çalış",
                "üye",
                "yer al",
                "görev al",
            ),
            says=("The {subject} team: {value}", "{subject} ekibi: {value}"),
            filter_says=("with {value} on the team", "{value_gen} yer aldığı"),
        ),
        Field(
            "start_date",
            gettext_noop("Start date"),
            DATE,
            terms=("start", "started", "starts", "begin", "began", "kick off", "kicked off", "başla", "başlıyor", "başlangıç"),
            says=("{subject} started on {value}", "{subject} {value} tarihinde başladı"),
            filter_says=("started {value}", "{value} başlayan"),
        ),
        Field(
            "end_date",
            gettext_noop("End date"),
            DATE,
            terms=(
                "end",
                "ended",
                "ends",
                "finish",
                "finished",
                "deadline",
                "due",
                "bitiş",
                "bitti",
                "bitecek",
                "sona",
                "teslim",
            ),
            says=("{subject} ended on {value}", "{subject} {value} tarihinde bitti"),
            filter_says=("ended {value}", "{value} biten"),
        ),
        Field(
            "client",
            gettext_noop("Client"),
            matchable=True,
            terms=("client", "customer", "for whom", "who is it for", "müşteri"),
            says=("{subject_of} client is {value}", "{subject_gen} müşterisi {value}"),
            filter_says=("for {value}", "müşterisi {value} olan"),
        ),
        Field(
            "tech_stack",
            gettext_noop("Tech stack"),
            LIST,
            matchable=True,
            terms=("tech", "technology", "technologies", "stack", "uses", "built with", "teknoloji", "kullan"),
            says=("{subject} uses {value}", "{subject} şu teknolojileri kullanıyor: {value}"),
            filter_says=("using {value}", "{value} kullanan"),
        ),
        Field(
            "description",
            gettext_noop("Description"),
            TEXT,
            terms=("describe", "description", "goal", "purpose", "açıklama", "amaç", "hakkında"),
            says=("{value}", "{value}"),
        ),
    ),
)

PROCEDURE = DocType(
    name="procedure",
    label=gettext_noop("Procedure"),
    label_plural=gettext_noop("Procedures"),
    legacy_file="procedures.json",
    title_of=lambda b: str(b.get("title") or ""),
    one_of=("summary", "steps", "content"),
    terms=("procedure", "policy", "policies", "process", "guideline", "prosedür", "politika", "süreç", "yönerge"),
    fields=(
        Field("title", gettext_noop("Title"), required=True),
        Field(
            "category",
            gettext_noop("Category"),
            matchable=True,
            terms=("category", "kategori"),
            says=("{subject} is in the {value} category", "{subject} {value} kategorisinde"),
            filter_says=("in the {value} category", "{value} kategorisindeki"),
        ),
        Field(
            "owner_department_id",
            gettext_noop("Owner department"),
            REF,
            target="department",
            reverse_label=gettext_noop("Procedures"),
            terms=("owner", "owns", "owned", "responsible", "in charge", "sahibi", "sorumlu"),
            reverse_terms=("procedures", "policies", "prosedür", "politika"),
            says=("{value} owns {subject}", "{subject} belgesinin sahibi {value}"),
            filter_says=("owned by {value}", "{value} biriminin"),
        ),
        Field(
            "version",
            gettext_noop("Version"),
            VERSION,
            terms=("version", "sürüm", "versiyon"),
            says=("{subject} is at version {value}", "{subject} belgesinin sürümü {value}"),
        ),
        Field(
            "effective_date",
            gettext_noop("Effective date"),
            DATE,
            terms=("effective", "in force", "valid from", "yürürlük", "geçerlilik"),
            says=("{subject} has been in effect since {value}", "{subject} {value} tarihinden beri yürürlükte"),
            filter_says=("in effect {value}", "{value} yürürlüğe giren"),
        ),
        Field("summary", gettext_noop("Summary"), TEXT),
        Field("steps", gettext_noop("Steps"), STEPS),
        Field("content", gettext_noop("Content"), MARKDOWN),
        Field("tags", gettext_noop("Tags"), LIST),
    ),
)

DOC_TYPES: dict[str, DocType] = {t.name: t for t in (EMPLOYEE, DEPARTMENT, PROJECT, PROCEDURE)}


def get_doctype(name: str) -> DocType:
    try:
        return DOC_TYPES[name]
    except KeyError:
        raise KeyError(f"Unknown document type {name!r}; known: {', '.join(DOC_TYPES)}") from None


def doc_type_choices() -> list[tuple[str, str]]:
    return [(t.name, t.label) for t in DOC_TYPES.values()]
