"""What a question is about, in Turkish or English: the documents it names, the
types and fields its words stand for, the values it filters by, the asker
("my manager", "yöneticim") and whether it counts, lists or follows up.

Everything is read from the doctype declarations (their ``terms``) and from the
data the asker may see (names, codes, skills, cities…): nothing here knows a
particular company. A word matches a term in its inflected forms ("leads",
"yöneticisi", "projelerim"); names also match in their Turkish case forms
("Ayşe'nin", "Kervanı"), without Turkish letters ("Ayse Yilmaz") and with one
typo in a longer name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from knowledge.doctypes import CHOICE, DATE, DOC_TYPES, LIST, STR
from knowledge.queries import Record, Snapshot
from knowledge.text import fold

from .glossary import word_translations
from .phrasing import LANGUAGES
from .text import detect_language

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
_YEAR = re.compile(r"^(19[5-9]\d|20\d\d)$")

# Words that carry no subject: question words, articles, auxiliaries (folded).
FUNCTION_WORDS = frozenset(
    fold(w)
    for w in """
a an the and or of to in on at by for with from is are was were be been being it its this that these those as do
does did has have had what which who whom whose when where why how many much all any every each list show tell
me give please can could would should will there their them they he she his her him our we you your i my mine
about also else other others only just currently now still ever yet than more most less least some no not
ve veya ile bir bu şu o da de ki mi mı mu mü için gibi ama ya ne neler nedir kim kimdir kimler kime kimin kimi
hangi hangisi hangileri kaç kaçı nasıl neden niçin nerede nereye zaman mıdır midir var yok olan olarak şu an
şimdi tüm bütün hepsi listele göster söyle bana beni benim ben bize biz sen siz onun ona onu onlar onların peki
başka diğer ayrıca daha en çok az acaba lütfen hakkında ile
""".split()
)

# Words that refer back to something named before. "What", "about" and "also" alone do not:
# "What is the policy on…?" is no follow-up; "What about KERVAN?" is, as a phrase.
FOLLOW_UP_WORDS = frozenset(
    fold(w)
    for w in """
