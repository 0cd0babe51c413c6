"""Answers from a procedure's own structure, once retrieval has found it: its steps for a
how-to question, bullets for a summary, and its Markdown tables — the row a number in the
question selects ("60.000 TL", "15 yıllık"), or the whole table, rendered as a table.

Everything here reads the procedure as the asker may see it (``Snapshot``) and answers in
Markdown with one citation. A question it cannot answer this way returns None, and the
passage answerer takes over."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from knowledge.queries import Record, Snapshot

from .glossary import expand, phrase_translations
from .llm.base import Source
from .llm.local import _QUESTION_WORDS
from .phrasing import date_in_words
from .questions import FUNCTION_WORDS
from .text import _ENGLISH_HINTS, _TURKISH_HINTS, _TURKISH_LETTERS, detect_language, fold, passage_language, tokenize

MAX_BULLETS = 8
DEFAULT_BULLETS = 3


class ProcedureAnswer(NamedTuple):
    text: str
    source: Source
    kind: str  # "structure" (steps, summary, table, rule about the asker) or "fact" (one sentence or row)


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    section: str = ""

    def markdown(self) -> str:
        width = len(self.header)
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * width]
        for row in self.rows:
            cells = (row + [""] * width)[:width]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


@dataclass
class Procedure:
    key: str
    title: str
    summary: str = ""
    steps: list[str] = field(default_factory=list)
    sections: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)  # every section in order, those with only a table too
    # Its fact units by language (``fact_units``): a procedure read from a snapshot is read once.
    memo: dict = field(default_factory=dict, repr=False, compare=False)


# --- Reading a procedure ----------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [cell.strip() for cell in line.split("|")]


def parse_markdown(content: str) -> tuple[list[tuple[str, str]], list[Table]]:
    """Sections (heading, text without tables) and tables of a Markdown text. A table is a
    header line, a separator line and its rows; ragged rows are padded or cut to the
    header's width, and a table without a separator is left as text."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    tables: list[Table] = []
    lines = (content or "").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        heading = _HEADING.match(line.strip())
        if heading:
            sections.append((heading.group(2).strip(), []))
            i += 1
            continue
        if line.strip().startswith("|") and i + 1 < len(lines) and _SEPARATOR.match(lines[i + 1].strip()):
            header = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = _cells(lines[i])
                if any(cells):
                    rows.append((cells + [""] * len(header))[: len(header)])
                i += 1
            if rows and any(header):
                tables.append(Table(header, rows, sections[-1][0]))
            continue
        sections[-1][1].append(line)
        i += 1
    return [(title, "\n".join(text).strip()) for title, text in sections if "\n".join(text).strip()], tables


def _steps(value) -> list[str]:
    if isinstance(value, list):
        return [str(s).strip() for s in value if str(s).strip()]
    if isinstance(value, str) and value.strip():
        # One long string: numbered parts ("1. … 2. …"), lines, or sentences.
        parts = re.split(r"(?:^|\s)\d{1,2}[.)]\s+|\n+", value)
        parts = [p.strip(" ;") for p in parts if p.strip(" ;")]
        return parts if len(parts) > 1 else [value.strip()]
    return []


def procedure_of(snapshot: Snapshot, record: Record) -> Procedure:
    """The procedure ``record`` as the snapshot's viewer may see it, read once per snapshot: the
    records of a snapshot never change, and every answer asked of it reads its procedures again."""
    memo = snapshot.memo.setdefault("procedures", {})
    procedure = memo.get(record.key)
    if procedure is None:
        procedure = memo[record.key] = read_procedure(record, snapshot.shown_body(record))
    return procedure


def read_procedure(record: Record, body: dict) -> Procedure:
    content = str(body.get("content") or "")
    sections, tables = parse_markdown(content)
    headings = [""] + [m.group(2).strip() for m in map(_HEADING.match, (line.strip() for line in content.splitlines())) if m]
    return Procedure(
        key=record.key,
        title=record.title,
        summary=str(body.get("summary") or "").strip(),
        steps=_steps(body.get("steps")),
        sections=sections,
        tables=tables,
        headings=list(dict.fromkeys(headings)),
    )


# --- One language ------------------------------------------------------------------------------

_HALVES = re.compile(r"\s+/\s+")


# Frequent words of rules, beside the text module's hints.
_ENGLISH_RULE_WORDS = frozenset(
    """must be are will should can not only per after before within each all any their
your you up at least most than or no may""".split()
)
_TURKISH_RULE_WORDS = frozenset("kadar olarak sonra önce en az fazla geç her veya ancak ise".split()) | {"icin", "gore"}


def _lean(text: str) -> int:
    """Positive for Turkish, negative for English, by frequent words and by lower-case words
    with Turkish letters (a name such as "İK Portalı" or "A.Ş." says nothing)."""
    score = 0
    for word in re.findall(r"[\wçğıöşüÇĞİÖŞÜ'’]+", text):
        folded = fold(word)
        if (
            folded in _TURKISH_HINTS
            or folded in _TURKISH_RULE_WORDS
            or (word[:1].islower() and any(ch in _TURKISH_LETTERS for ch in word))
        ):
            score += 1
        elif folded in _ENGLISH_HINTS or folded in _ENGLISH_RULE_WORDS:
            score -= 1
    return score


def in_language(text: str, language: str) -> str:
    """The half of "Türkçe metin / English text" in ``language``; the text as it is when it is
    not two halves in two languages."""
    halves = _HALVES.split(text)
    if len(halves) != 2:
        return text
    leans = [_lean(h) for h in halves]
    plain = [not any(ch in _TURKISH_LETTERS for ch in h) for h in halves]
    # One half Turkish, the other English by its words, or at least free of Turkish letters.
    if not (
        (leans[0] > 0 and leans[1] <= 0 and (leans[1] < 0 or plain[1]))
        or (leans[1] > 0 and leans[0] <= 0 and (leans[0] < 0 or plain[0]))
    ):
        return text
    turkish = halves[0] if leans[0] > 0 else halves[1]
    english = halves[1] if leans[0] > 0 else halves[0]
    return turkish if language == "tr" else english


# --- What the question asks for -----------------------------------------------------------

_HOW = re.compile(
    r"\b(nasıl|nasil|adım\w*|adim\w*|süreç\w*|surec\w*|ne yapmalıyım|ne yapmam gerek\w*|"
    r"how (do|can|should|would) (i|we|you)|how to|what are the steps|which steps|steps|step by step|process for|"
    r"what do i (do|need to do)|what should i do)\b",
    re.I,
)
_SUMMARY = re.compile(
    r"\b(özetle|özetler|özet|ozet|kısaca|kisaca|summari[sz]e|summary|in brief|overview|"
    r"bullet|bullets|madde(ler|de)?|"
    # "Uzaktan çalışma kuralları neler?", "What are the remote work rules?": a policy's rules.
    r"kural(lar)?(ı|i|ımız|imiz)?|rules)\b",
    re.I,
)
_TABLE_WORDS = re.compile(r"\b(tablo|tabloyu|table|tiers?|kademe|limits|limitleri|oranlar|rates)\b", re.I)
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "bir": 1,
    "iki": 2,
    "üç": 3,
    "uc": 3,
    "dört": 4,
    "dort": 4,
    "beş": 5,
    "bes": 5,
    "altı": 6,
    "yedi": 7,
    "sekiz": 8,
}


