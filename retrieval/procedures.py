"""Answers from a procedure's own structure, once retrieval has found it: its steps for a
how-to question, bullets for a summary, and its Markdown tables — the row a number in the
question selects ("60.000 TL", "15 yıllık"), or the whole table, rendered as a table.

Everything here reads the procedure as the asker may see it (``Snapshot``) and answers in
Markdown with one citation. A question it cannot answer this way returns None, and the
passage answerer takes over."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from knowledge.queries import Record, Snapshot

from .glossary import expand
from .llm.base import Source
from .llm.local import _QUESTION_WORDS
from .phrasing import date_in_words
from .text import _ENGLISH_HINTS, _TURKISH_HINTS, _TURKISH_LETTERS, fold, tokenize

MAX_BULLETS = 8
DEFAULT_BULLETS = 3


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
                    rows.append((cells + [""] * len(header))[:len(header)])
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


def read_procedure(record: Record, body: dict) -> Procedure:
    sections, tables = parse_markdown(str(body.get("content") or ""))
    return Procedure(key=record.key, title=record.title, summary=str(body.get("summary") or "").strip(),
                     steps=_steps(body.get("steps")), sections=sections, tables=tables)


# --- One language ------------------------------------------------------------------------------

_HALVES = re.compile(r"\s+/\s+")


def _lean(text: str) -> int:
    """Positive for Turkish, negative for English, by frequent words and by lower-case words
    with Turkish letters (a name such as "İK Portalı" or "A.Ş." says nothing)."""
    score = 0
    for word in re.findall(r"[\wçğıöşüÇĞİÖŞÜ'’]+", text):
        folded = fold(word)
        if folded in _TURKISH_HINTS or (word[:1].islower() and any(ch in _TURKISH_LETTERS for ch in word)):
            score += 1
        elif folded in _ENGLISH_HINTS:
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
    if not ((leans[0] > 0 and leans[1] <= 0 and (leans[1] < 0 or plain[1]))
            or (leans[1] > 0 and leans[0] <= 0 and (leans[0] < 0 or plain[0]))):
        return text
    turkish = halves[0] if leans[0] > 0 else halves[1]
    english = halves[1] if leans[0] > 0 else halves[0]
    return turkish if language == "tr" else english


# --- What the question asks for -----------------------------------------------------------

_HOW = re.compile(
    r"\b(nasıl|nasil|adım\w*|adim\w*|süreç\w*|surec\w*|ne yapmalıyım|ne yapmam gerek\w*|"
    r"how (do|can|should|would) (i|we|you)|how to|what are the steps|which steps|steps|step by step|process for|"
    r"what do i (do|need to do)|what should i do)\b", re.I)
_SUMMARY = re.compile(r"\b(özetle|özetler|özet|ozet|kısaca|kisaca|summari[sz]e|summary|in brief|overview|"
                      r"bullet|bullets|madde(ler|de)?)\b", re.I)
_TABLE_WORDS = re.compile(r"\b(tablo|tabloyu|table|tiers?|kademe|limits|limitleri|oranlar|rates)\b", re.I)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "bir": 1, "iki": 2, "üç": 3, "uc": 3, "dört": 4, "dort": 4, "beş": 5, "bes": 5, "altı": 6,
                 "yedi": 7, "sekiz": 8}


def bullet_count(question: str) -> int:
    match = re.search(r"\b(\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")\s+(bullet|point|madde|cümle|sentence)", question,
                      re.I)
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
        if _MONTHS.match(text[match.end():]):
            value /= 12
        found.append((value, match.end()))
    return found


_UPPER = re.compile(r"^\W*(\S*\s)?(['’]?[a-zçğıöşü]*\s)?(kadar|up to|or less|ve altı|and below|under|altı)", re.I)
_UPPER_OPEN = re.compile(r"^\W*(\S*\s)?(['’]?[a-zçğıöşü]*\s)?(az|less|fewer|below|aşağı|altında)", re.I)
_LOWER_OPEN = re.compile(r"^\W*(\S*\s)?(['’]?[a-zçğıöşü]*\s)?(üzeri|uzeri|fazla|more|above|over|aşan|üstü)", re.I)
_LOWER = re.compile(r"^\W*(\S*\s)?(['’]?[a-zçğıöşü]*\s)?(\(?dahil\)?\s+)?(ve (daha fazla|üzeri|üstü)|or more|and above|"
                    r"and over|\+)", re.I)
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
    text = cell.lower()
    found = numbers(text)
    if not found:
        return None
    bounds = Range()
    between = text[found[0][1]:found[1][1]] if len(found) >= 2 else ""
    if len(found) >= 2 and re.search(r"[-–—]|\bto\b|\bile\b|\bila\b", between):
        bounds.low, bounds.high = found[0][0], found[1][0]
        after = text[found[1][1]:]
        if _UPPER_OPEN.match(after):
            bounds.high_open = True
        return bounds
    for value, end in found[:2]:
        after = text[end:]
        before = text[:end - len(re.findall(r"[\d.,]+", text[:end])[-1])]
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
    tokens = [t for t in tokenize(re.sub(r"\d[\d.,]*\s*\S*", " ", question))
              if t not in _QUESTION_WORDS and t not in _GENERIC]
    words = {t for t in tokens + expand(tokens) if len(t) > 2 and not t.startswith("~")}
    return words | {w for w in map(_restore_vowel, words) if w}


_VOWELS = "aeiou"
_HIGH = {"a": "i", "i": "i", "e": "i", "o": "u", "u": "u"}


def _restore_vowel(stem: str) -> str:
    """The vowel Turkish drops before an ending: "izn" (iznim) is "izin", "sehr" (şehri) "sehir"."""
    if len(stem) < 3 or stem[-1] in _VOWELS or stem[-2] in _VOWELS or stem[-1] == stem[-2]:
        return ""
    last = next((ch for ch in reversed(stem[:-2]) if ch in _VOWELS), "")
    return stem[:-1] + _HIGH[last] + stem[-1] if last else ""


# Words a table's cells share with any question about amounts and durations: they name no topic.
_GENERIC = frozenset(tokenize(
    "kadar üzeri fazla az yıl yıllık ay aylık gün günlük hafta saat tl try eur up to less more than above below "
    "over under days day weeks week months month years year hours ve ile and or the of for en"))


def _glossary_words(question: str) -> set[str]:
    """The other language's words the glossary adds: a strong sign of what is asked."""
    return {t for t in expand(tokenize(question)) if not t.startswith("~")}