he she his her hers him it its they them their
o onu onun ona ondan onda onlar onları onların onlara bunun buna bunu bunlar bunların şunun peki
bunlardan onlardan içlerinden
""".split()
)
FOLLOW_UP_PHRASES = ("what about", "how about", "and what about", "ya peki", "peki ya")
# "that project", "her project", "onun projesi": the one the conversation is about.
DEMONSTRATIVES = frozenset(fold(w) for w in "that this those these same his her their its bu şu o aynı onun".split())
ELSE_WORDS = frozenset(fold(w) for w in "else other others besides başka diğer dışında".split())
OF_THEM_WORDS = frozenset(fold(w) for w in "them they those these bunlardan onlardan içlerinden bunların onların".split())
COUNT_PHRASES = ("how many", "number of", "count", "kaç", "sayısı", "kaç tane", "kaç kişi")
LIST_PHRASES = (
    "list",
    "all",
    "every",
    "which",
    "who are",
    "name the",
    "show",
    "listele",
    "tüm",
    "bütün",
    "hangi",
    "kimler",
    "hepsi",
    "sırala",
)
OR_WORDS = frozenset(fold(w) for w in "or veya yahut".split())
ASKER_WORDS = frozenset(fold(w) for w in "my me i mine myself im i'm benim ben bana beni bende".split())
BEFORE_WORDS = frozenset(fold(w) for w in "before until prior önce öncesinde kadar".split())
AFTER_WORDS = frozenset(fold(w) for w in "after since sonra itibaren beri".split())
MOST_PHRASES = ("the most", "most", "largest", "biggest", "en çok", "en fazla", "en büyük", "en kalabalık")
FEWEST_PHRASES = ("the fewest", "fewest", "least", "smallest", "en az", "en küçük")
NEWEST_PHRASES = ("newest", "latest", "most recent", "most recently", "last", "en yeni", "en son", "en genç")
OLDEST_PHRASES = (
    "oldest",
    "earliest",
    "first",
    "longest",
    "longest-serving",
    "most senior",
    "en eski",
    "ilk",
    "en uzun",
    "en kıdemli",
)

# Turkish case and possessive endings a name or value may carry without an apostrophe.
_NAME_SUFFIX = re.compile(
    r"^(?:n?(?:in|un)|y?(?:e|a|i|u)|[dt](?:e|a)|[dt](?:en|an)|y?l(?:e|a)|s?i|s?u|s?in(?:in|e|de|den|i)?|s?un(?:un|a|da|dan|u)?"
    r"|ler|lar|leri|lari|lerin|larin|s)$"
)
# First person possessive ("yöneticim", "projelerimde", "müdürümün") and verb ("çalışıyorum", "aldım").
_MY_SUFFIX = re.compile(r"^(?:ler|lar)?(?:i|u)?m(?:iz|uz)?(?:i|u|e|a|in|un|de|da|den|dan|le|la)?$")
_MY_VERB = re.compile(r"(?:yorum|yoruz|[dt][iu]m|[dt][iu]k|(?:i|u)m)$")
# Third person possessive ("müşterisi", "yöneticisi", "ekibi", "lideri").
_THEIR_SUFFIX = re.compile(r"^(?:ler|lar)?(?:s?i|s?u)(?:n(?:in|un|e|a|de|da|i|u))?$")


@dataclass(frozen=True)
class Word:
    i: int
    text: str  # as typed, apostrophe suffix removed
    base: str  # folded
    suffix: str  # folded suffix after an apostrophe ("Ayşe'nin" → "nin")
    capital: bool


def split_words(question: str) -> list[Word]:
    result = []
    for i, token in enumerate(_WORD.findall(question)):
        head, _, tail = token.replace("’", "'").partition("'")
        result.append(Word(i=i, text=head, base=fold(head), suffix=fold(tail), capital=head[:1].isupper()))
    return result


def _phrase(text: str) -> tuple[str, ...]:
    return tuple("*" if w == "*" else fold(w) for w in re.findall(r"\*|[^\W_]+(?:['’][^\W_]+)?", text.replace("'", " ")))


def term_word_matches(word: Word, term_word: str) -> str | None:
    """How ``word`` carries ``term_word``: "" for the word itself, the ending it
    adds ("lerim" for "projelerim"), or None."""
    base = word.base
    if base == term_word:
        return ""
    if _base_carries(base, term_word):
        return base[len(term_word) :]
    return None


@dataclass(frozen=True)
class TermHit:
    """A field or type named by words ``start``…``end`` (exclusive)."""

    doc_type: str
    field: str  # "" for a type
    reverse: bool
    start: int
    end: int
    score: int  # letters matched: longer terms win
    mine: bool = False  # carried a first-person ending ("yöneticim", "çalışıyorum")
    theirs: bool = False  # carried a third-person possessive ("müşterisi", "yöneticisi"): about someone named before


@dataclass(frozen=True)
class NameHit:
    records: tuple[Record, ...]
    start: int
    end: int
    quality: int  # 3 full name or code, 2 a name part, 1 a typo


@dataclass(frozen=True)
class ValueHit:
    doc_type: str
    field: str
    value: str  # as stored (a list item, a whole value or one word of it)
    op: str  # "eq", "has"
    start: int
    end: int
    negated: bool = False  # "not completed", "Ankara dışındaki", "Python bilmeyen"


@dataclass
class Analysis:
    question: str
    language: str
    words: list[Word]
    names: list[NameHit] = field(default_factory=list)
    terms: list[TermHit] = field(default_factory=list)
    values: list[ValueHit] = field(default_factory=list)
    years: list[tuple[int, str]] = field(default_factory=list)  # (year, "year" | "before" | "after")
    mine: bool = False
    count: bool = False
    listing: bool = False
    who: bool = False
    else_: bool = False
    of_them: bool = False
    any_of: bool = False
    newest: bool = False
    oldest: bool = False
    pronoun: bool = False
    every: bool = False  # "all", "tüm": the whole type, not one document
    list_words: bool = False  # "list", "which", "hangi": the items are asked for, not only their number
    most: str = ""  # "most" or "fewest": which of a type has the most (or fewest) of another
    pointed: set = field(default_factory=set)  # types named after "that", "bu" ("that project"): the one discussed

    @property
    def entities(self) -> list[Record]:
        out: list[Record] = []
        for hit in self.names:
            if len(hit.records) == 1 and hit.records[0] not in out:
                out.append(hit.records[0])
        return out

    @property
    def ambiguous(self) -> list[NameHit]:
        return [h for h in self.names if len(h.records) > 1]

    def type_terms(self) -> list[TermHit]:
        return [t for t in self.terms if not t.field]

    def field_terms(self) -> list[TermHit]:
        return [t for t in self.terms if t.field]

    def content_words(self) -> int:
        used = {i for h in self.names for i in range(h.start, h.end)}
        used |= {i for h in self.terms for i in range(h.start, h.end)}
        return sum(1 for w in self.words if w.i not in used and w.base not in FUNCTION_WORDS and not w.base.isdigit())


# --- Terms of the schema ----------------------------------------------------------


@lru_cache(maxsize=1)
def _schema_terms() -> tuple[tuple[tuple[str, ...], str, str, bool], ...]:
    """(words, doc_type, field, reverse) for every term of every type and field."""
    out = []
    for doctype in DOC_TYPES.values():
        for term in doctype.terms:
            out.append((_phrase(term), doctype.name, "", False))
        for spec in doctype.fields:
            for term in spec.terms:
                out.append((_phrase(term), doctype.name, spec.name, False))
            for term in spec.reverse_terms:
                out.append((_phrase(term), doctype.name, spec.name, True))
    return tuple(t for t in out if t[0])


@lru_cache(maxsize=1)
def _choice_terms() -> tuple[tuple[tuple[str, ...], str, str, str], ...]:
    out = []
    for doctype in DOC_TYPES.values():
        for spec in doctype.fields:
            if spec.kind != CHOICE:
                continue
            for choice in spec.choices:
                out.append((_phrase(choice.replace("_", " ")), doctype.name, spec.name, choice))
            for choice, terms in spec.choice_terms:
                out += [(_phrase(t), doctype.name, spec.name, choice) for t in terms]
    return tuple(out)


@lru_cache(maxsize=1)
def term_vocabulary() -> frozenset[str]:
    """Every folded word used by a term: such words never name a document."""
    words = {w for phrase, *_ in _schema_terms() for w in phrase}
    words |= {w for phrase, *_ in _choice_terms() for w in phrase}
    return frozenset(words)


def _match_gapped(words: list[Word], start: int, phrase: tuple[str, ...]) -> tuple[int, str, int] | None:
    """A term with a gap ("how much * make"): ``*`` stands for up to four words."""
    gap = phrase.index("*")
    before, after = phrase[:gap], phrase[gap + 1 :]
    head = _match_phrase(words, start, before)
    if head is None:
        return None
    for skip in range(0, 5):
        tail_start = start + len(before) + skip
        tail = _match_phrase(words, tail_start, after)
        if tail is not None:
            return head[0] + tail[0], tail[1], tail_start + len(after)
    return None


def _match_phrase(words: list[Word], start: int, phrase: tuple[str, ...]) -> tuple[int, str] | None:
    """(letters matched, ending of the last word) when ``phrase`` starts at ``start``."""
    if start + len(phrase) > len(words):
        return None
    ending = ""
    for j, term_word in enumerate(phrase):
        ending = term_word_matches(words[start + j], term_word)
        if ending is None and j == len(phrase) - 1 and j > 0 and len(term_word) == 2:
            base = words[start + j].base
            ending = base[2:] if base.startswith(term_word) and len(base) <= 10 else None
        if ending is None:
            return None
    return sum(len(w) for w in phrase), ending


def _base_carries(base: str, term_word: str) -> bool:
    """Whether a word folded to ``base`` carries ``term_word`` (``term_word_matches``)."""
    return base == term_word or (len(term_word) >= 3 and base.startswith(term_word) and len(base) - len(term_word) <= 6)


@lru_cache(maxsize=8192)
def _terms_from(base: str) -> tuple[tuple[tuple[str, ...], str, str, bool], ...]:
    """The schema terms a phrase starting with a word folded to ``base`` may be, in their order:
    those whose first word it carries, and those that start with a gap."""
    return tuple(t for t in _schema_terms() if t[0][0] == "*" or _base_carries(base, t[0][0]))


@lru_cache(maxsize=8192)
def _choices_from(base: str) -> tuple[tuple[tuple[str, ...], str, str, str], ...]:
    return tuple(t for t in _choice_terms() if not t[0] or _base_carries(base, t[0][0]))


def _find_terms(words: list[Word]) -> tuple[list[TermHit], list[tuple[str, str, str, int, int]]]:
    terms: list[TermHit] = []
    for start in range(len(words)):
        # Only the terms whose first word this one can carry: ``_match_phrase`` would refuse the rest.
        for phrase, doc_type, field_name, reverse in _terms_from(words[start].base):
            if "*" in phrase:
                gapped = _match_gapped(words, start, phrase)
                if gapped is None:
                    continue
                score, ending, end = gapped
                # The words in the gap are the subject ("how much does Kaan make"): only the ends are the term.
                terms.append(TermHit(doc_type, field_name, reverse, end - 1, end, score))
                continue
            found = _match_phrase(words, start, phrase)
            if found is None:
                continue
            score, ending = found
            mine = bool(ending) and (bool(_MY_SUFFIX.match(ending)) or bool(_MY_VERB.search(ending)))
            theirs = bool(ending) and bool(_THEIR_SUFFIX.match(ending))
            terms.append(TermHit(doc_type, field_name, reverse, start, start + len(phrase), score, mine, theirs))
    choices = []
    for start in range(len(words)):
        for phrase, doc_type, field_name, choice in _choices_from(words[start].base):
            if _match_phrase(words, start, phrase) is not None:
                choices.append((doc_type, field_name, choice, start, start + len(phrase)))
    return terms, choices


# --- Names and values from the data ------------------------------------------------

_PARTS = re.compile(r"[()/]|\s[-–—:]\s|\s&\s")


@dataclass
class Lexicon:
    """Names and matchable values of one snapshot of the documents."""

    names: dict[tuple[str, ...], list[tuple[Record, int]]]
    values: dict[tuple[str, ...], list[tuple[str, str, str, str]]]  # words → (doc_type, field, value, op)
    longest_name: int
    longest_value: int
    prefixes: dict[str, list[str]] = field(default_factory=dict)  # first four letters → one-word values
    acronyms: set = field(default_factory=set)  # initials of unit names, matched only in capitals
    by_first: dict = field(default_factory=dict)  # first word → values of several words
    by_length: dict = field(default_factory=dict)  # number of words → names of that length
    _names_from: dict = field(default_factory=dict, repr=False)

    def names_from(self, length: int, base: str) -> list[tuple[str, ...]]:
        """Names of ``length`` words whose first word a word folded to ``base`` may be: the same
        first two letters, or one typo away. Remembered: questions share most of their words."""
        key = (length, base)
        found = self._names_from.get(key)
        if found is None:
            if len(self._names_from) > 50_000:
                self._names_from.clear()
            found = self._names_from[key] = [
                p for p in self.by_length.get(length, []) if p[0][:2] == base[:2] or _one_edit(base[: len(p[0])], p[0])
            ]
        return found


def lexicon_for(snapshot: Snapshot) -> Lexicon:
    """The snapshot's lexicon, built once per snapshot."""
    lexicon = snapshot.memo.get("lexicon")
    if lexicon is None:
        lexicon = snapshot.memo["lexicon"] = _build_lexicon(snapshot)
    return lexicon