def bullet_count(question: str) -> int:
    match = re.search(r"\b(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\s+(bullet|point|madde|cümle|sentence)", question, re.I)
    if not match:
        return DEFAULT_BULLETS
    word = match.group(1).lower()
    count = int(word) if word.isdigit() else _NUMBER_WORDS[word]
    return max(1, min(MAX_BULLETS, count))


# --- Numbers and ranges ---------------------------------------------------------------------

_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[.,]\d{3})+|\d+(?:[.,]\d+)?)(?![\w])")


def parse_number(text: str) -> float:
    """``60.000`` and ``60,000`` are sixty thousand; ``1.5`` and ``1,5`` one and a half."""
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", text):
        return float(re.sub(r"[.,]", "", text))
    return float(text.replace(",", "."))


_MONTHS = re.compile(r"^\s*(months?|aylık|ay\b|aydan|aya|ayı)", re.I)


def numbers(text: str) -> list[tuple[float, int]]:
    """Each number in ``text`` (months counted in years, so "6 months" meets "2 yıllık") with
    where it ends."""
    text = text.replace("₺", " ")
    found = []
    for match in _NUMBER.finditer(text):
        value = parse_number(match.group(1))
        if _MONTHS.match(text[match.end() :]):
            value /= 12
        found.append((value, match.end()))
    return found


_UPPER = re.compile(r"^\W*(\S*\s)?(['’]?[a-zçğıöşü]*\s)?(kadar|up to|or less|ve altı|and below|under|altı)", re.I)
_UPPER_OPEN = re.compile(r"^\W*(\S*\s)?(['’]?[a-zçğıöşü]*\s)?(az|less|fewer|below|aşağı|altında)", re.I)
_LOWER_OPEN = re.compile(r"^\W*(\S*\s)?(['’]?[a-zçğıöşü]*\s)?(üzeri|uzeri|fazla|more|above|over|aşan|üstü)", re.I)
_LOWER = re.compile(
    r"^\W*(\S*\s)?(['’]?[a-zçğıöşü]*\s)?(\(?dahil\)?\s+)?(ve (daha fazla|üzeri|üstü)|or more|and above|"
    r"and over|\+)",
    re.I,
)
_BEFORE_UPPER = re.compile(r"(up to|less than|fewer than|under|below|at most|en fazla)\s*$", re.I)
_BEFORE_LOWER = re.compile(r"(more than|above|over|at least|en az|from)\s*$", re.I)