def _table_score(table: Table, words: set[str], title: str = "", strong: frozenset[str] | set[str] = frozenset(),
                 about: str = "") -> float:
    """How much of the question's topic the table (its section, headers and cells, the
    procedure's title and ``about``, its summary) speaks of; glossary words count double, a
    word met only by its four-letter prefix ("alımı", "alımlarında") half."""
    text = " ".join([title, about, table.section, *table.header, *(c for row in table.rows for c in row)])
    tokens = set(tokenize(text))
    prefixes = {t[:5] for t in tokens}
    score = 0.0
    for word in words:
        if word in tokens or word[:5] in prefixes:
            score += 2 if word in strong else 1
        elif f"~{fold(word)[:4]}" in tokens:
            score += 0.5
    return score


def _row_for(table: Table, value: float) -> list[str] | None:
    ranges = [parse_range(row[0]) for row in table.rows]
    if sum(r is not None for r in ranges) < max(2, len(table.rows) - 1):
        return None
    matching = [row for row, bounds in zip(table.rows, ranges, strict=True) if bounds is not None and bounds.holds(value)]
    return matching[0] if matching else None


def _heading_fit(table: Table, words: set[str], title: str = "", strong: frozenset[str] | set[str] = frozenset()
                 ) -> float:
    """How much of the question's topic the table's title, section and headers name: what the
    table is about, not what its cells happen to share with the question."""
    return _table_score(Table(table.header, [], table.section), words, title, strong)


def _row_named(table: Table, words: set[str]) -> list[str] | None:
    """The one row whose first cell the question names ("P1", "otel")."""
    named = [row for row in table.rows
             if {t for t in tokenize(row[0]) if len(t) > 1 and not t.startswith("~") and t not in _GENERIC} & words]
    return named[0] if len(named) == 1 else None


def _columns_named(table: Table, words: set[str]) -> list[int]:
    """The value columns the question names ("yurt dışı" of Domestic / International)."""
    overlap = {i: len({t for t in tokenize(head) if len(t) > 1 and not t.startswith("~")} & words)
               for i, head in enumerate(table.header) if i}
    best = max(overlap.values(), default=0)
    return [i for i, count in overlap.items() if best and count == best]


def _question_value(question: str) -> float | None:
    found = [value for value, _ in numbers(question.lower()) if not 1900 <= value <= 2100]
    return found[0] if found else None


def _row_sentence(table: Table, row: list[str], language: str, n: int, columns: list[int] | None = None) -> str:
    def say(text: str) -> str:
        return in_language(text, language)

    first = f"{say(table.header[0])} “{say(row[0])}”" if table.header[0] else f"“{say(row[0])}”"
    keep = columns or list(range(1, len(table.header)))
    rest = "; ".join(f"{say(table.header[i])}: **{say(row[i]).strip('*')}**" if table.header[i]
                     else f"**{say(row[i]).strip('*')}**" for i in keep if i < len(row) and row[i])
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


def steps_answer(procedure: Procedure, language: str, n: int) -> str:
    lead = {"tr": f"{procedure.title}: adımlar [{n}]", "en": f"{procedure.title}: the steps [{n}]"}[language]
    return lead + "\n\n" + "\n".join(f"{i}. {_sentence(in_language(step, language))}"
                                     for i, step in enumerate(procedure.steps, 1))