def _build_lexicon(snapshot: Snapshot) -> Lexicon:
    vocabulary = term_vocabulary()
    names: dict[tuple[str, ...], list[tuple[Record, int]]] = {}

    def add(phrase: tuple[str, ...], record: Record, quality: int) -> None:
        if not phrase or all(w in FUNCTION_WORDS for w in phrase):
            return
        entries = names.setdefault(phrase, [])
        if all(r.key != record.key for r, _ in entries):
            entries.append((record, quality))

    single_counts: dict[str, set[str]] = {}
    acronyms: set[tuple[str, ...]] = set()
    for record in snapshot.records:
        title = record.title
        add(_phrase(title), record, 3)
        parts = [p.strip() for p in _PARTS.split(title) if p and p.strip()]
        for part in parts:
            phrase = _phrase(part)
            if len(phrase) >= 2 or (phrase and len(phrase[0]) >= 2 and len(parts) > 1):
                add(phrase, record, 3)
            significant = [w for w in phrase if w not in FUNCTION_WORDS]
            if len(significant) >= 2 and record.doc_type != "employee":
                # Initials of a unit's name ("İK", "HR"), matched only when written in capitals.
                acronym = ("".join(w[0] for w in significant),)
                add(acronym, record, 2)
                acronyms.add(acronym)
        code = record.body.get("code")
        if isinstance(code, str) and code.strip():
            add(_phrase(code), record, 3)
        if record.doc_type == "employee":
            for name_field in ("first_name", "last_name"):
                value = record.body.get(name_field)
                if isinstance(value, str) and value.strip():
                    add(_phrase(value), record, 2)
        else:
            for word in _phrase(title):
                if len(word) >= 4 and word not in FUNCTION_WORDS and word not in vocabulary:
                    single_counts.setdefault(word, set()).add(record.key)
    by_key = snapshot.by_key()
    for word, keys in single_counts.items():
        if len(keys) == 1:
            add((word,), by_key[next(iter(keys))], 2)

    values: dict[tuple[str, ...], list[tuple[str, str, str, str]]] = {}
    for doctype in DOC_TYPES.values():
        matchable = [f for f in doctype.fields if f.matchable and not (f.sensitive and not snapshot.hr)]
        for record in snapshot.of_type(doctype.name):
            for spec in matchable:
                value = record.body.get(spec.name)
                items = value if spec.kind == LIST and isinstance(value, list) else [value]
                for item in items:
                    if not isinstance(item, str) or not item.strip():
                        continue
                    entry = (doctype.name, spec.name, item, "eq")
                    phrase = _phrase(item)
                    if phrase and entry not in values.setdefault(phrase, []):
                        values[phrase].append(entry)
                    if len(item) == 2 and item.lower() in LANGUAGES:
                        # Languages stored as codes are asked for by name ("German", "Almanca").
                        for name in LANGUAGES[item.lower()]:
                            alias = _phrase(name)
                            if entry not in values.setdefault(alias, []):
                                values[alias].append(entry)
                    if len(phrase) > 1:
                        # A part of a value written in parentheses or after a slash ("CTO" of
                        # "CTO (Chief Technology Officer)", "Data Engineer" of "Veri Mühendisi (Data Engineer)").
                        for part in _PARTS.split(item):
                            part_phrase = _phrase(part)
                            if part_phrase and part_phrase != phrase:
                                entry = (doctype.name, spec.name, part.strip(), "has")
                                if entry not in values.setdefault(part_phrase, []):
                                    values[part_phrase].append(entry)
                        # Two words of a longer one ("Team Lead" of "Frontend Team Lead").
                        originals = _WORD.findall(item.replace("'", " "))
                        if spec.kind == STR and len(originals) >= 3:
                            for j in range(len(originals) - 1):
                                pair = tuple(fold(w) for w in originals[j : j + 2])
                                if not set(pair) & FUNCTION_WORDS:
                                    entry = (doctype.name, spec.name, " ".join(originals[j : j + 2]), "has")
                                    if entry not in values.setdefault(pair, []):
                                        values[pair].append(entry)
                        # One word of a longer value ("Engineer" of "Senior Software Engineer").
                        for original in _WORD.findall(item.replace("'", " ")):
                            word = fold(original)
                            if (len(word) < 4 and not (original.isupper() and len(original) >= 2)) or word in FUNCTION_WORDS:
                                continue
                            existing = values.setdefault((word,), [])
                            if not any(e[0] == doctype.name and e[1] == spec.name and e[3] == "has" for e in existing):
                                existing.append((doctype.name, spec.name, original, "has"))
    by_length: dict[int, list[tuple[str, ...]]] = {}
    for phrase in names:
        by_length.setdefault(len(phrase), []).append(phrase)
    by_first: dict[str, list[tuple[str, ...]]] = {}
    for phrase in values:
        if len(phrase) >= 2:
            by_first.setdefault(phrase[0], []).append(phrase)
    prefixes: dict[str, list[str]] = {}
    for phrase in values:
        if len(phrase) == 1 and len(phrase[0]) >= 4:
            prefixes.setdefault(phrase[0][:4], []).append(phrase[0])
    return Lexicon(
        names=names,
        values=values,
        longest_name=max((len(p) for p in names), default=1),
        longest_value=max((len(p) for p in values), default=1),
        prefixes=prefixes,
        acronyms=acronyms,
        by_first=by_first,
        by_length=by_length,
    )