@dataclass
class Range:
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def holds(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return not (self.high is not None and (value > self.high or (self.high_open and value == self.high)))


def parse_range(cell: str) -> Range | None:
    """The range a table cell names: "5.000 TL'ye kadar", "5.001 – 25.000 TL", "25.000 TL üzeri",
    "1 yıldan 5 yıla kadar (5 yıl dahil)", "5 yıldan fazla, 15 yıldan az", "less than 6 months",
    "more than 3 years", "15 yıl (dahil) ve daha fazla"."""
    halves = _HALVES.split(cell)
    if len(halves) == 2:
        # "5.000 TL'ye kadar / up to 5,000 TRY": one range said twice.
        return parse_range(halves[0]) or parse_range(halves[1])
    text = cell.lower()
    found = numbers(text)
    if not found:
        return None
    bounds = Range()
    between = text[found[0][1] : found[1][1]] if len(found) >= 2 else ""
    if len(found) >= 2 and re.search(r"[-–—]|\bto\b|\bile\b|\bila\b", between):
        bounds.low, bounds.high = found[0][0], found[1][0]
        after = text[found[1][1] :]
        if _UPPER_OPEN.match(after):
            bounds.high_open = True
        return bounds
    for value, end in found[:2]:
        after = text[end:]
        before = text[: end - len(re.findall(r"[\d.,]+", text[:end])[-1])]
        if _BEFORE_UPPER.search(before):
            bounds.high, bounds.high_open = value, bool(re.search(r"(less|fewer|under|below)\s+(than\s*)?$", before))
        elif _BEFORE_LOWER.search(before):
            bounds.low, bounds.low_open = value, bool(re.search(r"(more|above|over)\s+(than\s*)?$", before))
        elif _LOWER.match(after):
            bounds.low = value
        elif _LOWER_OPEN.match(after):
            bounds.low, bounds.low_open = value, True
        elif _UPPER.match(after):
            bounds.high = value
        elif _UPPER_OPEN.match(after):
            bounds.high, bounds.high_open = value, True
        elif bounds.low is None and len(found) >= 2:
            # "1 yıldan 5 yıla kadar": the first number opens what the second closes.
            bounds.low = value
    if "dahil" in text and bounds.high is not None:
        bounds.high_open = False
    if bounds.low is None and bounds.high is None:
        return None
    return bounds


# --- Answers ----------------------------------------------------------------------------------


def _topic_words(question: str) -> set[str]:
    """The question's words and, through the glossary, the other language's ("ihbar süresi"
    meets "notice period")."""
    # A number's unit ("2 yıllık", "60.000 TL") says what is measured, not what the table is about.
    tokens = [t for t in tokenize(re.sub(r"\d[\d.,]*\s*\S*", " ", question)) if t not in _QUESTION_WORDS and t not in _GENERIC]
    words = {t for t in tokens + expand(tokens) if len(t) > 2 and not t.startswith("~")}
    return words | {w for w in map(_restore_vowel, words) if w}


_VOWELS = "aeiou"
_HIGH = {"a": "i", "i": "i", "e": "i", "o": "u", "u": "u"}


def _restore_vowel(stem: str) -> str:
    """The vowel Turkish drops before an ending: "izn" (iznim) is "izin", "sehr" (şehri) "sehir"."""
    if len(stem) >= 4 and stem[-1] in _VOWELS and stem[-2] not in _VOWELS and stem[-3] not in _VOWELS:
        stem = stem[:-1]  # "izni" (izin + i), "burnu"
    if len(stem) < 3 or stem[-1] in _VOWELS or stem[-2] in _VOWELS or stem[-1] == stem[-2]:
        return ""
    last = next((ch for ch in reversed(stem[:-2]) if ch in _VOWELS), "")
    return stem[:-1] + _HIGH[last] + stem[-1] if last else ""


# Words a table's cells share with any question about amounts and durations: they name no topic.
_GENERIC = frozenset(
    tokenize(
        "kadar üzeri fazla az yıl yıllık ay aylık gün günlük hafta saat tl try eur up to less more than above below "
        "over under days day weeks week months month years year hours ve ile and or the of for en "
        "süre süresi sürem süreler period periods duration"
    )
)


# Words that name a kind of document, not its topic: every procedure's title may hold one.
_DOCUMENT_WORDS = frozenset(
    tokenize(
        "prosedür prosedürü prosedürünü politika politikası süreç süreci sürecini kural kuralları kurallarını "
        "procedure policy process rules guideline"
    )
)


_TURKISH_UNITS = ("gun", "yil", "saat", "hafta", "dakika", "sure", "kadar", "fazla")


def _generic(token: str) -> bool:
    """A unit word, in Turkish with its ending: "yılda", "günü", "saatler" (not "weekend")."""
    return token in _GENERIC or any(token.startswith(g) and len(token) - len(g) <= 4 for g in _TURKISH_UNITS)


def _glossary_words(question: str) -> set[str]:
    """The other language's words the glossary adds: a strong sign of what is asked."""
    return {t for t in expand(tokenize(question)) if not t.startswith("~")}


def _table_score(
    table: Table, words: set[str], title: str = "", strong: frozenset[str] | set[str] = frozenset(), about: str = ""
) -> float:
    """How much of the question's topic the table (its section, headers and cells, the
    procedure's title and ``about``, its summary) speaks of: in the question's own words or in
    the other language's the glossary adds (``strong``), whichever says more, so a table with
    bilingual headers does not count each word twice; a word met only by its four-letter
    prefix ("alımı", "alımlarında") counts half."""
    text = " ".join([title, about, table.section, *table.header, *(c for row in table.rows for c in row)])
    tokens = set(tokenize(text))
    prefixes = {t[:5] for t in tokens}

    def said(group) -> float:
        score = 0.0
        for word in group:
            if word in tokens or word[:5] in prefixes:
                score += 1
            elif f"~{fold(word)[:4]}" in tokens:
                score += 0.5
        return score

    return max(said(w for w in words if w not in strong), said(w for w in words if w in strong))


_UNITS = (
    ("time", re.compile(r"^\s*(yıl|yil|year|ay\b|aylık|ayl|aydan|month)", re.I)),
    ("day", re.compile(r"^\s*(iş günü|is gunu|gün|gun|business day|working day|calendar day|day)", re.I)),
    ("week", re.compile(r"^\s*(hafta|week)", re.I)),
    ("hour", re.compile(r"^\s*(saat|hour|dakika|minute)", re.I)),
    ("money", re.compile(r"^\s*('?\w{0,4}\s)?(tl|try|₺|eur|euro|usd|lira|\$|€)", re.I)),
)


def _unit_of(text: str) -> str:
    """What the first number of ``text`` counts ("3 days" → day, "60.000 TL" → money); "" unknown."""
    text = text.replace("₺", " TL ")
    found = numbers(text.lower())
    if not found:
        return ""
    after = text[found[0][1] :]
    return next((name for name, pattern in _UNITS if pattern.match(after)), "")


def _row_for(table: Table, value: float, unit: str = "") -> list[str] | None:
    if unit:
        # "a leave of 3 days" is not "3 years of service": a number counts what the column counts.
        units = {_unit_of(row[0]) for row in table.rows} - {""}
        if units and unit not in units:
            return None
    ranges = [parse_range(row[0]) for row in table.rows]
    if sum(r is not None for r in ranges) < max(2, len(table.rows) - 1):
        return None
    matching = [row for row, bounds in zip(table.rows, ranges, strict=True) if bounds is not None and bounds.holds(value)]
    return matching[0] if matching else None


def _heading_fit(table: Table, words: set[str], title: str = "", strong: frozenset[str] | set[str] = frozenset()) -> float:
    """How much of the question's topic the table's title, section and headers name: what the
    table is about, not what its cells happen to share with the question."""
    return _table_score(Table(table.header, [], table.section), words, title, strong)


def _row_named(table: Table, words: set[str]) -> list[str] | None:
    """The one row whose first cell the question names ("P1", "otel")."""
    named = [
        row
        for row in table.rows
        if {t for t in tokenize(row[0]) if len(t) > 1 and not t.startswith("~") and t not in _GENERIC} & words
    ]
    return named[0] if len(named) == 1 else None


def _columns_named(table: Table, words: set[str]) -> list[int]:
    """The value columns the question names ("yurt dışı" of Domestic / International)."""
    overlap = {
        i: len({t for t in tokenize(head) if len(t) > 1 and not t.startswith("~")} & words)
        for i, head in enumerate(table.header)
        if i
    }
    best = max(overlap.values(), default=0)
    return [i for i, count in overlap.items() if best and count == best]


def _question_value(question: str) -> float | None:
    found = [value for value, _ in numbers(question.lower()) if not 1900 <= value <= 2100]
    return found[0] if found else None


def _table_order(table: Table) -> tuple[str, str] | None:
    """The order of a bilingual table's "Türkçe / English" cells, from the cells whose words
    tell it; None when they do not."""
    votes = 0
    for cell in [*table.header, *(c for row in table.rows for c in row)]:
        halves = _HALVES.split(cell)
        if len(halves) == 2:
            votes += (_lean(halves[0]) > _lean(halves[1])) - (_lean(halves[0]) < _lean(halves[1]))
    return ("tr", "en") if votes > 0 else ("en", "tr") if votes < 0 else None


_TABLE_IN_OTHER = {("tr", "en"): "Prosedür İngilizce. ", ("en", "tr"): "The procedure is in Turkish. "}


def whole_table(table: Table, procedure: Procedure, language: str, n: int) -> str:
    """The table as a Markdown table under its section's name, with a word on its language
    when that is not the asker's."""
    note = _TABLE_IN_OTHER.get((language, table_language(table)), "")
    return f"{note}{table.section or procedure.title} [{n}]:\n\n{table.markdown()}"


def _cell_in(table: Table, text: str, language: str, order: tuple[str, str] | None = None) -> str:
    """A cell or header of ``table`` in ``language``: the table's order of "Türkçe / English"
    halves decides a cell whose own words do not."""
    order = order or _table_order(table)
    halves = _HALVES.split(text)
    if order and len(halves) == 2 and language in order:
        return halves[order.index(language)]
    return in_language(text, language)


def table_language(table: Table) -> str:
    """The one language a table is written in ("tr", "en"), "" for a bilingual table or one whose
    words do not tell."""
    if _table_order(table):
        return ""
    lean = _lean(" ".join([table.section, *table.header, *(c for row in table.rows for c in row)]))
    return "tr" if lean > 0 else "en" if lean < 0 else ""


def _row_sentence(table: Table, row: list[str], language: str, n: int, columns: list[int] | None = None) -> str:
    order = _table_order(table)
    written = table_language(table)

    def say(text: str) -> str:
        return _cell_in(table, text, language, order)

    keep = columns or list(range(1, len(table.header)))
    if written and written != language and (language, written) in _IN_OTHER:
        # A table in the other language: its own words, quoted, and a word on its language.
        cells = [f"{table.header[0]}: “{row[0]}”" if table.header[0] else f"“{row[0]}”"]
        cells += [
            f"{table.header[i]}: **{row[i].strip('*')}**" if table.header[i] else f"**{row[i].strip('*')}**"
            for i in keep
            if i < len(row) and row[i]
        ]
        return _IN_OTHER[(language, written)].replace("“{text}”", "{text}").format(text="; ".join(cells)).replace("[1]", f"[{n}]")

    first = f"{say(table.header[0])} “{say(row[0])}”" if table.header[0] else f"“{say(row[0])}”"
    rest = "; ".join(
        f"{say(table.header[i])}: **{say(row[i]).strip('*')}**" if table.header[i] else f"**{say(row[i]).strip('*')}**"
        for i in keep
        if i < len(row) and row[i]
    )
    if language == "tr":
        return f"{first} için {rest} [{n}]."
    return f"For {first}: {rest} [{n}]."


def _sentence(text: str) -> str:
    text = " ".join(text.split()).strip()
    if text and text[-1] not in ".!?:…":
        text += "."
    return text


def _first_sentences(text: str) -> list[str]:
    plain = re.sub(r"[*_`>#]+", "", text)
    items = [line.strip(" -•\t") for line in plain.splitlines() if line.strip(" -•\t")]
    sentences = []
    for item in items:
        sentences += [s for s in re.split(r"(?<=[.!?])\s+(?=[A-ZÇĞİÖŞÜ0-9])", item) if len(s.split()) >= 3]
    return sentences


# Said after the lead of a list of steps or bullets written in the other language than the question's.
_LIST_IN_OTHER = {("tr", "en"): " (prosedür İngilizce)", ("en", "tr"): " (the procedure is in Turkish)"}


def _in_other(lines: list[str], language: str) -> str:
    return _LIST_IN_OTHER.get((language, passage_language(" ".join(lines))), "") if lines else ""


def steps_answer(procedure: Procedure, language: str, n: int) -> str:
    steps = [_sentence(in_language(step, language)) for step in procedure.steps]
    note = _in_other(steps, language)
    lead = {"tr": f"{procedure.title}: adımlar{note} [{n}]", "en": f"{procedure.title}: the steps{note} [{n}]"}[language]
    return lead + "\n\n" + "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))


# Lines that say who to ask or what the document is, not what it rules.
_META = re.compile(
    r"^\W*(questions|contact|iletişim|iletisim|sorular|sorumlular|responsible|applies to|kapsam\b|"
    r"bu prosedür|bu politika|this (procedure|policy|document))",
    re.I,
)
_RULE = re.compile(
    r"\b(must|required|mandatory|at least|at most|within|up to|only|not allowed|forbidden|"
    r"zorunlu|gerekir|gerekli|en az|en geç|en fazla|içinde|yasak|olamaz|kadar)\b",
    re.I,
)


def _table_bullet(table: Table, language: str) -> str:
    """A table in one line: "Onay limitleri: 10.000 TL'ye kadar: Doğrudan yönetici; …"."""
    order = _table_order(table)
    rows = []
    for row in table.rows:
        rest = [_cell_in(table, c, language, order).strip("* ") for c in row[1:] if c.strip()]
        first = _cell_in(table, row[0], language, order).strip("* ")
        rows.append(f"{first}: {', '.join(rest)}" if rest else first)
    head = table.section or " / ".join(table.header)
    return f"{head}: " + "; ".join(rows) + "."


def _worth(unit: Unit, position: int) -> float:
    """How much a sentence tells: a figure or a bold term, a rule, the opening of its section."""
    text = unit.text
    return (
        (1.0 if re.search(r"\d|\*\*", text) else 0.0)
        + (0.3 if _RULE.search(text) else 0.0)
        + (0.6 if position == 0 else 0.0)
        - (0.5 if len(text.split()) > 40 else 0.0)
    )


def summary_answer(procedure: Procedure, language: str, n: int, count: int, question: str = "") -> str:
    """``count`` bullets, each a whole sentence: the most telling sentence of each section in
    turn (a table as one line of its rows), the sections the question names first, then the
    steps; the summary itself only when the content has too little to say."""
    asked = (_topic_words(question) - _DOCUMENT_WORDS) if question else set()
    texts = dict(procedure.sections)
    everything = _one_language(
        [u for heading, text in procedure.sections for u in _section_units(heading, text, language)], language
    )
    kept = {id(u) for u in everything}
    sections: list[tuple[float, int, list[str]]] = []
    for order, heading in enumerate(procedure.headings or [h for h, _ in procedure.sections]):
        units = [u for u in _section_units(heading, texts.get(heading, ""), language) if not _META.match(u.text)]
        units = [u for u in units if any(fold(u.text) == fold(k.text) for k in everything if id(k) in kept)]
        ranked = [u.text for _, _, u in sorted(((-_worth(u, i), i, u) for i, u in enumerate(units)), key=lambda item: item[:2])]
        tables = [_table_bullet(t, language) for t in procedure.tables if t.section == heading]
        if tables or ranked:
            named = _heading_fit(Table([], [], heading), asked) if asked else 0
            sections.append((named, order, tables + ranked))
    sections.sort(key=lambda item: (-item[0], item[1]))
    pool: list[str] = []
    depth = max((len(items) for *_, items in sections), default=0)
    for level in range(depth):
        pool += [items[level] for *_, items in sections if level < len(items)]
    pool += [in_language(step, language) for step in procedure.steps]
    pool += [in_language(s, language) for s in _first_sentences(procedure.summary)]
    seen, bullets = set(), []
    for sentence in pool:
        key = fold(re.sub(r"[*_`]", "", sentence))[:60]
        if key not in seen and len(sentence.split()) >= 3:
            seen.add(key)
            bullets.append(_sentence(re.sub(r"\*\*(.+?)\*\*", r"**\1**", sentence)))
        if len(bullets) == count:
            break
    if not bullets:
        bullets = [_sentence(procedure.summary or procedure.title)]
    note = _in_other(bullets, language)
    lead = {"tr": f"{procedure.title}, kısaca{note} [{n}]:", "en": f"{procedure.title} in brief{note} [{n}]:"}[language]
    return lead + "\n\n" + "\n".join(f"- {b}" for b in bullets)


def table_answer(procedure: Procedure, question: str, language: str, n: int) -> str | None:
    """A row the question selects (by a number or by name), or the table the question is
    about; None when the question is about none of the tables."""
    words, strong = _topic_words(question), _glossary_words(question)
    asked_for_table = bool(_TABLE_WORDS.search(question))
    tables = [t for t in procedure.tables if asked_for_table or _heading_fit(t, words, procedure.title, strong) >= 1]
    tables.sort(key=lambda t: _table_score(t, words, procedure.title, strong), reverse=True)
    if not tables:
        return None
    value = _question_value(question)
    if value is not None:
        unit = _unit_of(question)
        for table in tables:
            row = _row_for(table, value, unit)
            if row is not None:
                return _row_sentence(table, row, language, n)
        return None
    table = tables[0]
    row = _row_named(table, words | {t for t in tokenize(question) if len(t) > 1 and t not in _GENERIC})
    if row is not None:
        return _row_sentence(table, row, language, n, _columns_named(table, words))
    # The whole table only for a question about what it tabulates ("ihbar süresi" → Notice period).
    fit = _heading_fit(table, words, "", strong)
    # A workplace term the question and the header share, in either language ("yıllık izin",
    # "annual leave"): the glossary reads both.
    header = tokenize(" ".join(table.header))
    if asked_for_table or fit >= 2 or (fit >= 1 and strong & (set(header) | set(expand(header)))):
        return whole_table(table, procedure, language, n)
    return None


_SERVICE = re.compile(r"hizmet|kıdem|kidem|çalışma süresi|length of service|service|seniority|tenure", re.I)
_ADDS = re.compile(r"\b(ek olarak|ayrıca|ilave|in addition|additionally|on top|extra|plus)\b", re.I)
_MY = re.compile(r"\b(ben|benim|bana|my|me|i|do i|am i|have i|iznim|hakkım|hakkim|sürem|süremi|surem)\b", re.I)


def _years_since(start: str, today: dt.date) -> float | None:
    try:
        began = dt.date.fromisoformat(str(start)[:10])
    except ValueError:
        return None
    return (today - began).days / 365.25 if began <= today else None


def asker_answer(
    procedure: Procedure, question: str, language: str, n: int, asker: dict, today: dt.date | None = None
) -> str | None:
    """A rule the asker's record decides: a table by length of service, applied to the
    asker's start date, saying how the answer follows ("You joined on …"). None when no
    such table or no start date: then the rule is given as it is."""
    today = today or dt.date.today()
    years = _years_since(asker.get("start_date") or "", today)
    if years is None:
        return None
    words, strong = _topic_words(question), _glossary_words(question)
    tables = [
        t
        for t in procedure.tables
        if t.header and _SERVICE.search(t.header[0]) and _heading_fit(t, words, procedure.title, strong) >= 1
    ]
    tables.sort(key=lambda t: _table_score(t, words, procedure.title, strong), reverse=True)
    for table in tables:
        row = _row_for(table, years)
        if row is None:
            continue
        joined = date_in_words(str(asker["start_date"])[:10], language)
        whole = int(years)
        rule = _row_sentence(table, row, language, n)
        if language == "tr":
            lead = f"İşe başlama tarihiniz {joined}; {whole} yıllık hizmet."
        else:
            lead = f"You joined on {joined}: {whole} years of service."
        extra = next(
            (
                _sentence(line.strip(" -*"))
                for line in _section_text(procedure, table.section).splitlines()
                if _ADDS.search(line) and numbers(line.lower())
            ),
            None,
        )
        extra = re.sub(r"[*]", "", extra) if extra else ""
        total = _total(" ".join(row[1:]), extra, language)
        if extra:
            # One citation, after what the procedure says; a sentence in the other language quoted.
            rule = re.sub(rf"\s*\[{n}\]\.?$", ".", rule)
            said = _language_of(extra)
            if said and said != language:
                extra = {"en": "The procedure adds: “{}”", "tr": "Prosedür ayrıca şunu söyler: “{}”"}[language].format(extra)
            extra = f"{extra} [{n}]"
        return " ".join(part for part in (lead, rule, extra, total) if part)
    return None


_UNIT = re.compile(r"(\d+)\s*(gün|iş günü|days?|business days?|hafta|weeks?)\b", re.I)


def _total(rule: str, extra: str, language: str) -> str:
    """ "20 gün" and "2 gün şirket izni" make "In all: 22 gün" — only for one and the same unit."""
    first, second = _UNIT.search(rule), _UNIT.search(extra)
    if not first or not second or fold(first.group(2)) != fold(second.group(2)):
        return ""
    amount = int(first.group(1)) + int(second.group(1))
    unit = _UNIT_WORDS.get((fold(first.group(2)), language), first.group(2))
    return f"Toplam: **{amount} {unit}**." if language == "tr" else f"In all: **{amount} {unit}**."


# A total is said in the answer's language ("16 days", not "16 gün").
_UNIT_WORDS = {
    ("gun", "en"): "days",
    ("is gunu", "en"): "business days",
    ("hafta", "en"): "weeks",
    ("days", "tr"): "gün",
    ("day", "tr"): "gün",
    ("business days", "tr"): "iş günü",
    ("business day", "tr"): "iş günü",
    ("weeks", "tr"): "hafta",
    ("week", "tr"): "hafta",
}


def _section_text(procedure: Procedure, title: str) -> str:
    return "\n".join(text for heading, text in procedure.sections if heading == title)


def unit_words(unit: Unit, procedure: Procedure) -> frozenset[str]:
    """The tokens a unit says, with its heading (a row: its table's headers)."""
    return unit.tokens | unit.context | frozenset(tokenize(procedure.title))


def _procedure_words(procedure: Procedure) -> frozenset[str]:
    text = " ".join(
        [
            procedure.title,
            procedure.summary,
            *procedure.steps,
            *(t for _, t in procedure.sections),
            *(" ".join(t.header + [c for row in t.rows for c in row]) for t in procedure.tables),
        ]
    )
    return frozenset(tokenize(text))


def _spoken(needed: list[frozenset[str]], tokens: frozenset[str] | set[str], least: int = 2) -> bool:
    """Whether ``tokens`` speak of at least ``least`` of the ``needed`` words and of half of them,
    each in its own stems, a five-letter prefix or the glossary's other language."""
    tokens = frozenset(tokens)
    prefixes = {t[:5] for t in tokens if len(t) >= 5}
    spoken = sum(
        1 for own, other in _needed_groups(needed) if _best(own, tokens, prefixes) == 1.0 or _best(other, tokens, prefixes) == 1.0
    )
    return spoken >= least and (least < 2 or 2 * spoken >= len(needed))


def _speaks_of(needed: list[frozenset[str]], procedure: Procedure, answer: str) -> bool:
    """Whether the answer, with its procedure's title and summary, holds most of ``needed`` (one
    is enough beside a figure the question gives)."""
    return _spoken(needed, set(tokenize(f"{procedure.title} {procedure.summary} {answer}")), least=1)


def measured_number(question: str) -> bool:
    """Whether the question gives an amount or a duration ("7.500 TL", "3 days", "2 yıllık")."""
    return _question_value(question) is not None and bool(_unit_of(question))


def _asks_of_a_header(procedure: Procedure, question: str) -> bool:
    """Whether every topic word of the question is a word of one table's header, in either
    language ("Yıllık izin kaç gün?" of "Hizmet süresi | Asgari yıllık izin")."""
    words = {w for w in _topic_words(question) if not _generic(w)}
    if not words:
        return False
    for table in procedure.tables:
        header = tokenize(" ".join(table.header))
        known = set(header) | set(expand(header))
        known |= {w for w in map(_restore_vowel, known) if w}
        if words <= known:
            return True
    return False


def wants_procedure(question: str) -> bool:
    """Whether the question asks for steps or a summary: a procedure's answer, even where
    the records also have one (a department of the same name)."""
    return bool(_HOW.search(question) or _SUMMARY.search(question))


def procedure_answer(
    *,
    question: str,
    language: str,
    sources: list[Source],
    snapshot: Snapshot,
    asker_key: str = "",
    mine: bool = False,
    needed: list[frozenset[str]] | None = None,
) -> ProcedureAnswer | None:
    """A structured answer from the best retrieved procedure, with that procedure as the one
    source; None when the question is not one these answers serve."""
    candidates = [s for s in sources[:2] if s.doc_type == "procedure"]
    if _question_value(question) is not None or not (_HOW.search(question) or _SUMMARY.search(question)):
        # A table question: any procedure found may hold the table.
        candidates = [s for s in sources if s.doc_type == "procedure"]
    if not candidates:
        return None
    top = candidates[0]
    if len(candidates) > 1 and not (_HOW.search(question) or _SUMMARY.search(question)):
        # A number asks for a table row: the procedure whose table the question is about.
        words, strong = _topic_words(question), _glossary_words(question)
        by_key = snapshot.by_key()

        def table_fit(source: Source) -> float:
            record = by_key.get(source.key)
            if record is None:
                return 0
            procedure = procedure_of(snapshot, record)
            return max((_table_score(t, words, record.title, strong, procedure.summary) for t in procedure.tables), default=0)

        top = max(candidates, key=table_fit)
    elif len(candidates) > 1:
        # Steps or a summary: the procedure the question names (its title and summary).
        words = _topic_words(question)
        by_key = snapshot.by_key()

        def named(source: Source) -> int:
            record = by_key.get(source.key)
            body = snapshot.shown_body(record) if record is not None else {}
            tokens = set(tokenize(f"{source.title} {body.get('summary') or ''}"))
            prefixes = {t[:5] for t in tokens}
            return sum(1 for w in words - _DOCUMENT_WORDS if w in tokens or w[:5] in prefixes)

        top = max(candidates, key=named)
    record = snapshot.by_key().get(top.key)
    if record is None:
        return None
    procedure = procedure_of(snapshot, record)
    language = language if language in ("tr", "en") else "en"
    source = Source(n=1, key=top.key, doc_type=top.doc_type, title=top.title, score=top.score, passages=top.passages)
    if _SUMMARY.search(question):
        return ProcedureAnswer(summary_answer(procedure, language, 1, bullet_count(question), question), source, "structure")
    if procedure.steps and _HOW.search(question) and _question_value(question) is None:
        return ProcedureAnswer(steps_answer(procedure, language, 1), source, "structure")
    asker = snapshot.by_key().get(asker_key) if asker_key else None
    if asker is not None and (mine or _MY.search(question)) and _question_value(question) is None:
        # The rule may sit in any procedure found: the one whose service table fits the question best.
        words, strong = _topic_words(question), _glossary_words(question)
        by_key = snapshot.by_key()
        found = []
        for candidate in (s for s in sources if s.doc_type == "procedure"):
            record = by_key.get(candidate.key)
            if record is None:
                continue
            other = procedure_of(snapshot, record)
            fit = max((_table_score(t, words, other.title, strong) for t in other.tables), default=0)
            found.append((fit, -candidate.n, candidate, other))
        for _, _, candidate, other in sorted(found, key=lambda f: f[:2], reverse=True):
            answer = asker_answer(other, question, language, 1, snapshot.shown_body(asker))
            if answer is not None:
                return ProcedureAnswer(
                    answer,
                    Source(
                        n=1,
                        key=candidate.key,
                        doc_type=candidate.doc_type,
                        title=candidate.title,
                        score=candidate.score,
                        passages=candidate.passages,
                    ),
                    "structure",
                )
    value = _question_value(question)
    # "Yıllık izin kaç gün?": a quantity asked of exactly what a table tabulates is that table (each
    # seniority's days), not the one sentence that happens to hold a number of days.
    tabulated = bool(_FACT_QUANTITY.search(question)) and _asks_of_a_header(procedure, question)
    if procedure.tables and (value is not None or _TABLE_WORDS.search(question) or tabulated):
        answer = table_answer(procedure, question, language, 1)
        if answer is not None and (needed is None or _speaks_of(needed, procedure, answer)):
            return ProcedureAnswer(answer, source, "structure")
    # One fact: from the procedures among the first sources, the best first.
    by_key = snapshot.by_key()
    found = []
    for rank, candidate in enumerate(sources[:3]):
        record = by_key.get(candidate.key)
        if candidate.doc_type != "procedure" or record is None:
            continue
        found.append(
            (
                Source(
                    n=1,
                    key=candidate.key,
                    doc_type=candidate.doc_type,
                    title=candidate.title,
                    score=candidate.score,
                    passages=candidate.passages,
                ),
                procedure_of(snapshot, record),
                rank,
            )
        )
    fact = fact_answer(found, question, language, needed)
    return ProcedureAnswer(*fact, "fact") if fact is not None else None


# --- One fact: the sentence, step or table row that answers ----------------------------------

FACT_MAX_WORDS = 30
# A fact answer needs this share of the question's weighted words; below it the passage answerer
# (all retrieved documents, not only procedures) answers.
FACT_MIN_SCORE = 0.3
FACT_RANK_PENALTY = 0.12
FACT_NUMBER_BONUS = 0.15
HEADING_WEIGHT = 0.5
_FACT_QUANTITY = re.compile(
    r"\b(kaç\w*|kac\w*|ne kadar|ne zaman|saat\s*kaç\w*|ne sıklık\w*|hangi (gün|saat|tarih)\w*|"
    r"en (az|fazla|geç)|how (many|much|long|often|soon|quickly|early)|when|what time|"
    r"minimum|maximum|limit\w*|deadline|süre\w*|sure\w*|period|within)\b",
    re.I,
)
_LABEL = re.compile(r"^\s*\**\s*(TR|EN)\s*:\s*\**\s*", re.I)
_BULLET = re.compile(r"^(\s*)(?:[-*•]|\d{1,2}[.)])\s+")
_SPLIT_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-ZÇĞİÖŞÜ0-9\"“(])")


