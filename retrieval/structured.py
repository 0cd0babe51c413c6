"""Exact answers from the structured documents: lookups, complete lists, counts,
filters, questions about the asker, follow-ups, and plain refusals.

``structured_answer`` reads the question (``questions.analyse``), decides what it
asks for (a field of a document, the documents linked to one, or every document
of a type that meets some conditions), runs that through ``knowledge.queries``
within what the asker may see, and writes the answer in the question's
language with a citation for every document it names. When the question is not
about the structured data it returns ``None`` and the text answerer takes over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.models import User
from knowledge.doctypes import (
    CHOICE,
    DATE,
    DOC_TYPES,
    LIST,
    NUMBER,
    REF,
    REFS,
    STR,
    VERSION,
    DocType,
    Field,
    get_doctype,
)
from knowledge.queries import (
    Condition,
    QueryError,
    Record,
    SensitiveFieldError,
    Snapshot,
    find_documents,
    knowledge_snapshot,
    linked_keys,
)

from .phrasing import (
    choice_in_words,
    en_possessive,
    field_label,
    join_words,
    label,
    number,
    sentence,
    tr_possessive,
    tr_suffix,
    tr_your,
)
from .questions import FOLLOW_UP_WORDS, FUNCTION_WORDS, Analysis, TermHit, analyse
from .wording import (
    NOUN,
    alternatives_of,
    filter_phrase,
    join_filters,
    name_of,
    noun_for,
    numbers,
    owner_phrase,
    question_words,
    value_words,
    yes_no,
)

HISTORY_TURNS = 3
INLINE_ITEMS = 2  # up to this many items are written in one sentence; more become a numbered list
COUNT_ITEMS = 30  # a count names at most this many of its items ("How many work in Ankara?": 422)

TEXTS = {
    "restricted": {
        "en": "{what} is visible only to HR.",
        "tr": "{what} bilgisini yalnızca İK görebilir.",
    },
    "not_linked": {
        "en": "No employee record is linked to your account, so I can't tell that about you.",
        "tr": "Hesabınıza bağlı bir çalışan kaydı yok; bu yüzden bunu sizin için söyleyemiyorum.",
    },
    "not_found": {
        "en": "I could not find {what} in the company knowledge.",
        "tr": "Şirket bilgilerinde {what} bulamadım.",
    },
    "which": {
        "en": "Which {what} do you mean? Please name it.",
        "tr": "Hangi {what} kaydını kastediyorsunuz? Lütfen adını yazın.",
    },
    "ambiguous": {
        "en": "More than one record matches “{name}”: {options}. Which one do you mean?",
        "tr": "“{name}” ile eşleşen birden fazla kayıt var: {options}. Hangisini kastediyorsunuz?",
    },
    "hidden": {
        "en": "{subject_of} {label} is not among the records you may see {cite}",
        "tr": "{subject_gen} {label} bilgisi görebileceğiniz kayıtlarda yok {cite}",
    },
    "empty_field": {
        "en": "No {what} is recorded for {subject} {cite}.",
        "tr": "{subject} için kayıtlı bir {what} bilgisi yok {cite}.",
    },
}


@dataclass
class StructuredAnswer:
    text: str
    records: list[Record]  # the cited documents, in the order of their numbers
    kind: str  # lookup, list, count, profile, restricted, not_linked, not_found, ambiguous, which
    refusal: bool = False
    intent: tuple | None = None  # what was asked, for "what about X?" follow-ups


@dataclass
class _Citations:
    records: list[Record] = field(default_factory=list)

    def cite(self, record: Record) -> str:
        for n, known in enumerate(self.records, 1):
            if known.key == record.key:
                return f"[{n}]"
        self.records.append(record)
        return f"[{len(self.records)}]"


@dataclass
class _Link:
    """How the documents asked for relate to the subject: the subject's own link
    field (forward) or a field of the other type that points at the subject."""

    doc_type: str
    field: str
    forward: bool


# --- Entry -----------------------------------------------------------------------


def structured_answer(
    *,
    user: User,
    question: str,
    history: list[dict] | None = None,
    snapshot: Snapshot | None = None,
    language: str | None = None,
    analysis: Analysis | None = None,
) -> StructuredAnswer | None:
    snapshot = snapshot or knowledge_snapshot(user=user)
    analysis = analysis or analyse(question, snapshot)
    if language:
        analysis.language = language
    return _Answerer(user=user, snapshot=snapshot, history=history or []).answer(analysis)


class _Answerer:
    def __init__(self, *, user: User, snapshot: Snapshot, history: list[dict], depth: int = 0) -> None:
        self.user = user
        self.snapshot = snapshot
        self.by_key = snapshot.by_key()
        self.history = history
        self.depth = depth
        self.hr = snapshot.hr
        self.lang = "en"
        self.adjectives: set[str] = set()
        self.noun = ""
        self.of_them_keys: set[str] | None = None

    # The decision -----------------------------------------------------------------

    def answer(self, a: Analysis) -> StructuredAnswer | None:
        lang = a.language if a.language in ("tr", "en") else "en"
        self.lang = lang
        restricted = self._restricted(a)
        if restricted:
            return restricted
        subjects = self._subjects(a)
        if isinstance(subjects, StructuredAnswer):
            return subjects
        target = self._target_type(a, subjects)
        if subjects:
            return self._about_subjects(a, subjects, target)
        return self._filter(a, target)

    def _restricted(self, a: Analysis) -> StructuredAnswer | None:
        if self.hr:
            return None
        asked = [t for t in a.field_terms() if get_doctype(t.doc_type).field(t.field).sensitive]
        if not asked:
            return None
        relevant = []
        entity_types = {r.doc_type for r in a.entities} | {r.doc_type for h in a.ambiguous for r in h.records}
        for hit in asked:
            if (
                hit.doc_type in entity_types
                or a.mine
                or hit.doc_type in {t.doc_type for t in a.type_terms()}
                or hit.doc_type in {v.doc_type for v in a.values}
                or numbers(a.question)
                or (hit.doc_type == "employee" and a.who)
                or (not entity_types and self._recent_types() & {hit.doc_type})
            ):
                relevant.append(hit)
        if not relevant:
            return None
        names = []
        for hit in relevant:
            name = field_label(get_doctype(hit.doc_type).field(hit.field), self.lang)
            if name not in names:
                names.append(name)
        what = join_words(names, self.lang)
        text = TEXTS["restricted"][self.lang].format(
            what=what if self.lang == "tr" else what.capitalize() + " information" if len(names) == 1 else what
        )
        return StructuredAnswer(sentence(text), [], "restricted", refusal=True)

    def _recent_types(self) -> set[str]:
        types = set()
        for turn in self.history[-2:]:
            for key in turn.get("sources") or []:
                record = self.by_key.get(key)
                if record:
                    types.add(record.doc_type)
        return types

    def _subjects(self, a: Analysis) -> list[Record] | StructuredAnswer:
        subjects = list(a.entities)
        unknown_parts = [s for s in subjects if self._is_part_of_unknown_name(a, s)]
        if unknown_parts and len(unknown_parts) == len(subjects):
            name = self._unknown_full_name(a, unknown_parts[0])
            return StructuredAnswer(
                sentence(TEXTS["not_found"][self.lang].format(what=f"“{name}”")), [], "not_found", refusal=True
            )
        subjects = [s for s in subjects if s not in unknown_parts]
        if a.ambiguous and not subjects:
            resolved = self._disambiguate(a)
            if isinstance(resolved, StructuredAnswer):
                return resolved
            subjects = resolved
        if subjects:
            return subjects
        unknown = self._unknown_name(a)
        if unknown:
            return unknown
        if a.mine and (a.field_terms() or a.type_terms()):
            me = self.by_key.get(getattr(self.user, "employee_key", "") or "")
            if me is None:
                if self._about_people(a):
                    return StructuredAnswer(TEXTS["not_linked"][self.lang], [], "not_linked", refusal=True)
                return []
            return [me]
        if self._wants_focus(a):
            focus = self._focus(a)
            if focus is None:
                return self._which(a) or []
            return focus
        return []

    def _about_people(self, a: Analysis) -> bool:
        return any(
            t.doc_type == "employee"
            or get_doctype(t.doc_type).field(t.field)
            and get_doctype(t.doc_type).field(t.field).target == "employee"
            for t in a.field_terms()
        ) or bool(a.type_terms())

    def _is_part_of_unknown_name(self, a: Analysis, record: Record) -> bool:
        """ "Mehmet Öztürk" is nobody here even though an "Öztürk" works here: a single
        name part next to another capitalised word that names nothing."""
        if record.doc_type != "employee":
            return False
        for hit in a.names:
            if hit.records != (record,) or hit.end - hit.start != 1 or hit.quality < 2:
                continue
            used = {i for h in a.names for i in range(h.start, h.end)} | {i for t in a.terms for i in range(t.start, t.end)}
            for i in (hit.start - 1, hit.end):
                if 0 <= i < len(a.words) and i not in used:
                    w = a.words[i]
                    if w.capital and w.i > 0 and len(w.base) >= 3 and w.base not in FUNCTION_WORDS:
                        return True
        return False

    def _unknown_full_name(self, a: Analysis, record: Record) -> str:
        hit = next(h for h in a.names if h.records == (record,))
        start, end = hit.start, hit.end
        if start > 0 and a.words[start - 1].capital:
            start -= 1
        elif end < len(a.words) and a.words[end].capital:
            end += 1
        return " ".join(w.text for w in a.words[start:end])

    def _unknown_name(self, a: Analysis) -> StructuredAnswer | None:
        """A type named next to a name nothing matches ("the ZEPHYR project",
        "Mehmet Öztürk's manager"): say it is not there, rather than guess."""
        used = {i for h in a.names for i in range(h.start, h.end)} | {i for t in a.terms for i in range(t.start, t.end)}
        used |= {i for v in a.values for i in range(v.start, v.end)}
        capitals = [
            w
            for w in a.words
            if w.i not in used
            and w.capital
            and len(w.base) >= 2
            and w.base not in FUNCTION_WORDS
            and not w.base.isdigit()
            and (w.i > 0 or w.suffix)
        ]
        if not capitals:
            return None
        types = a.type_terms()
        for t in types:
            near = [w for w in capitals if w.i in (t.start - 1, t.start - 2, t.end, t.end + 1)]
            if near:
                name = " ".join(w.text for w in near)
                what = f"“{name}”"
                return StructuredAnswer(sentence(TEXTS["not_found"][self.lang].format(what=what)), [], "not_found", refusal=True)
        people_terms = [t for t in a.field_terms() if t.doc_type == "employee" and not t.reverse]
        if people_terms and len(capitals) >= 2 and capitals[1].i == capitals[0].i + 1:
            name = f"{capitals[0].text} {capitals[1].text}"
            return StructuredAnswer(
                sentence(TEXTS["not_found"][self.lang].format(what=f"“{name}”")), [], "not_found", refusal=True
            )
        return None

    def _disambiguate(self, a: Analysis) -> list[Record] | StructuredAnswer:
        hit = a.ambiguous[0]
        types = {t.doc_type for t in a.type_terms()}
        fields = {(t.doc_type, t.field) for t in a.field_terms()}
        narrowed = [r for r in hit.records if r.doc_type in types] or [
            r for r in hit.records if any(dt == r.doc_type for dt, _ in fields)
        ]
        if len(narrowed) == 1:
            return narrowed
        candidates = narrowed or list(hit.records)
        citations = _Citations()
        options = [self._item(r, citations, place=True) for r in candidates[:10]]
        name = " ".join(w.text for w in a.words[hit.start : hit.end])
        text = TEXTS["ambiguous"][self.lang].format(name=name, options=join_words(options, self.lang))
        return StructuredAnswer(text, citations.records, "ambiguous")

    def _wants_focus(self, a: Analysis) -> bool:
        if a.pointed:
            return True  # "that project", "her project"
        if not (a.field_terms() or a.type_terms() or a.values):
            return False
        if a.pronoun or a.else_ or a.of_them:
            return True
        if a.newest or a.oldest or a.count or a.most or a.values or a.years or a.every or numbers(a.question):
            return False
        if self.history and a.field_terms():
            # Turkish leaves the subject out: "Hangi departmanda çalışıyor?"
            return True
        # "Who is the client?" names a field of something without saying what.
        return bool(a.field_terms()) and not a.type_terms() and a.content_words() == 0

    def _which(self, a: Analysis) -> StructuredAnswer | None:
        """A follow-up with nothing before it to follow ("Who else works on it?"): only
        when the question clearly points back and has no word left unexplained, so
        "What is the dress code?" is not taken for one."""
        if self.history or a.content_words() > 0:
            return None
        if not (a.else_ or a.of_them or set(w.base for w in a.words) & FOLLOW_UP_WORDS):
            return None
        types = list(dict.fromkeys(t.doc_type for t in a.field_terms()))
        if not types:
            return None
        if len(types) > 1:
            # "Who leads it?": a project or a department; ask without guessing which.
            text = (
                "Hangisini kastediyorsunuz? Lütfen adını yazın."
                if self.lang == "tr"
                else "Which one do you mean? Please name it."
            )
            return StructuredAnswer(text, [], "which", refusal=True)
        what = label(get_doctype(types[0]).label, self.lang).lower()
        return StructuredAnswer(TEXTS["which"][self.lang].format(what=what), [], "which", refusal=True)

    def _focus(self, a: Analysis) -> list[Record] | None:
        """The document the conversation is about: among those the latest earlier
        question named and those its answer gave, the one whose type fits what is
        asked now ("it" is not a person, "he"/"she" is); the answer's own finding
        ("Murat Erdoğan" for "Who leads KERVAN?") before the earlier subject."""
        subjects: list[Record] = []
        older: list[Record] = []
        for i in range(len(self.history) - 1, -1, -1):
            if self.history[i].get("role") == "assistant":
                continue
            found = [r for r in self._earlier_subjects(i) if r not in subjects and r not in older]
            if not subjects:
                subjects = found
            else:
                older += found  # what the conversation was about before, should the latest not fit
            if subjects and (older or i < len(self.history) - 4):
                break
        answered = [r for r in self._previous_cited() if r not in subjects]
        candidates = answered[:3] + subjects
        if self._previous_was_follow_up() or a.else_:
            # "Who is his manager?" then "Who reports to him?": "him" is still the same person;
            # "Who else is on the team?" is about the thing, not the person just named.
            candidates = subjects + answered[:3]
        candidates += [r for r in older if r not in candidates]
        if not candidates:
            return None
        if a.of_them:
            target = self._target_type(a, [])
            group = [r for r in self._previous_cited() if target is None or r.doc_type == target]
            if len(group) >= 2:
                self.of_them_keys = {r.key for r in group}
                return []
        if a.pointed:
            pointed = [r for r in candidates if r.doc_type in a.pointed]
            if pointed:
                return [pointed[0]]
        bases = {w.base for w in a.words}
        thing = bool(bases & {"it", "its"})
        person = bool(bases & {"he", "she", "his", "her", "him", "hers"})

        def rank(item: tuple[int, Record]) -> tuple:
            order, record = item
            animate = record.doc_type == "employee"
            bonus = (thing and not animate) or (person and animate)
            return (self._fit(a, record) > 0, bonus, self._fit(a, record), -order)

        best = max(enumerate(candidates), key=rank)[1]
        if self._fit(a, best) <= 0 and not (a.pronoun or a.else_):
            return []
        return [best]

    def _previous_was_follow_up(self) -> bool:
        for turn in reversed(self.history):
            if turn.get("role") == "user":
                earlier = analyse(turn.get("content") or "", self.snapshot)
                return not earlier.entities and (earlier.pronoun or earlier.else_)
        return False

    def _earlier_subjects(self, index: int) -> list[Record]:
        if self.depth >= HISTORY_TURNS:
            return []
        turn = self.history[index]
        earlier = _Answerer(user=self.user, snapshot=self.snapshot, history=self.history[:index], depth=self.depth + 1)
        earlier.lang = self.lang
        analysis = analyse(turn.get("content") or "", self.snapshot)
        subjects = earlier._subjects(analysis)
        if isinstance(subjects, StructuredAnswer):
            return []
        return subjects

    def _previous_cited(self) -> list[Record]:
        for turn in reversed(self.history):
            if turn.get("role") == "assistant":
                return [self.by_key[k] for k in turn.get("sources") or [] if k in self.by_key]
        return []

    def _fit(self, a: Analysis, record: Record) -> int:
        link = self._link(a, record, self._target_type(a, [record]))
        forward = self._forward_field(a, record)
        return max(forward[1] if forward else 0, link[1] if link else 0)

    # What is asked for ------------------------------------------------------------

    def _target_type(self, a: Analysis, subjects: list[Record]) -> str | None:
        """The type of the documents the answer is made of, when the question names
        one apart from its subjects ("Ayşe's projects", "engineers who…")."""
        subject_types = {s.doc_type for s in subjects}
        for t in a.type_terms():
            if self._labels_a_name(a, t):
                continue
            if t.doc_type in subject_types and any(self._forward_link_to(s, t.doc_type) for s in subjects):
                return t.doc_type
            if t.doc_type not in subject_types or not subjects:
                return t.doc_type
        votes: dict[str, int] = {}
        named_fields = {(t.doc_type, t.field) for t in a.field_terms()}
        values = [
            v
            for v in a.values
            if not (
                v.op == "has"
                and get_doctype(v.doc_type).field(v.field).kind == LIST
                and (v.doc_type, v.field) not in named_fields
            )
        ]
        for v in values:
            votes[v.doc_type] = votes.get(v.doc_type, 0) + 2
        for t in a.field_terms():
            if t.doc_type not in subject_types and not t.reverse:
                votes[t.doc_type] = votes.get(t.doc_type, 0) + 1
        if a.who:
            votes["employee"] = votes.get("employee", 0) + 1
        if votes and not subjects:
            return max(votes, key=lambda k: (votes[k], k == "employee"))
        if subjects and values:
            if any(t.doc_type in subject_types and not t.reverse for t in a.field_terms()):
                # "Soğuk zincir projesinin müşterisi": a field of the subject is asked for; a word that
                # also occurs in some value ("zinciri") does not make it a question about other documents.
                return None
            value_types = {v.doc_type for v in values} - subject_types
            if value_types:
                return max(value_types, key=lambda k: votes.get(k, 0))
        return None

    def _labels_a_name(self, a: Analysis, term: TermHit) -> bool:
        """ "the ATLAS project", "KERVAN projesi", "the Sales department": the type word
        only says what the name next to it is."""
        for hit in a.names:
            if any(r.doc_type == term.doc_type for r in hit.records) and (
                term.start == hit.end or term.end == hit.start or term.start == hit.end + 1
            ):
                return True
        return False

    def _forward_link_to(self, record: Record, doc_type: str) -> bool:
        return any(f.target == doc_type for f in get_doctype(record.doc_type).link_fields)

    def _forward_fields(self, a: Analysis, record: Record) -> list[Field]:
        """The subject's fields the question names, in the order it names them."""
        schema = get_doctype(record.doc_type)
        found: list[Field] = []
        for t in sorted(a.field_terms(), key=lambda t: t.start):
            if t.doc_type == record.doc_type and not t.reverse:
                spec = schema.field(t.field)
                if spec not in found and not any(
                    o.start <= t.start < o.end and o.score > t.score for o in a.field_terms() if o.doc_type == record.doc_type
                ):
                    found.append(spec)
        return found

    def _membership(self, a: Analysis, one: Record, other: Record) -> StructuredAnswer | None:
        """ "Is Ayşe on the KERVAN team?", "Ayşe Yazılım biriminde mi?": whether one document
        links to the other, yes or no, with the link's record cited."""
        lang = self.lang
        asked = {(t.doc_type, t.field) for t in a.field_terms()}
        options = []
        for holder, held in ((one, other), (other, one)):
            for spec in get_doctype(holder.doc_type).link_fields:
                if spec.target == held.doc_type:
                    options.append((holder, held, spec, (holder.doc_type, spec.name) in asked))
        if not options:
            return None
        options.sort(key=lambda o: o[2].kind != REFS)  # "on the team" before "leads it"
        named = [o for o in options if o[3]]
        holder, held, spec, _ = (named or options)[0]
        if not named and len(options) > 1:
            # Several links between the two types and none named: any of them answers yes.
            hits = [o for o in options if held.key in linked_keys(o[0], o[2].name)]
            if hits:
                holder, held, spec, _ = hits[0]
        citations = _Citations()
        holder_name, held_name = name_of(holder, lang, self.by_key), name_of(held, lang, self.by_key)
        cites = citations.cite(holder) + citations.cite(held)
        shown_label = field_label(spec, lang).lower()
        many = spec.kind == REFS
        if held.key in linked_keys(holder, spec.name):
            if lang == "tr":
                text = (
                    f"Evet: {held_name}, {holder_name} kaydında {shown_label} arasında yer alıyor {cites}."
                    if many
                    else f"Evet: {held_name}, {holder_name} kaydında {shown_label} olarak geçiyor {cites}."
                )
            else:
                text = (
                    f"Yes: {held_name} is among the {shown_label} of {holder_name} {cites}."
                    if many
                    else f"Yes: {held_name} is the {shown_label} of {holder_name} {cites}."
                )
        elif spec.kind == REF and self.by_key.get(holder.body.get(spec.name) or ""):
            actual = self.by_key[holder.body[spec.name]]
            cites += citations.cite(actual)
            actual_name = name_of(actual, lang, self.by_key)
            text = (
                f"Hayır: {holder_name} kaydında {shown_label} {actual_name} {cites}."
                if lang == "tr"
                else f"No: the {shown_label} of {holder_name} is {actual_name} {cites}."
            )
        else:
            text = (
                f"Hayır: {held_name}, {holder_name} kaydında {shown_label} arasında yer almıyor {cites}."
                if lang == "tr"
                else f"No: {held_name} is not among the {shown_label} of {holder_name} {cites}."
            )
        return StructuredAnswer(text, citations.records, "lookup")

    def _forward_field(self, a: Analysis, record: Record) -> tuple[Field, int] | None:
        schema = get_doctype(record.doc_type)
        best = None
        for t in a.field_terms():
            if t.doc_type == record.doc_type and not t.reverse:
                spec = schema.field(t.field)
                if best is None or t.score > best[1]:
                    best = (spec, t.score)
        return best

    def _link(self, a: Analysis, record: Record, target: str | None) -> tuple[list[_Link], int] | None:
        """The links from ``record`` to documents of ``target`` (or of any type the
        question's words point to), best-scored first."""
        options: list[tuple[_Link, int]] = []
        schema = get_doctype(record.doc_type)
        for spec in schema.link_fields:
            if target and spec.target != target:
                continue
            score = max(
                [t.score for t in a.field_terms() if t.doc_type == record.doc_type and t.field == spec.name and not t.reverse]
                or [0]
            )
            options.append((_Link(spec.target, spec.name, True), score))
        for other in DOC_TYPES.values():
            if target and other.name != target:
                continue
            for spec in other.link_fields:
                if spec.target != record.doc_type:
                    continue
                score = max(
                    [
                        t.score
                        for t in a.field_terms()
                        if t.doc_type == other.name and t.field == spec.name and (t.reverse or other.name != record.doc_type)
                    ]
                    or [0]
                )
                options.append((_Link(other.name, spec.name, False), score))
        if not options:
            return None
        best = max(s for _, s in options)
        if best == 0:
            if target is None:
                return None
            # "Ayşe's projects": every way the two types meet (lead or member).
            chosen = [link for link, _ in options if not (link.forward and link.doc_type == record.doc_type)]
            return (chosen or [link for link, _ in options]), 0
        return [link for link, s in options if s == best], best

    def _about_subjects(self, a: Analysis, subjects: list[Record], target: str | None) -> StructuredAnswer | None:
        record = subjects[0]
        if self.of_them_keys:
            return self._filter(a, target)
        if len(subjects) >= 2 and subjects[0].doc_type != subjects[1].doc_type and yes_no(a):
            checked = self._membership(a, subjects[0], subjects[1])
            if checked is not None:
                return checked
        fields = self._forward_fields(a, record)
        if len(fields) >= 2 and {w.base for w in a.words} & {"and", "ve", "also", "ayrica"}:
            # "Which department is Can Demir in, and who is his manager?": each part in turn.
            citations = _Citations()
            me = getattr(self.user, "employee_key", "") or ""
            text = " ".join(self._state(record, spec, citations, to_asker=a.mine and record.key == me) for spec in fields[:3])
            return StructuredAnswer(text, citations.records, "lookup")
        forward = self._forward_field(a, record)
        link = self._link(a, record, target if target != record.doc_type else None)
        if target and target != record.doc_type:
            if link is None:
                return None
            return self._related(a, subjects, link[0], target)
        forward_score = forward[1] if forward else 0
        link_score = link[1] if link else 0
        if forward_score == 0 and link_score == 0:
            reused = self._reuse_intent(a, subjects)
            if reused is not None:
                return reused
            if a.values and target:
                return self._filter(a, target, within=subjects)
            people = self._people_field(record)
            if people is not None and (a.who or a.else_) and (a.else_ or a.content_words() == 0):
                # "Who else was on that project?": the people a thing lists.
                return self._lookup(a, subjects, people)
            if a.content_words() > 1 or record.doc_type not in ("employee", "department", "project"):
                return None
            return self._profile(subjects)
        if forward_score >= link_score:
            return self._lookup(a, subjects, forward[0])
        links = link[0]
        types = [x.doc_type for x in links]
        named = [t.doc_type for t in a.type_terms() if t.doc_type in types]
        chosen = named[0] if named else ("employee" if a.who and "employee" in types else types[0])
        return self._related(a, subjects, links, chosen)

    def _people_field(self, record: Record) -> Field | None:
        return next((f for f in get_doctype(record.doc_type).link_fields if f.kind == REFS and f.target == "employee"), None)

    def _reuse_intent(self, a: Analysis, subjects: list[Record]) -> StructuredAnswer | None:
        """ "What about KERVAN?" after "Who leads ATLAS?": the same question about a new subject."""
        if not self.history or a.content_words() > 1 or self.depth:
            return None
        for i in range(len(self.history) - 1, -1, -1):
            turn = self.history[i]
            if turn.get("role") != "user":
                continue
            earlier = _Answerer(user=self.user, snapshot=self.snapshot, history=self.history[:i], depth=self.depth + 1)
            previous = earlier.answer(analyse(turn.get("content") or "", self.snapshot))
            if previous is None or not previous.intent:
                return None
            kind, doc_type, field_name = previous.intent
            if kind == "lookup" and doc_type == subjects[0].doc_type:
                spec = get_doctype(doc_type).field(field_name)
                return self._lookup(a, subjects, spec)
            return None
        return None

    # Answers ----------------------------------------------------------------------

    def _lookup(self, a: Analysis, subjects: list[Record], spec: Field) -> StructuredAnswer:
        citations = _Citations()
        sentences = []
        me = getattr(self.user, "employee_key", "") or ""
        for record in subjects[:5]:
            sentences.append(
                self._state(record, spec, citations, exclude=self._excluded(a), to_asker=a.mine and record.key == me)
            )
        kind = "list" if spec.kind == REFS else "lookup"
        return StructuredAnswer(" ".join(sentences), citations.records, kind, intent=("lookup", subjects[0].doc_type, spec.name))

    def _excluded(self, a: Analysis) -> set[str]:
        if not a.else_:
            return set()
        return {r.key for r in self._previous_cited()}

    def _state(
        self, record: Record, spec: Field, citations: _Citations, exclude: set[str] = frozenset(), to_asker: bool = False
    ) -> str:
        """One field of one document in a sentence; said to the asker ("Your manager
        is…", "Yöneticiniz…") when the document is the asker's own."""
        lang = self.lang
        subject = name_of(record, lang, self.by_key)
        cite = citations.cite(record)
        value = record.body.get(spec.name)
        shown_label = field_label(spec, lang).lower()
        if value in (None, "", []):
            return TEXTS["empty_field"][lang].format(what=shown_label, subject=subject, cite=cite).rstrip() + (
                "" if TEXTS["empty_field"][lang].endswith(".") else "."
            )
        if spec.kind == REFS:
            every = [k for k in linked_keys(record, spec.name) if k != record.key]
            keys = [k for k in every if k not in exclude]
            members = [self.by_key[k] for k in keys if k in self.by_key]
            return self._list_text(
                members,
                citations,
                header=self._header(members, subject=subject, spec=spec, cite=cite, others=len(keys) < len(every)),
            )
        if spec.kind == REF:
            target = self.by_key.get(value)
            if target is None:
                # A link to a document this asker may not see: neither its name nor its key.
                return sentence(
                    TEXTS["hidden"][lang].format(
                        label=shown_label,
                        subject=subject,
                        cite=cite,
                        subject_of=en_possessive(subject),
                        subject_gen=tr_suffix(subject, "in"),
                    )
                )
            else:
                shown = name_of(target, lang, self.by_key)
                cites = cite + citations.cite(target)
        else:
            shown = value_words(spec, value, lang)
            cites = cite
        template = spec.says[1 if lang == "tr" else 0] if any(spec.says) else ""
        if to_asker and spec.kind in (REF, STR, DATE, CHOICE, NUMBER, LIST, VERSION):
            template = "{your_label} {value}" if lang == "tr" else "Your {label} is {value}"
        elif not template:
            template = "{subject} için {label}: {value}" if lang == "tr" else "{subject_of} {label} is {value}"
        text = template.format(
            your_label=tr_your(field_label(spec, "tr")),
            subject=subject,
            value=shown,
            label=shown_label,
            subject_of=en_possessive(subject),
            subject_gen=tr_suffix(subject, "in"),
            value_loc=tr_suffix(shown, "de"),
        )
        return sentence(f"{text} {cites}")

    def _header(self, members: list[Record], *, subject: str, spec: Field, cite: str, others: bool = False) -> str:
        lang = self.lang
        n = len(members)
        noun = noun_for(members[0].doc_type if members else spec.target or "employee", lang, n)
        shown_label = field_label(spec, lang).lower()
        if others and n:
            # "Who else works on it?": the ones not named yet.
            if lang == "tr":
                return f"Bunlar dışında {subject} kaydında {n} {noun} daha var {cite}:"
            return f"Besides those, {n} more {noun} {'is' if n == 1 else 'are'} listed as {shown_label} of {subject} {cite}:"
        if lang == "tr":
            if n == 0:
                return f"{tr_suffix(subject, 'in')} {shown_label} arasında başka kimse yok {cite}."
            return f"{tr_suffix(subject, 'in')} {tr_possessive(shown_label)} ({n} {noun}) {cite}:"
        if n == 0:
            return f"No one else is listed among the {shown_label} of {subject} {cite}."
        return f"{subject} has {n} {shown_label if shown_label.endswith('s') else noun} {cite}:"

    def _related(self, a: Analysis, subjects: list[Record], links: list[_Link], target: str) -> StructuredAnswer:
        """Documents of ``target`` linked to the subjects: a list, or a lookup when
        the subject's own single link is asked for ("Ayşe's department")."""
        record = subjects[0]
        if (
            len(links) == 1
            and links[0].forward
            and get_doctype(record.doc_type).field(links[0].field).kind == REF
            and not a.count
            and not a.values
        ):
            return self._lookup(a, subjects, get_doctype(record.doc_type).field(links[0].field))
        keys: set[str] = set()
        phrases = []
        links = [link for link in links if link.doc_type == target]
        for link in links:
            if link.forward:
                keys |= set(linked_keys(record, link.field))
            else:
                keys |= {
                    r.key
                    for r in find_documents(
                        user=self.user,
                        doc_type=target,
                        snapshot=self.snapshot,
                        where=[Condition(link.field, "links", record.key)],
                    ).records
                }
        subject_name = name_of(record, self.lang, self.by_key)
        # Several links at once ("Ayşe's projects": led or joined) are named by the membership one.
        main = (
            next(
                (x for x in links if get_doctype(x.doc_type if not x.forward else record.doc_type).field(x.field).kind == REFS),
                None,
            )
            if len(links) > 1
            else links[0]
        )
        if main is None:
            # "Who in the Data & AI department…": its people, named by their own link to it, not by its head.
            main = next((x for x in links if not x.forward), links[0])
        links = [main] + [x for x in links if x is not main]
        spec = get_doctype(target if not links[0].forward else record.doc_type).field(links[0].field)
        if not links[0].forward:
            me = getattr(self.user, "employee_key", "") or ""
            phrases.append(filter_phrase(spec, subject_name, self.lang, you=a.mine and record.key == me))
        else:
            phrases.append(owner_phrase(record, spec, subject_name, self.lang))
        conditions, extra_phrases = self._conditions(a, target)
        phrases += extra_phrases
        return self._result(a, target, conditions, keys=keys - {record.key}, phrases=phrases, subject=record)

    def _conditions(self, a: Analysis, doc_type: str) -> tuple[list[Condition], list[str]]:
        schema = get_doctype(doc_type)
        by_field: dict[str, list] = {}
        ops: dict[str, str] = {}
        named_fields = {t.field for t in a.field_terms() if t.doc_type == doc_type}
        negated: list = []
        for v in a.values:
            if v.doc_type != doc_type:
                continue
            if v.negated:
                negated.append(v)
                continue
            if v.op == "has" and schema.field(v.field).kind == LIST and v.field not in named_fields:
                # A word inside some list item ("ofis" of the skill "Ofis yönetimi") filters only when
                # the question names that field ("who knows", "bilen").
                continue
            by_field.setdefault(v.field, [])
            if v.value not in by_field[v.field]:
                by_field[v.field].append(v.value)
            ops[v.field] = v.op if ops.get(v.field) in (None, v.op) else "has"
        conditions, phrases = [], []
        for name, values in by_field.items():
            spec = schema.field(name)
            op = ops[name]
            shown = [value_words(spec, value, self.lang) for value in values]
            if spec.kind == LIST and not a.any_of:
                for value in values:
                    conditions.append(Condition(name, "has", alternatives_of(value)))
                phrases.append(filter_phrase(spec, join_words(shown, self.lang), self.lang))
            elif op == "has" and spec.kind != CHOICE and not a.any_of:
                for value in values:
                    conditions.append(Condition(name, "has", alternatives_of(value)))
                if NOUN in spec.filter_says:
                    # "engineers who know Kafka": the words of the question that matched the title name the people.
                    self.noun = " ".join(
                        dict.fromkeys(question_words(a, v) for v in a.values if v.doc_type == doc_type and v.field == name)
                    )
                else:
                    phrases.append(filter_phrase(spec, join_words(shown, self.lang), self.lang))
            else:
                alternatives = [alt for value in values for alt in alternatives_of(value)]
                conditions.append(Condition(name, op if spec.kind != CHOICE else "eq", alternatives))
                joiner = " veya " if self.lang == "tr" else " or "
                if NOUN in spec.filter_says:
                    self.noun = " ".join(
                        dict.fromkeys(question_words(a, v) for v in a.values if v.doc_type == doc_type and v.field == name)
                    )
                    continue
                phrase = filter_phrase(spec, joiner.join(shown), self.lang)
                if spec.filter_says[0] == "{value}":
                    self.adjectives.add(phrase)  # "active projects", "completed projects"
                phrases.append(phrase)
        for v in negated:
            # "not completed", "Ankara dışındaki", "Python bilmeyenler": everything but those.
            spec = schema.field(v.field)
            if any(c.field == v.field and c.negate and v.value in _values_of(c) for c in conditions):
                continue
            op = "eq" if spec.kind == CHOICE else ("has" if spec.kind == LIST or v.op == "has" else v.op)
            conditions.append(Condition(v.field, op, alternatives_of(v.value), negate=True))
            shown = value_words(spec, v.value, self.lang)
            phrases.append(f"{shown} hariç" if self.lang == "tr" else f"except those {filter_phrase(spec, shown, self.lang)}")
        date_field = self._date_field(a, schema)
        if a.years and date_field:
            for year, op in a.years:
                conditions.append(Condition(date_field.name, op, year))
                words = {
                    "en": {"year": f"in {year}", "before": f"before {year}", "after": f"since {year}"},
                    "tr": {"year": f"{year} yılında", "before": f"{year} öncesinde", "after": f"{year} ve sonrasında"},
                }
                phrases.append(filter_phrase(date_field, words[self.lang][op], self.lang))
        for number_field, op, amount in self._comparisons(a, schema):
            conditions.append(Condition(number_field.name, op, amount))
            more = {"en": {"gt": "more than", "lt": "less than"}, "tr": {"gt": "fazla", "lt": "az"}}[self.lang][op]
            shown_label = field_label(number_field, self.lang).lower()
            phrases.append(
                f"with {shown_label} {more} {number(amount, 'en')}"
                if self.lang == "en"
                else f"{shown_label} {number(amount, 'tr')} üzerinde olan"
                if op == "gt"
                else f"{shown_label} {number(amount, 'tr')} altında olan"
            )
        return conditions, phrases

    def _date_field(self, a: Analysis, schema: DocType) -> Field | None:
        dates = [f for f in schema.fields if f.kind == DATE]
        for t in a.field_terms():
            if t.doc_type == schema.name and schema.field(t.field).kind == DATE:
                return schema.field(t.field)
        return dates[0] if dates else None

    def _comparisons(self, a: Analysis, schema: DocType) -> list[tuple[Field, str, float]]:
        amounts = numbers(a.question)
        if not amounts:
            return []
        fields = [
            schema.field(t.field) for t in a.field_terms() if t.doc_type == schema.name and schema.field(t.field).kind == NUMBER
        ]
        if not fields:
            return []
        folded = " ".join(w.base for w in a.words)
        lower = any(w in folded for w in ("less", "under", "below", "az ", "altinda", "asagi"))
        return [(fields[0], "lt" if lower else "gt", amounts[0])]

    def _filter(self, a: Analysis, target: str | None, within: list[Record] | None = None) -> StructuredAnswer | None:
        if target is None:
            return None
        if a.most:
            top = self._most(a, target)
            if top is not None:
                return top
        conditions, phrases = self._conditions(a, target)
        keys = self.of_them_keys
        ordering = self._ordering(a, target)
        typed = any(t.doc_type == target and not self._labels_a_name(a, t) for t in a.type_terms())
        if not conditions and not keys and not ordering:
            if not (typed and (a.count or a.listing)):
                return None
        if not typed and not conditions and not keys and not ordering:
            return None
        if not conditions and not keys and not ordering and not (typed and (a.count or a.listing)):
            return None
        return self._result(a, target, conditions, keys=keys, phrases=phrases, ordering=ordering)

    def _most(self, a: Analysis, target: str) -> StructuredAnswer | None:
        """ "Which department has the most employees?", "Who leads the most projects?", "Which
        project has the most members?": for each document of the ranked type, count the
        documents linked to it (or the items of its own list field), and name the top ones."""
        others = [t.doc_type for t in a.type_terms() if not self._labels_a_name(a, t)]
        ranked = target
        if a.who and ranked != "employee":
            ranked = "employee"  # "Who leads the most projects?": people are ranked
        counted = [d for d in others if d != ranked]
        own = [
            get_doctype(ranked).field(t.field)
            for t in a.field_terms()
            if t.doc_type == ranked and not t.reverse and get_doctype(ranked).field(t.field).kind == REFS
        ]
        counts: dict[str, int] = {}
        if own and not counted:
            spec, other = own[0], own[0].target or ranked
            for record in self.snapshot.of_type(ranked):
                counts[record.key] = len([k for k in linked_keys(record, spec.name) if k in self.by_key])
        else:
            reverse = [t for t in a.field_terms() if t.reverse and get_doctype(t.doc_type).field(t.field).target == ranked]
            other = (counted or [t.doc_type for t in reverse] or [None])[0]
            if other is None:
                return None
            links = [f for f in get_doctype(other).link_fields if f.target == ranked]
            named = [f for f in links if any(t.doc_type == other and t.field == f.name for t in a.field_terms())]
            if not (named or links):
                return None
            spec = (named or links)[0]
            for record in self.snapshot.of_type(other):
                for key in linked_keys(record, spec.name):
                    counts[key] = counts.get(key, 0) + 1
        candidates = self.snapshot.of_type(ranked)
        if not candidates:
            return None
        pick = max if a.most == "most" else min
        best = pick(counts.get(r.key, 0) for r in candidates)
        winners = [r for r in candidates if counts.get(r.key, 0) == best][:10]
        citations = _Citations()
        names = join_words([f"{name_of(r, self.lang, self.by_key)} {citations.cite(r)}" for r in winners], self.lang)
        if own and not counted:
            what = field_label(spec, self.lang).lower()
        elif not counted and spec.reverse_label:
            what = label(spec.reverse_label, self.lang).lower()  # "direct reports"
        else:
            what = noun_for(other, self.lang, 2)
        if self.lang == "tr":
            which = "En çok" if a.most == "most" else "En az"
            text = f"{which} {tr_possessive(what)} olan {noun_for(ranked, 'tr', 1)}: {names} ({best} {what})."
        else:
            which = "the most" if a.most == "most" else "the fewest"
            text = f"{names} {'have' if len(winners) > 1 else 'has'} {which} {what}: {best}."
        return StructuredAnswer(text, citations.records, "list")

    def _ordering(self, a: Analysis, target: str) -> str:
        if not (a.newest or a.oldest):
            return ""
        date_field = self._date_field(a, get_doctype(target))
        if date_field is None:
            return ""
        return ("-" if a.newest else "") + date_field.name

    def _result(
        self,
        a: Analysis,
        target: str,
        conditions: list[Condition],
        *,
        keys: set[str] | None,
        phrases: list[str],
        ordering: str = "",
        subject: Record | None = None,
    ) -> StructuredAnswer:
        try:
            result = find_documents(
                user=self.user,
                doc_type=target,
                where=conditions,
                keys=keys,
                exclude=self._excluded(a),
                order_by=ordering,
                snapshot=self.snapshot,
            )
        except SensitiveFieldError as exc:
            names = join_words([field_label(get_doctype(target).field(f), self.lang) for f in exc.fields], self.lang)
            what = names if self.lang == "tr" else names.capitalize() + " information"
            return StructuredAnswer(sentence(TEXTS["restricted"][self.lang].format(what=what)), [], "restricted", refusal=True)
        except QueryError:
            return None
        records = result.records
        if ordering:
            records = records[:1]
        citations = _Citations()
        if subject is not None:
            citations.cite(subject)
        phrase = " ".join(p for p in phrases if p) if self.lang == "tr" else join_filters([p for p in phrases if p])
        n = len(records) if ordering else result.total
        noun = noun_for(target, self.lang, n)
        if self.noun:
            noun = self.noun
            if self.lang == "en":
                noun = noun.rstrip("s") if n == 1 else (noun if noun.endswith("s") else noun + "s")
        lead = ""
        if subject is not None:
            lead = f" {citations.cite(subject)}"
        if ordering:
            if not records:
                return StructuredAnswer(self._none(noun, phrase), citations.records, "list")
            first = records[0]
            sort_spec = get_doctype(target).field(ordering.lstrip("-"))
            when = value_words(sort_spec, first.body.get(sort_spec.name), self.lang)
            item = self._item(first, citations)
            head, cite = item.rsplit(" ", 1)
            shown_label = field_label(sort_spec, self.lang).lower()
            if self.lang == "tr":
                which = "en yeni" if ordering.startswith("-") else "en eski"
                text = f"{which.capitalize()} {shown_label} {head} kaydında: {when} {cite}."
            else:
                which = "latest" if ordering.startswith("-") else "earliest"
                text = f"{head} has the {which} {shown_label}: {when} {cite}."
            return StructuredAnswer(text, citations.records, "list")
        if n == 0:
            return StructuredAnswer(self._none(noun, phrase), citations.records, "count" if a.count else "list")
        if n == 1 and self.noun and not phrase and not a.count and not a.list_words and subject is None:
            # "Who is the CTO?": one person holds the title; say who, in a sentence.
            item = self._item(records[0], citations)
            if self.lang == "tr":
                role = next((v.value for v in a.values if v.doc_type == target), self.noun)
                return StructuredAnswer(sentence(f"{role}: {item}"), citations.records, "lookup")
            return StructuredAnswer(sentence(f"The {self.noun.rstrip('s')} is {item}"), citations.records, "lookup")
        before = [p for p in phrases if p in self.adjectives]
        if self.lang == "en" and before:
            noun = " ".join(before + [noun])
            phrase = join_filters([p for p in phrases if p and p not in before])
        if self._excluded(a) & {r.key for r in self.snapshot.of_type(target)}:
            phrase = ("Bunlar dışında " if self.lang == "tr" else "") + phrase
            if self.lang == "en":
                noun = f"more {noun}"
        if self.lang == "tr":
            header = f"{phrase} {n} {noun} var{lead}".strip()
        else:
            header = f"{n} {noun} {phrase}{lead}".strip() if phrase else f"{n} {noun}{lead}"
            if n == 1:
                header = f"One {noun} {phrase}{lead}".strip()
        shown = records[:COUNT_ITEMS] if a.count and not a.list_words else records
        text = self._list_text(shown, citations, header=sentence(header).rstrip(".") + ":")
        if n > len(shown):
            rest = n - len(shown)
            text += f"\n\n…ve {rest} kayıt daha." if self.lang == "tr" else f"\n\n…and {rest} more."
        return StructuredAnswer(text, citations.records, "count" if a.count else "list")

    def _none(self, noun: str, phrase: str) -> str:
        if self.lang == "tr":
            return sentence(f"{phrase} {noun} bulunmuyor".strip())
        return sentence(f"There are no {noun} {phrase}".strip())

    def _list_text(self, records: list[Record], citations: _Citations, *, header: str) -> str:
        if not records:
            return header.rstrip(":") + ("" if header.endswith(".") else ".")
        items = [self._item(r, citations) for r in records]
        if len(items) <= INLINE_ITEMS:
            return f"{header} {join_words(items, self.lang)}."
        lines = "\n".join(f"{i}. {item}" for i, item in enumerate(items, 1))
        return f"{header}\n\n{lines}"

    def _item(self, record: Record, citations: _Citations, place: bool = False) -> str:
        """A document as a list item: the name, and what tells it apart (a person's
        title, and with ``place`` their department; a project's status)."""
        lang = self.lang
        name = name_of(record, lang, self.by_key)
        detail = ""
        if record.doc_type == "employee" and record.body.get("title"):
            detail = str(record.body["title"])
            department = self.by_key.get(record.body.get("department_id") or "")
            if place and department is not None:
                detail += f", {department.title}"
        elif record.doc_type == "project" and record.body.get("status"):
            detail = choice_in_words(record.body["status"], lang)
        return f"{name} ({detail}) {citations.cite(record)}" if detail else f"{name} {citations.cite(record)}"

    def _profile(self, subjects: list[Record]) -> StructuredAnswer:
        citations = _Citations()
        parts = [self._describe(record, citations) for record in subjects[:3]]
        return StructuredAnswer(" ".join(parts), citations.records, "profile")

    def _describe(self, record: Record, citations: _Citations) -> str:
        lang, body = self.lang, record.body
        name = name_of(record, lang, self.by_key)
        cite = citations.cite(record)

        def linked(field_name: str) -> str:
            target = self.by_key.get(body.get(field_name) or "")
            return name_of(target, lang, self.by_key) if target else ""

        if record.doc_type == "employee":
            department, place = linked("department_id"), body.get("location") or ""
            if lang == "tr":
                text = (
                    f"{name}, {department} biriminde {body.get('title', '')} olarak çalışıyor"
                    if department
                    else f"{name}, {body.get('title', '')} olarak çalışıyor"
                )
                text += f"; {tr_suffix(place, 'de')} bulunuyor" if place else ""
            else:
                text = f"{name} is {body.get('title', '')}" + (f" in {department}" if department else "")
                text += f", based in {place}" if place else ""
            return sentence(f"{text} {cite}")
        if record.doc_type == "project":
            status = choice_in_words(body.get("status") or "", lang)
            department, lead, client = linked("department_id"), linked("lead_id"), body.get("client") or ""
            if lang == "tr":
                text = f"{name}, {department} biriminin {status} bir projesi" if department else f"{name} {status} bir proje"
                text += f"; lideri {lead}" if lead else ""
                text += f", müşterisi {client}" if client else ""
            else:
                article = "an" if status[:1] in "aeiou" else "a"
                text = f"{name} is {article} {status} project" + (f" of {department}" if department else "")
                text += f", led by {lead}" if lead else ""
                text += f", for {client}" if client else ""
            return sentence(f"{text} {cite}")
        head, place = linked("head_id"), body.get("location") or ""
        if lang == "tr":
            text = f"{name} birimini {head} yönetiyor" if head else name
            text += f"; birim {tr_suffix(place, 'de')} bulunuyor" if place else ""
        else:
            text = f"{name} is headed by {head}" if head else name
            text += f" and based in {place}" if place else ""
        return sentence(f"{text} {cite}")


__all__ = ["StructuredAnswer", "structured_answer"]


def _values_of(condition: Condition) -> list:
    return list(condition.value) if isinstance(condition.value, (list, tuple)) else [condition.value]