def _name_word_matches(word: Word, name_word: str) -> int:
    """2 exact (or with a case ending), 1 one typo away, 0 no."""
    base = word.base
    if base == name_word:
        return 2
    if base.startswith(name_word) and len(name_word) >= 3 and _NAME_SUFFIX.match(base[len(name_word) :]):
        return 2
    # Turkish drops or softens a final consonant before an ending: "Kervanı", "Çınar'ın" are covered above;
    # "Ekibi" for "ekip" is not a name.
    if len(name_word) >= 5 and len(base) >= 5 and _one_edit(base, name_word):
        return 1
    return 0


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1 or (
            len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
        )
    if len(a) < len(b):
        a, b = b, a
    for i in range(len(a)):
        if a[:i] + a[i + 1 :] == b:
            return True
    return False


def _find_names(words: list[Word], lexicon: Lexicon, vocabulary: frozenset[str]) -> list[NameHit]:
    hits: list[NameHit] = []
    for start in range(len(words)):
        for length in range(min(lexicon.longest_name, len(words) - start), 0, -1):
            window = words[start : start + length]
            # Candidate phrases are looked up exactly first, then word by word for endings and typos.
            exact = tuple(w.base for w in window)
            candidates = [exact] if exact in lexicon.names else lexicon.names_from(length, window[0].base)
            for phrase in candidates:
                scores = [_name_word_matches(w, p) for w, p in zip(window, phrase, strict=True)]
                if 0 in scores:
                    continue
                typos = scores.count(1)
                if typos > 1 or (typos and length == 1 and len(phrase[0]) < 6):
                    continue
                if phrase in lexicon.acronyms and not window[0].text.isupper():
                    continue
                entries = lexicon.names[phrase]
                quality = min(q for _, q in entries) - typos
                acronym = phrase in lexicon.acronyms  # written in capitals (checked above): the unit's initials
                if (
                    length == 1
                    and not acronym
                    and not _plausible_single(window[0], phrase[0], entries, vocabulary, lexicon.values)
                ):
                    continue
                hits.append(NameHit(tuple(r for r, _ in entries), start, start + length, quality))
    return _non_overlapping(hits)