@dataclass
class Unit:
    """A piece of a procedure that can answer on its own: a sentence, a list item (with
    the items under it), a step or a table row; or a whole table."""

    text: str
    tokens: frozenset[str]
    context: frozenset[str] = frozenset()  # the section heading (a table's headers): weaker evidence
    kind: str = "sentence"
    language: str = ""  # "tr", "en" or "" when its words do not tell
    table: Table | None = None
    row: list[str] | None = None

    # Derived once per unit: units are read once per procedure (``fact_units``) and scored for
    # every question asked of it.
    @cached_property
    def prefixes(self) -> set[str]:
        return {t[:5] for t in self.tokens if len(t) >= 5}

    @cached_property
    def context_prefixes(self) -> set[str]:
        return {t[:5] for t in self.context if len(t) >= 5}

    @cached_property
    def evidence(self) -> tuple[frozenset[str], set[str]]:
        """Its words with its heading's, and their five-letter prefixes."""
        words = self.tokens | self.context
        return words, {t[:5] for t in words if len(t) >= 5}

    @cached_property
    def opening(self) -> tuple[frozenset[str], set[str]]:
        """The words of its first four words, and their prefixes: what it is about."""
        words = frozenset(tokenize(" ".join(self.text.split()[:4])))
        return words, {t[:5] for t in words if len(t) >= 5}