def summary_answer(procedure: Procedure, language: str, n: int, count: int) -> str:
    pool = []
    if procedure.summary:
        pool += _first_sentences(procedure.summary)[:1]
    for _, text in procedure.sections:
        pool += _first_sentences(text)[:2]
    pool += procedure.steps
    seen, bullets = set(), []
    for sentence in pool:
        key = fold(sentence)[:60]
        if key not in seen:
            seen.add(key)
            bullets.append(_sentence(in_language(sentence, language)))
        if len(bullets) == count:
            break
    lead = {"tr": f"{procedure.title}, kısaca [{n}]:", "en": f"{procedure.title} in brief [{n}]:"}[language]
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
        for table in tables:
            row = _row_for(table, value)
            if row is not None:
                return _row_sentence(table, row, language, n)
        return None
    table = tables[0]
    row = _row_named(table, words | {t for t in tokenize(question) if len(t) > 1 and t not in _GENERIC})
    if row is not None:
        return _row_sentence(table, row, language, n, _columns_named(table, words))
    # The whole table only for a question about what it tabulates ("ihbar süresi" → Notice period).
    fit = _heading_fit(table, words, "", strong)
    if asked_for_table or fit >= 2 or (fit >= 1 and strong & set(tokenize(" ".join(table.header)))):
        return f"{table.section or procedure.title} [{n}]:\n\n{table.markdown()}"
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


def asker_answer(procedure: Procedure, question: str, language: str, n: int, asker: dict,
                 today: dt.date | None = None) -> str | None:
    """A rule the asker's record decides: a table by length of service, applied to the
    asker's start date, saying how the answer follows ("You joined on …"). None when no
    such table or no start date: then the rule is given as it is."""
    today = today or dt.date.today()
    years = _years_since(asker.get("start_date") or "", today)
    if years is None:
        return None
    words, strong = _topic_words(question), _glossary_words(question)
    tables = [t for t in procedure.tables if t.header and _SERVICE.search(t.header[0])
              and _heading_fit(t, words, procedure.title, strong) >= 1]
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
        extra = next((_sentence(line.strip(" -*")) for line in _section_text(procedure, table.section).splitlines()
                      if _ADDS.search(line) and numbers(line.lower())), None)
        extra = re.sub(r"[*]", "", extra) if extra else ""
        total = _total(" ".join(row[1:]), extra, language)
        return " ".join(part for part in (lead, rule, f"{extra} [{n}]" if extra else "", total) if part)
    return None


_UNIT = re.compile(r"(\d+)\s*(gün|iş günü|days?|business days?|hafta|weeks?)\b", re.I)


def _total(rule: str, extra: str, language: str) -> str:
    """"20 gün" and "2 gün şirket izni" make "In all: 22 gün" — only for one and the same unit."""
    first, second = _UNIT.search(rule), _UNIT.search(extra)
    if not first or not second or fold(first.group(2)) != fold(second.group(2)):
        return ""
    amount = int(first.group(1)) + int(second.group(1))
    return f"Toplam: **{amount} {first.group(2)}**." if language == "tr" else f"In all: **{amount} {first.group(2)}**."


def _section_text(procedure: Procedure, title: str) -> str:
    return "\n".join(text for heading, text in procedure.sections if heading == title)


def wants_procedure(question: str) -> bool:
    """Whether the question asks for steps or a summary: a procedure's answer, even where
    the records also have one (a department of the same name)."""
    return bool(_HOW.search(question) or _SUMMARY.search(question))


def procedure_answer(*, question: str, language: str, sources: list[Source], snapshot: Snapshot,
                     asker_key: str = "", mine: bool = False) -> tuple[str, Source] | None:
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
            body = snapshot.shown_body(record)
            tables = read_procedure(record, body).tables
            return max((_table_score(t, words, record.title, strong, str(body.get("summary") or ""))
                        for t in tables), default=0)

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
            return sum(1 for w in words if w in tokens or w[:5] in prefixes)

        top = max(candidates, key=named)
    record = snapshot.by_key().get(top.key)
    if record is None:
        return None
    procedure = read_procedure(record, snapshot.shown_body(record))
    language = language if language in ("tr", "en") else "en"
    source = Source(n=1, key=top.key, doc_type=top.doc_type, title=top.title, score=top.score, passages=top.passages)
    if _SUMMARY.search(question):
        return summary_answer(procedure, language, 1, bullet_count(question)), source
    if procedure.steps and _HOW.search(question) and _question_value(question) is None:
        return steps_answer(procedure, language, 1), source
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
            other = procedure if candidate.key == procedure.key else read_procedure(record, snapshot.shown_body(record))
            fit = max((_table_score(t, words, other.title, strong) for t in other.tables), default=0)
            found.append((fit, -candidate.n, candidate, other))
        for _, _, candidate, other in sorted(found, key=lambda f: f[:2], reverse=True):
            answer = asker_answer(other, question, language, 1, snapshot.shown_body(asker))
            if answer is not None:
                return answer, Source(n=1, key=candidate.key, doc_type=candidate.doc_type, title=candidate.title,
                                      score=candidate.score, passages=candidate.passages)
    if procedure.tables:
        answer = table_answer(procedure, question, language, 1)
        if answer is not None:
            return answer, source
    return None