def _plausible_single(
    word: Word, name_word: str, entries: list[tuple[Record, int]], vocabulary, values: dict | None = None
) -> bool:
    """One word alone names a document only when it is not an ordinary word of the
    question: written with a capital (and not only because it starts the sentence),
    or a project code, or a word no term uses."""
    if name_word in FUNCTION_WORDS:
        return False
    is_code = any(fold(str(r.body.get("code") or "")) == name_word for r, _ in entries)
    if is_code and len(name_word) >= 3:
        return True
    if word.base in vocabulary or name_word in vocabulary:
        return False
    if values and (name_word,) in values and all(q < 3 for _, q in entries):
        return False  # "internal projects": a value of the data, not the "Internal" of a title
    if word.capital and (word.i > 0 or word.suffix):
        return True
    if word.capital and word.text.isupper() and len(word.text) >= 2:
        return True  # an abbreviation ("İK", "HR", "ATLAS")
    if word.i == 0 and word.capital and len(name_word) >= 4:
        # "Ayşe'nin…" is covered by the suffix; "Ayşe hangi…" starts with the name.
        return True
    if all(r.doc_type != "employee" for r, _ in entries):
        # "the data team": a one-word part of a unit's name ("Data & AI"), or a distinctive word of it.
        return len(name_word) >= 5 or (len(name_word) >= 4 and any(q >= 3 for _, q in entries))
    return False


def _non_overlapping(hits: list) -> list:
    hits = sorted(hits, key=lambda h: (-(h.end - h.start), -getattr(h, "quality", 0), h.start))
    taken: set[int] = set()
    kept = []
    for hit in hits:
        span = set(range(hit.start, hit.end))
        if span & taken:
            continue
        taken |= span
        kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


def _find_values(words: list[Word], lexicon: Lexicon, used: set[int]) -> list[ValueHit]:
    hits: list[ValueHit] = []
    for start in range(len(words)):
        if start in used:
            continue
        for length in range(min(lexicon.longest_value, len(words) - start), 0, -1):
            window = words[start : start + length]
            if any(w.i in used for w in window):
                continue
            keys = [tuple(w.base for w in window)]
            if length == 1:
                keys += [(t,) for t in word_translations(window[0].base)]
                stripped = strip_ending(window[0].base)
                if stripped:
                    keys.append((stripped,))
                    keys += [(t,) for t in word_translations(stripped)]
                # The data's own inflection of the word ("Mühendisi" for "mühendisler").
                stem = stripped or window[0].base
                keys += [
                    (w,)
                    for w in lexicon.prefixes.get(stem[:4], [])
                    if w != stem
                    and len(stem) >= 5
                    and (w.startswith(stem) and len(w) - len(stem) <= 2 or stem.startswith(w) and len(stem) - len(w) <= 2)
                ]
            for key in keys:
                for doc_type, field_name, value, op in lexicon.values.get(key, []):
                    if length == 1 and window[0].base in FUNCTION_WORDS:
                        continue
                    # Short values ("Go", "SQL", "AWS") only as written, so "go" is not Go.
                    if len(key[0]) <= 3 and length == 1 and window[0].text != value and window[0].text.upper() != value:
                        continue
                    hits.append(ValueHit(doc_type, field_name, value, op, start, start + length))
            if any(h.start == start for h in hits):
                break
    return hits