def _language_of(text: str, label: str = "") -> str:
    if label:
        return label.lower()
    lean = _lean(text)
    return "tr" if lean > 0 else "en" if lean < 0 else ""


def _section_units(heading: str, text: str, language: str) -> list[Unit]:
    """The list items and sentences of a section; an item ending in ":" takes the items
    indented under it ("bildirin: e-posta …; telefon …")."""
    items: list[tuple[str, str]] = []  # (label, text)
    parent: int | None = None
    for raw in text.splitlines():
        if not raw.strip():
            parent = None
            continue
        bullet = _BULLET.match(raw)
        indent = len(bullet.group(1)) if bullet else 0
        line = raw[bullet.end() :] if bullet else raw.strip()
        label = _LABEL.match(line)
        tag = label.group(1) if label else ""
        line = line[label.end() :] if label else line
        if bullet and indent and parent is not None:
            head_label, head = items[parent]
            joiner = " " if head.endswith(":") else "; "
            items[parent] = (head_label, head + joiner + line.strip())
            continue
        items.append((tag, line.strip()))
        parent = len(items) - 1 if line.strip().endswith(":") else None
    context = frozenset(tokenize(heading))
    units = []
    for tag, item in items:
        sentences = [item] if item.endswith(":") else _SPLIT_SENTENCES.split(item)
        # A short sentence without a figure opens the next one ("… works in a hybrid model. Employees …
        # 2 days per week"); "Deneme süresi 2 aydır." is a fact of its own.
        joined: list[str] = []
        for sentence in sentences:
            if joined and len(joined[-1].split()) <= 8 and not joined[-1].endswith(":") and not re.search(r"\d", joined[-1]):
                joined[-1] += " " + sentence
            else:
                joined.append(sentence)
        for sentence in joined:
            said = in_language(sentence.strip(), language)
            if len(said.split()) < 2:
                continue
            units.append(Unit(said, frozenset(tokenize(said)), context, language=_language_of(said, tag)))
    return units


def fact_units(procedure: Procedure, language: str) -> list[Unit]:
    """Every piece of the procedure that may answer a question, each in the question's
    language where the procedure says it in both; read once per procedure and language."""
    units = procedure.memo.get(("units", language))
    if units is None:
        units = procedure.memo[("units", language)] = _fact_units(procedure, language)
    return units


def _fact_units(procedure: Procedure, language: str) -> list[Unit]:
    units = []
    title = frozenset(tokenize(procedure.title))
    for sentence in _SPLIT_SENTENCES.split(procedure.summary):
        said = in_language(sentence.strip(), language)
        if len(said.split()) >= 3:
            units.append(Unit(said, frozenset(tokenize(said)), title, kind="summary", language=_language_of(said)))
    for step in procedure.steps:
        said = in_language(step, language)
        units.append(Unit(said, frozenset(tokenize(said)), title, kind="step", language=_language_of(said)))
    for heading, text in procedure.sections:
        # The title speaks for every part of the procedure, not for its steps and summary only.
        units += [Unit(u.text, u.tokens, u.context | title, u.kind, u.language) for u in _section_units(heading, text, language)]
    for table in procedure.tables:
        about = frozenset(tokenize(" ".join([table.section, *table.header]))) | title
        units.append(Unit("", about, frozenset(), kind="table", language=_language_of(" ".join(table.header)), table=table))
        for row in table.rows:
            units.append(
                Unit(
                    "",
                    frozenset(tokenize(" ".join(row))),
                    about,
                    kind="row",
                    language=_language_of(" ".join(row)),
                    table=table,
                    row=row,
                )
            )
    return _one_language(units, language)