def _find_phrase_values(words: list[Word], lexicon: Lexicon, named: set[int]) -> list[ValueHit]:
    """Values of two or more words, each word as written or with an ending ("genel müdürü")."""
    hits: list[ValueHit] = []
    for start, word in enumerate(words):
        if start in named:
            continue
        for phrase in sorted(lexicon.by_first.get(word.base, ()), key=len, reverse=True):
            end = start + len(phrase)
            if end > len(words) or any(i in named for i in range(start, end)):
                continue
            if all(_name_word_matches(words[start + j], w) == 2 for j, w in enumerate(phrase)):
                for doc_type, field_name, value, op in lexicon.values[phrase]:
                    hits.append(ValueHit(doc_type, field_name, value, op, start, end))
                break
    return _non_overlapping_values(hits)


def _non_overlapping_values(hits: list[ValueHit]) -> list[ValueHit]:
    spans = _non_overlapping([_Span(h.start, h.end) for h in hits])
    keep = {(s.start, s.end) for s in spans}
    return [h for h in hits if (h.start, h.end) in keep]


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


def strip_ending(base: str) -> str:
    """A plural or Turkish case ending taken off a word ("engineers", "Ankarada")."""
    for ending in (
        "lerin",
        "larin",
        "leri",
        "lari",
        "ler",
        "lar",
        "den",
        "dan",
        "ten",
        "tan",
        "de",
        "da",
        "te",
        "ta",
        "ye",
        "ya",
        "es",
        "s",
        "e",
        "a",
        "i",
        "u",
        "yi",
        "yu",
    ):
        if base.endswith(ending) and len(base) - len(ending) >= 3:
            return base[: -len(ending)]
    return ""


TURKISH_WORDS = frozenset(
    fold(w)
    for w in """
kim kimdir kimler kimin kime kimi hangi hangisi hangileri kaç kaçı nedir neler nerede nereye nasıl neden mı mi mu mü
var yok ve ile bir bu şu için olan olarak benim bana beni ben bizim peki ya da de ki mu midir mıdır değil gibi
listele göster söyle tüm bütün hepsi başka diğer ayrıca şu an şimdi bilen çalışan çalışıyor yönetiyor kaçta
""".split()
)
ENGLISH_WORDS = frozenset(
    """
what who whom whose which how when where why is are was were the a an of in on at to for does do did my me i
list show tell all any every there their they it its this that and or with from know knows work works lead leads
""".split()
)


# "who's", "don't", "we're": English, although written with an apostrophe like "Ayşe'nin".
_CONTRACTIONS = frozenset({"s", "t", "re", "ll", "ve", "d", "m"})
# Endings only Turkish words have (folded): "getirebilir", "miyim", "çalışıyor", "gerekiyor", "olmalı".
_TURKISH_ENDING = re.compile(r"(?:[iu]yor(?:um|uz|sun|lar)?|[ea]bilir|m[iu]y[iu]m|m[iu]s[iu]n|meli|mali|m[iu]y[iu]z)$")


# Phrasings that say what a question is about ("the policy on X", "is there a X", "X var mı?"):
# when X holds a word no document has, nothing answers the question.
_STOP = r"(?=\s+(?:on|in|at|for|of|to|from|with|by|during|when|if|and|or|that|which|who|whose|besides)\b|\s*[?.,!]|$)"
_HEADS = {
    "en": tuple(
        re.compile(p, re.IGNORECASE)
        for p in (
            r"\b(?:policy|policies|rules?|guidelines?)\s+(?:on|for|about|regarding)\s+(?:the\s+|our\s+)?(?P<x>[\w\- ]+?)" + _STOP,
            r"\bis there (?:a|an|any)\s+(?P<x>[\w\- ]+?)" + _STOP,
            r"\bare there (?:any\s+)?(?P<x>[\w\- ]+?)" + _STOP,
            r"\bdo(?:es)? (?:we|i|the company|our company) (?:have|get|offer|provide|give|pay for)\s+(?:a |an |any )?"
            r"(?P<x>[\w\- ]+?)" + _STOP,
            r"\bcan i (?:bring|get|have|use)\s+(?:a |an |my )?(?P<x>[\w\- ]+?)" + _STOP,
            r"^what(?:'s| is) the (?P<x>[\w\- ]+?)" + _STOP,
        )
    ),
    "tr": tuple(
        re.compile(p, re.IGNORECASE)
        for p in (
            r"(?P<x>[\w]+(?:\s+[\w]+)?)\s+(?:var mı|var mi|mevcut mu|sağlanıyor mu|veriliyor mu|tahsis ediliyor mu|"
            r"karşılanıyor mu)\b",
            r"(?P<x>[\w]+)\s+(?:ücreti|fiyatı|politikası|kuralları)\b",
            r"(?P<x>[\w]+(?:\s+[\w]+)?)\s+getirebilir miyim",
        )
    ),
}


def topic_head(question: str, language: str) -> str:
    """The words a question says it is about, when it is phrased so that says it
    ("What is the policy on pets…?" → "pets"); empty otherwise."""
    for pattern in _HEADS.get(language, ()):
        match = pattern.search(question.strip())
        if match:
            return match.group("x").strip()
    return ""


_NOT_BEFORE = frozenset(fold(w) for w in "not no non except excluding besides without isn't aren't don't doesn't".split())
_NOT_AFTER = re.compile(r"^(?:disinda|disindaki|haric|harici|olmayan|olmayanlar|degil|disinda(?:ki)?ler)$")
_NOT_VERB = re.compile(r"(?:m[ea]yen|m[ea]yenler|m[ea]z|m[iu]yor)$")  # "bilmeyen", "bilmiyor", "kullanmayan"


# Words that mean "not" a value the data holds: "external clients" are those whose client is not "Internal".
ANTONYMS = {
    "external": ("internal", "dahili", "ic"),
    "harici": ("internal", "dahili", "ic"),
    "dis": ("internal", "dahili", "ic"),
    "outside": ("internal",),
}


def _antonyms(words: list[Word], lexicon: Lexicon, used: set[int]) -> list[ValueHit]:
    hits = []
    for word in words:
        if word.i in used or word.base not in ANTONYMS:
            continue
        for opposite in ANTONYMS[word.base]:
            for doc_type, field_name, value, op in lexicon.values.get((opposite,), []):
                if op == "eq":
                    hits.append(ValueHit(doc_type, field_name, value, op, word.i, word.i + 1, True))
    return hits


def _negated(hit: ValueHit, words: list[Word]) -> ValueHit:
    """A value the question excludes: "not" or "except" a word or two before it, "dışında",
    "hariç", "olmayan" right after it, or a negative verb after it ("Python bilmeyenler")."""
    window = words[max(0, hit.start - 3) : hit.start]
    before = {w.base for w in window} | {w.base + "'" + w.suffix for w in window if w.suffix}
    after = words[hit.end : hit.end + 2]
    negated = (
        bool(before & _NOT_BEFORE)
        or any(_NOT_AFTER.match(w.base) for w in after)
        or any(_NOT_VERB.search(w.base) and len(w.base) > 4 for w in after[:1])
    )
    if not negated:
        return hit
    return ValueHit(hit.doc_type, hit.field, hit.value, hit.op, hit.start, hit.end, True)


def _language(question: str, words: list[Word], names: set[int]) -> str:
    """The question's language, judged without the names and values in it: "What
    is Ayşe Yılmaz's salary?" is English although the name has Turkish letters."""
    rest = [w for w in words if w.i not in names]
    if any(ch in "çğışöüÇĞİŞÖÜ" for w in rest for ch in w.text) or any(w.suffix and w.suffix not in _CONTRACTIONS for w in rest):
        return "tr"
    tr = sum(w.base in TURKISH_WORDS or bool(_TURKISH_ENDING.search(w.base)) for w in rest)
    en = sum(w.base in ENGLISH_WORDS for w in rest)
    if tr != en:
        return "tr" if tr > en else "en"
    return detect_language(question)


def _has_phrase(words: list[Word], phrases) -> bool:
    for phrase in phrases:
        folded = _phrase(phrase)
        for start in range(len(words) - len(folded) + 1):
            if all(words[start + j].base == w for j, w in enumerate(folded)):
                return True
    return False