def _one_language(units: list[Unit], language: str) -> list[Unit]:
    """A procedure written in both languages says each fact twice: keep the question's language."""
    languages = {u.language for u in units if u.kind in ("sentence", "step", "summary")}
    if {"tr", "en"} <= languages:
        return [u for u in units if u.language in (language, "") or u.kind in ("table", "row")]
    return units


def _matches(word: str, tokens: frozenset[str], prefixes: set[str]) -> float:
    if word in tokens or (len(word) >= 5 and word[:5] in prefixes):
        return 1.0
    return 0.5 if f"~{word[:4]}" in tokens else 0.0


Group = tuple[frozenset[str], frozenset[str]]
# "Kaç onay gerekir?", "How many approvals…": the word counted is what the answer must be about.
_FOCUS = re.compile(r"\b(kaç|kac|how many|how much)\s+(?P<focus>[^\W\d_]{3,})", re.I)
# "İhbar süresi ne kadar?", "Gece primi nedir?": in Turkish the word before the question word is asked about.
_FOCUS_BEFORE = re.compile(r"(?P<focus>[^\W\d_]{3,})\s+(ne kadar|nedir|ne zaman|kaç)\b", re.I)


def _focus_starts(question: str) -> set[int]:
    return {m.start("focus") for m in _FOCUS.finditer(question)} | {m.start("focus") for m in _FOCUS_BEFORE.finditer(question)}


TRANSLATION_WEIGHT = 0.85


def _question_words(question: str) -> list[Group]:
    """Each content word of the question (no question words, no bare numbers) as its own
    stems (a Turkish word's dropped vowel restored: "iznim" → izin) and the other language's
    words the glossary gives for it; words a phrase of the question translates to ("iş günü" →
    business days) join the phrase's first word."""
    turkish = detect_language(question) == "tr"
    groups: list[Group] = []
    focus = _focus_starts(question)
    for match in re.finditer(r"[^\W_]+(?:['’][^\W_]+)?", question):
        word = match.group()
        if fold(word) in FUNCTION_WORDS or _AUXILIARY.match(fold(word)):
            continue
        own = {t for t in tokenize(word) if not t.startswith("~") and t not in _QUESTION_WORDS and not t.isdigit() and len(t) > 1}
        if not own or own & (_FACT_FILLER | _QUESTION_WORDS):
            continue
        if turkish:
            own |= {w for w in map(_restore_vowel, own) if w}
        group = (frozenset(own), frozenset(t for t in expand(sorted(own)) if _translated(t)))
        groups.append(group)
        if match.start() in focus:
            groups.append(group)  # what "kaç …", "how many …", "… ne kadar" asks about counts twice
    return _with_phrases(groups, tokenize(question))


def _focus_words(question: str) -> set[str]:
    """The stems of what "… ne kadar", "kaç …" asks about, with the other language's words for
    it and for the phrase it ends ("ihbar süresi" → notice period)."""
    starts = _focus_starts(question)
    focus: set[str] = set()
    for match in re.finditer(r"[^\W_]+(?:['’][^\W_]+)?", question):
        if match.start() in starts:
            own = {t for t in tokenize(match.group()) if not t.startswith("~")}
            focus |= own | {t for t in expand(sorted(own)) if not t.startswith("~")}
            focus |= {
                t
                for members, words in phrase_translations(tokenize(question))
                if own & members
                for t in words
                if not t.startswith("~")
            }
    return focus


def _header_asked(table: Table, focus: set[str]) -> bool:
    """Whether a value column's header is what the question asks about ("Notice period" for
    "ihbar süresi ne kadar?"): every word of it among the focus words."""
    for head in table.header[1:]:
        words = {t for t in tokenize(head) if not t.startswith("~") and len(t) > 2}
        if words and words <= focus:
            return True
    return False


def _translated(token: str) -> bool:
    """Whether a token the glossary gives can stand for the word: not a prefix, a unit word or a
    short stem ("fazla" and "faz" of "fazla mesai" are no overtime on their own)."""
    return not token.startswith("~") and len(token) >= 3 and not _generic(token)


def _with_phrases(groups: list[Group], tokens: list[str]) -> list[Group]:
    """Each word of a phrase the glossary translates ("sick note" → rapor, "iş günü" → business
    days) also carries the phrase's translation."""
    phrases = phrase_translations(tokens)
    out = []
    for own, other in groups:
        # A phrase's words stand together ("notice period"): a unit word among them is kept.
        extra = {t for members, words in phrases if own & members for t in words if not t.startswith("~") and len(t) >= 3}
        out.append((own, other | extra))
    return out


def _needed_groups(needed: list[frozenset[str]]) -> list[Group]:
    groups = [(stems, frozenset(t for t in expand(sorted(stems)) if not t.startswith("~"))) for stems in needed]
    return _with_phrases(groups, [t for stems in needed for t in sorted(stems)])


# Turkish auxiliary verbs ("tahsis ediliyor mu?", "nasıl yapılır?", "iade olur mu?"): the noun before them asks.
_AUXILIARY = re.compile(r"^(edil|eder|ediyor|etme|etmem|etmeli|yapil|yapiyor|olur|olmali|olabil|oluyor)")


# Words of a question that ask for nothing a document says ("must", "gerekir", "do I have to").
_FACT_FILLER = frozenset(
    tokenize(
        "must have need should can could would will shall get gets got do does did mean means allowed allow "
        "gerek gerekir gerekiyor lazım mı mi mu mü mıdır midir olmalı olmalıdır olur oluyor nedir var yok "
        "my me our your i we you benim bana ben biz bizim sizin şirket company kadar ne"
    )
)


# A summary that says what the procedure covers ("core hours, allowances…", "… kurallarını açıklar")
# says not what they are: it answers a fact question only when nothing else does. A summary that
# states a rule ("İzin talebi İK Portalı üzerinden yapılır.") is a fact like any other.
SUMMARY_WEIGHT = 0.6
_DESCRIBES = re.compile(
    r"\b(açıklar|tanımlar|anlatır|düzenler|belirler|içerir|kapsar|describes?|explains?|covers?|"
    r"defines?|sets out|outlines?)\b",
    re.I,
)
_EN_VERBS = frozenset(
    "is are was were must will can may should has have be get gets need needs apply applies pay pays paid".split()
)
_TR_VERB_END = re.compile(r"(ır|ir|ur|ür|ar|er|dır|dir|dur|dür|tır|tir|tur|tür|maz|mez|malı|meli|yor)$")


def _descriptive(text: str) -> bool:
    """Whether a summary sentence describes the document rather than states a rule."""
    if _DESCRIBES.search(text) or re.match(r"\s*(how|what|rules|steps|guide)\b", text, re.I):
        return True
    words = re.findall(r"[^\W\d_]+", text.lower())
    if not words:
        return True
    if _language_of(text) == "tr":
        last = words[-1]
        return not _TR_VERB_END.search(last) or last.endswith(("lar", "ler"))
    return not (set(words) & _EN_VERBS)