def analyse(question: str, snapshot: Snapshot) -> Analysis:
    words = split_words(question)
    analysis = Analysis(question=question, language=detect_language(question), words=words)
    lexicon = lexicon_for(snapshot)
    vocabulary = term_vocabulary()
    analysis.names = _find_names(words, lexicon, vocabulary)
    named = {i for h in analysis.names for i in range(h.start, h.end)}
    terms, choices = _find_terms(words)
    analysis.terms = [t for t in terms if not set(range(t.start, t.end)) & named]
    # "the ATLAS project", "Data & AI department", "KERVAN projesi": the type word only says what
    # the name next to it is; it asks for nothing.
    labels = set()
    for t in analysis.terms:
        if not t.field and any(
            t.doc_type in {r.doc_type for r in h.records}
            and t.start in (h.end, h.end + 1)
            or t.end == h.start
            and t.doc_type in {r.doc_type for r in h.records}
            for h in analysis.names
        ):
            labels |= set(range(t.start, t.end))
    analysis.terms = [t for t in analysis.terms if not set(range(t.start, t.end)) <= labels or not labels]
    # "that project", "bu proje", "o departman": the one the conversation is about, not a list of them.
    pointed = [t for t in analysis.terms if not t.field and t.start > 0 and words[t.start - 1].base in DEMONSTRATIVES]
    analysis.pointed = {t.doc_type for t in pointed}
    spans = {(t.start, t.end) for t in pointed}
    analysis.terms = [t for t in analysis.terms if (t.start, t.end) not in spans]
    analysis.terms = [
        TermHit(t.doc_type, t.field, True, t.start, t.end, t.score, t.mine)
        if not t.reverse and t.field and words[t.end - 1].base in ("to", "for") and t.end < len(words)
        else t
        for t in analysis.terms
    ]
    # "Who manages Ayşe?": a verb read backwards ("manages" lists someone's reports) asked with
    # "who" before it and a person of that field's type right after it names the person managed:
    # Ayşe's manager, not Ayşe's reports ("Whom does Ayşe manage?", "Ayşe manages whom?" keep it).
    analysis.terms = [
        TermHit(t.doc_type, t.field, False, t.start, t.end, t.score, t.mine, t.theirs)
        if t.reverse
        and t.field
        and t.start > 0
        and words[t.start - 1].base in ("who", "which")
        and words[t.end - 1].base not in ("to", "for")  # "who reports to Emre": read backwards above
        and any(h.start == t.end and any(r.doc_type == t.doc_type for r in h.records) for h in analysis.names)
        else t
        for t in analysis.terms
    ]
    dative_ends = [h.end for h in analysis.names if re.fullmatch(r"y?[ea]", words[h.end - 1].suffix or "-")]
    # "Peki ona kimler bağlı?", "Bana kimler bağlı?": a pronoun in the dative does the same.
    dative_ends += [w.i + 1 for w in words if w.base in ("ona", "buna", "suna", "kendisine", "bana", "size")]
    analysis.terms = [
        TermHit(t.doc_type, t.field, True, t.start, t.end, t.score, t.mine, t.theirs)
        if not t.reverse
        and t.field
        and words[t.start].base.startswith("bagl")
        and any(0 <= t.start - end <= 2 for end in dative_ends)
        else t
        for t in analysis.terms
    ]
    phrases = _find_phrase_values(words, lexicon, named)
    if phrases:
        # "genel müdürü", "team leads": a value of several words is what the question names; the
        # term words inside it ("müdür", "lead") ask for nothing of their own.
        covered = {i for v in phrases for i in range(v.start, v.end)}
        analysis.terms = [t for t in analysis.terms if not set(range(t.start, t.end)) & covered]
        analysis.values += phrases
    used = named | labels | {i for t in analysis.terms for i in range(t.start, t.end)}
    used |= {i for v in phrases for i in range(v.start, v.end)}
    when = bool({w.base for w in words} & {"when", "zaman", "ne zaman", "tarih", "tarihinde"})
    dated = {
        i for t in analysis.terms if t.field and DOC_TYPES[t.doc_type].field(t.field).kind == DATE for i in range(t.start, t.end)
    }
    for doc_type, field_name, choice, start, end in choices:
        if when and set(range(start, end)) & dated:
            continue  # "Ne zaman bitti?": the end date is asked for, not the projects that are done
        if not set(range(start, end)) & named:
            analysis.values.append(ValueHit(doc_type, field_name, choice, "eq", start, end))
            used |= set(range(start, end))
    analysis.values += _find_values(words, lexicon, used)
    analysis.language = _language(question, words, named | {i for v in analysis.values for i in range(v.start, v.end)})
    analysis.values = [_negated(v, words) for v in analysis.values]
    analysis.values += _antonyms(words, lexicon, {i for v in analysis.values for i in range(v.start, v.end)} | used)
    bases = [w.base for w in words]
    for i, base in enumerate(bases):
        if _YEAR.match(base):
            before = set(bases[max(0, i - 2) : i]) | set(bases[i + 1 : i + 3]) | {words[i].suffix}
            suffix_after = words[i].suffix.endswith(("den", "dan", "ten", "tan")) and set(bases[i + 1 : i + 3]) & AFTER_WORDS
            op = "year"
            if before & BEFORE_WORDS:
                op = "before"
            if before & AFTER_WORDS or suffix_after:
                op = "after"
            year = int(base)
            if op == "after" and before & {"after", "sonra"} and not before & {"since", "itibaren", "beri"}:
                year += 1  # "after 2024" starts in 2025; "since 2024" in 2024
            analysis.years.append((year, op))
    analysis.mine = bool(set(bases) & ASKER_WORDS) or any(t.mine for t in analysis.terms)
    analysis.count = _has_phrase(words, COUNT_PHRASES)
    analysis.list_words = _has_phrase(words, LIST_PHRASES)
    analysis.listing = analysis.list_words or any(
        w.base.endswith(("ler", "lar")) or w.base.endswith("s") for t in analysis.type_terms() for w in words[t.start : t.end]
    )
    analysis.who = bool({"who", "whom", "kim", "kimdir", "kimler", "kimin", "kime", "kimi", "anyone", "someone"} & set(bases))
    analysis.else_ = bool(set(bases) & ELSE_WORDS)
    analysis.of_them = bool(set(bases) & OF_THEM_WORDS)
    analysis.any_of = bool(set(bases) & OR_WORDS)
    analysis.every = _has_phrase(words, ("all", "every", "list", "tüm", "bütün", "hepsi", "listele", "sırala"))
    analysis.most = (
        "most"
        if _has_phrase(words, MOST_PHRASES) and not _has_phrase(words, ("most recent", "most recently"))
        else "fewest"
        if _has_phrase(words, FEWEST_PHRASES)
        else ""
    )
    analysis.newest = _has_phrase(words, NEWEST_PHRASES)
    analysis.oldest = _has_phrase(words, OLDEST_PHRASES) and not analysis.newest
    analysis.pronoun = (
        bool(set(bases) & FOLLOW_UP_WORDS)
        or _has_phrase(words, FOLLOW_UP_PHRASES)
        or (any(t.theirs for t in analysis.terms) and not analysis.values)
    )  # "genel müdürü" is a compound, not "his manager"
    return analysis


__all__ = [
    "Analysis",
    "FUNCTION_WORDS",
    "NameHit",
    "TermHit",
    "ValueHit",
    "Word",
    "analyse",
    "split_words",
    "strip_ending",
    "term_vocabulary",
    "topic_head",
]