# A row is said with its headers ("Seviye “P2”…; İlk müdahale süresi: 2 saat"): they count nearly in full.
ROW_HEADER_WEIGHT = 0.8
# "Core collaboration hours are 10:00–16:00" defines what "During core hours, respond…" only mentions.
SUBJECT_BONUS = 0.08


def _best(words: frozenset[str], tokens: frozenset[str], prefixes: set[str]) -> float:
    return max((_matches(w, tokens, prefixes) for w in words), default=0.0)


# A row whose first cell the question names ("Depo", "P2", "Weekend") is the row asked about.
ROW_KEY_BONUS = 0.2


def _names_row(cell: str, groups: list[Group]) -> bool:
    tokens = frozenset(tokenize(cell))
    prefixes = {t[:5] for t in tokens if len(t) >= 5}
    return any(
        _best(own, tokens, prefixes) == 1.0 or _best(other, tokens, prefixes) == 1.0
        for own, other in groups
        if not any(_generic(t) for t in own)
    )


def _fact_score(unit: Unit, groups: list[Group], weights: list[float], total: float) -> tuple[float, set[str]]:
    prefixes, context_prefixes = unit.prefixes, unit.context_prefixes
    context_weight = ROW_HEADER_WEIGHT if unit.kind == "row" else HEADING_WEIGHT
    score, matched = 0.0, set()
    for (own, other), weight in zip(groups, weights, strict=True):
        said = max(_best(own, unit.tokens, prefixes), TRANSLATION_WEIGHT * _best(other, unit.tokens, prefixes))
        around = context_weight * _best(own | other, unit.context, context_prefixes)
        if max(said, around):
            score += weight * max(said, around)
            if said:
                matched |= {w for w in own | other if _matches(w, unit.tokens, prefixes)}
    score /= total
    if unit.kind == "row" and unit.row and _names_row(unit.row[0], groups):
        score += ROW_KEY_BONUS
    if unit.kind == "summary" and _descriptive(unit.text):
        score *= SUMMARY_WEIGHT
    elif unit.kind in ("sentence", "step", "summary") and matched:
        opening, opening_prefixes = unit.opening
        if any(_matches(w, opening, opening_prefixes) == 1.0 for w in matched):
            score += SUBJECT_BONUS
    return score, matched


def _table_text(unit: Unit, procedure: Procedure, language: str, words: set[str]) -> str:
    """A table unit whole, a row unit as its sentence."""
    if unit.kind == "table":
        return whole_table(unit.table, procedure, language, 1)
    return _row_sentence(unit.table, unit.row, language, 1, _columns_named(unit.table, words))


_IN_OTHER = {
    ("tr", "en"): "Prosedür İngilizce: “{text}” [1]",
    ("en", "tr"): "The procedure is in Turkish: “{text}” [1]",
}


def fact_answer(
    candidates: list[tuple[Source, Procedure, int]], question: str, language: str, needed: list[frozenset[str]] | None = None
) -> tuple[str, Source] | None:
    """The sentence, list item, step or table row of the retrieved procedures that answers
    the question — the one with most of its words, the number when a number is asked — and a
    second only when it adds a word asked about and both fit ``FACT_MAX_WORDS``. A table row
    the question names by a cell ("P2", "otel"); the whole table when the question names what it
    tabulates and no row. None when nothing answers well enough, or when ``needed`` (the words
    a record answer leaves unexplained) is given and the answer does not speak of most of them."""
    groups = _question_words(question)
    if not groups or not candidates:
        return None
    pool = [(rank, source, procedure, unit) for source, procedure, rank in candidates for unit in fact_units(procedure, language)]
    if not pool:
        return None
    count = len(pool)
    everywhere = [u.evidence for *_, u in pool]
    weights = []
    for own, other in groups:
        frequency = sum(1 for tokens, prefixes in everywhere if _best(own | other, tokens, prefixes))
        weights.append(math.log(1 + count / (frequency or count)))
    total = sum(weights) or 1.0
    focus = _focus_words(question)
    if focus:
        for source, procedure, _ in candidates[:2]:
            for table in procedure.tables:
                if _header_asked(table, focus) and not any(_names_row(row[0], groups) for row in table.rows):
                    # "İhbar süresi ne kadar?": what the table gives, for every row.
                    return whole_table(table, procedure, language, 1), source
    wants_number = bool(_FACT_QUANTITY.search(question))
    scored = []
    for rank, source, procedure, unit in pool:
        score, matched = _fact_score(unit, groups, weights, total)
        if unit.kind == "row" and not {t for t in matched if not _generic(t)}:
            continue  # a row is chosen by its own cells ("P2", "otel"), not by "yıl" or "gün"; its headers pick the table
        if unit.kind == "table" and not (matched & set(tokenize(" ".join(unit.table.header + [unit.table.section])))):
            continue
        text = unit.text or " ".join(unit.row or [])
        if wants_number and re.search(r"\d", text if unit.kind != "table" else "1"):
            score += FACT_NUMBER_BONUS
        scored.append((score - FACT_RANK_PENALTY * rank, rank, source, procedure, unit, matched))
    if not scored:
        return None
    scored.sort(key=lambda s: s[0], reverse=True)
    best_score, _, source, procedure, unit, matched = scored[0]
    if best_score < FACT_MIN_SCORE or not matched:
        return None
    if needed is not None and not (
        _spoken(needed, _procedure_words(procedure)) and _spoken(needed, unit_words(scored[0][4], procedure), least=1)
    ):
        return None
    if unit.kind == "table":
        # The table a row of which the question names ("P3"): that row.
        named = [u for *_, u, m in scored if u.kind == "row" and u.table is unit.table and {t for t in m if not _generic(t)}]
        if len(named) == 1:
            unit = named[0]
    words = {t for own, other in groups for t in own | other}
    if unit.kind not in ("sentence", "step", "summary"):
        return _table_text(unit, procedure, language, words), source
    said = [_sentence(unit.text)]
    used = len(unit.text.split())
    open_groups = _open_groups(groups, unit)
    figures = {value for value, _ in numbers(unit.text.lower())}
    for score, _, other_source, _, other, other_matched in scored[1:4]:
        # A second sentence only for what the first leaves unsaid, never the same figure again.
        adds = [g for g in open_groups if (g[0] | g[1]) & other_matched]
        if (
            open_groups
            and adds
            and other_source.key == source.key
            and other.kind in ("sentence", "step", "summary")
            and used + len(other.text.split()) <= FACT_MAX_WORDS
            and score >= FACT_MIN_SCORE
            and not figures & {value for value, _ in numbers(other.text.lower())}
        ):
            said.append(_sentence(other.text))
            break
    text = _TIGHT_FACT.sub(r"\1", " ".join(said))
    if unit.language and unit.language != language and (language, unit.language) in _IN_OTHER:
        return _IN_OTHER[(language, unit.language)].format(text=text), source
    return text + " [1]", source


def _open_groups(groups: list[Group], unit: Unit) -> list[Group]:
    """The question's topical words (not units such as "gün") that a unit says nothing of,
    neither in its words nor in its heading."""
    tokens, prefixes = unit.evidence
    return [
        (own, other) for own, other in groups if not any(_generic(t) for t in own) and not _best(own | other, tokens, prefixes)
    ]


_TIGHT_FACT = re.compile(r"\s+([.,;:!?)])")
