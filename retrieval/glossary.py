"""Turkish ↔ English workplace terms, so a question in one language finds a
document written in the other ("şifre" meets "password", "leave" meets "izin").

Company knowledge mixes both languages, and the embedding model understands
English only, so without this a Turkish question about an English policy (or the
reverse) has no word in common with it. The pairs are everyday HR and office
words; a query gets the other language's tokens added, documents are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .text import _stem, fold, tokenize, words

# (Turkish, English). A phrase matches when all of its words are in the query.
PAIRS: tuple[tuple[str, str], ...] = (
    ("izin", "leave"),
    ("yıllık izin", "annual leave"),
    ("hastalık izni", "sick leave"),
    ("ücretsiz izin", "unpaid leave"),
    ("doğum izni", "maternity leave"),
    ("tatil", "holiday"),
    ("maaş", "salary"),
    ("ücret", "pay"),
    ("prim", "bonus"),
    ("fazla mesai", "overtime"),
    ("mesai", "working hours"),
    ("kıdem", "seniority"),
    ("tazminat", "severance"),
    ("şifre", "password"),
    ("parola", "password"),
    ("karakter", "characters"),
    ("erişim", "access"),
    ("güvenlik", "security"),
    ("olay", "incident"),
    ("bildirim", "report"),
    ("veri", "data"),
    ("insan kaynakları", "human resources"),
    ("ik", "hr"),
    ("insan kaynakları", "hr"),
    ("ik", "human resources"),
    ("bilgi teknolojileri", "information technology"),
    ("muhasebe", "accounting"),
    ("finans", "finance"),
    ("satış", "sales"),
    ("pazarlama", "marketing"),
    ("departman", "department"),
    ("birim", "department"),
    ("bölüm", "department"),
    ("ekip", "team"),
    ("müdür", "manager"),
    ("yönetici", "manager"),
    ("lider", "lead"),
    ("proje lideri", "project lead"),
    ("çalışan", "employee"),
    ("personel", "staff"),
    ("unvan", "title"),
    ("pozisyon", "position"),
    ("proje", "project"),
    ("bütçe", "budget"),
    ("müşteri", "customer"),
    ("sözleşme", "contract"),
    ("prosedür", "procedure"),
    ("politika", "policy"),
    ("süreç", "process"),
    ("kural", "rule"),
    ("talep", "request"),
    ("onay", "approval"),
    ("başvuru", "application"),
    ("işe başlama", "onboarding"),
    ("işten ayrılma", "offboarding"),
    ("istifa", "resignation"),
    ("ihbar süresi", "notice period"),
    ("ihbar", "notice"),
    ("deneme süresi", "probation"),
    ("seyahat", "travel"),
    ("masraf", "expense"),
    ("harcırah", "allowance"),
    ("yemek", "meal"),
    ("konaklama", "accommodation"),
    ("uçak", "flight"),
    ("fatura", "invoice"),
    ("satın alma", "purchasing"),
    ("satın alma", "purchase"),
    ("tedarikçi", "supplier"),
    ("bilgisayar", "computer"),
    ("dizüstü", "laptop"),
    ("ekipman", "equipment"),
    ("telefon", "phone"),
    ("e-posta", "email"),
    ("uzaktan çalışma", "remote work"),
    ("evden çalışma", "work from home"),
    ("ofis", "office"),
    ("adres", "address"),
    ("eğitim", "training"),
    ("sağlık", "health"),
    ("sigorta", "insurance"),
    ("rapor", "report"),
    ("doğum tarihi", "date of birth"),
    ("işe giriş tarihi", "hire date"),
    ("başlangıç", "start"),
    ("bitiş", "end"),
    ("durum", "status"),
    ("kimlik", "identity"),
    ("yetenek", "skill"),
    ("beceri", "skill"),
    # Job titles, so "engineers" also finds a "Yazılım Mühendisi".
    ("mühendis", "engineer"),
    ("geliştirici", "developer"),
    ("kıdemli", "senior"),
    ("uzman", "specialist"),
    ("analist", "analyst"),
    ("tasarımcı", "designer"),
    ("direktör", "director"),
    ("temsilci", "representative"),
    ("yönetici", "administrator"),
    ("sorumlu", "officer"),
    ("bilimci", "scientist"),
    ("stajyer", "intern"),
    ("müdür", "head"),
    ("lider", "lead"),
    ("uzaktan", "remote"),
    # Rules and deadlines, so "how many working days in advance" meets "iş günü önceden".
    ("gün", "days"),
    ("iş günü", "business days"),
    ("iş günü", "working days"),
    ("saat", "hours"),
    ("dakika", "minutes"),
    ("hafta", "weeks"),
    ("ay", "months"),
    ("yıl", "years"),
    ("aylık", "monthly"),
    ("yılda", "per year"),
    ("haftada", "per week"),
    ("önceden", "in advance"),
    ("en az", "at least"),
    ("en fazla", "at most"),
    ("en geç", "at the latest"),
    ("içinde", "within"),
    ("standart", "standard"),
    ("yurt dışı", "abroad"),
    ("yurt dışı", "international"),
    ("yurt içi", "domestic"),
    ("yardım", "allowance"),
    ("ödenek", "allowance"),
    ("ödeme", "payment"),
    ("öde", "pay"),
    ("ödeme vadesi", "payment term"),
    ("vade", "term"),
    ("son", "final"),
    ("son", "last"),
    ("son iş günü", "last working day"),
    ("istifa", "resign"),
    ("ayrılış", "leaving"),
    ("sağlık raporu", "sick note"),
    ("rapor", "sick note"),
    ("sağlık raporu", "medical certificate"),
    ("yükle", "upload"),
    ("ilk", "first"),
    ("müdahale", "response"),
    ("ilk müdahale", "first response"),
    ("seviye", "severity"),
    ("önem", "priority"),
    ("canlıya alma", "release"),
    ("canlıya alım", "release"),
    ("canlı", "production"),
    ("dağıtım", "deploy"),
    ("pencere", "window"),
    ("hesap", "account"),
    ("kapat", "disable"),
    ("kilit", "lock"),
    ("giriş", "login"),
    ("başarısız", "failed"),
    ("deneme", "attempt"),
    ("eğitim", "training"),
    ("tamamla", "complete"),
    ("yeni çalışan", "new employee"),
    ("bildir", "report"),
    ("çalış", "work"),
    ("cihaz", "device"),
    ("kayıp", "lost"),
    ("çalıntı", "stolen"),
    ("avans", "advance"),
    ("otel", "hotel"),
    ("gecelik", "per night"),
    ("alım", "purchase"),
    ("teklif", "quote"),
    # Shifts, breaks and pay on a shop floor.
    ("vardiya", "shift"),
    ("mola", "break"),
    ("yemek molası", "meal break"),
    ("gece", "night"),
    ("hafta sonu", "weekend"),
    ("hafta içi", "weekday"),
    ("resmi tatil", "public holiday"),
    ("bayram", "holiday"),
    ("oran", "rate"),
    ("yüzde", "percent"),
    ("saatlik ücret", "hourly wage"),
    ("amir", "supervisor"),
    ("koruyucu donanım", "protective equipment"),
    ("iş güvenliği", "safety"),
    ("zorunlu", "mandatory"),
    ("talep", "claim"),
    ("eski", "old"),
    ("eski", "older"),
    ("ödenir", "paid"),
    ("ödenmez", "not paid"),
    ("en geç", "how quickly"),
    ("en geç", "how soon"),
    ("takılı", "on"),
    ("uzun", "long"),
    ("kısa", "short"),
    ("erken", "early"),
    ("geç", "late"),
)


def _content(tokens: list[str]) -> frozenset[str]:
    # The stems decide a match; the four-letter prefixes are too loose for that.
    return frozenset(t for t in tokens if not t.startswith("~"))


# A Turkish word carries its endings ("yardımı", "kapatılır", "çalışabilirim"): a query word that
# begins with a glossary word of at least this many letters is that word. English inflects less and
# its stemmer already meets "approvals" with "approval"; a prefix there would make "internet" an
# "intern" and "terminate" a "term".
PREFIX_LETTERS = {"tr": 4, "en": 1000}


@dataclass(frozen=True)
class _Word:
    stems: frozenset[str]
    surface: str  # folded
    prefix: bool  # whether a query word beginning with ``surface`` is this word


@lru_cache(maxsize=1)
def _entries() -> tuple[tuple[tuple[_Word, ...], tuple[str, ...]], ...]:
    entries = []
    for turkish, english in PAIRS:
        for phrase, other, language in ((turkish, english, "tr"), (english, turkish, "en")):
            parts = tuple(
                _Word(_stems(word, language), fold(word), len(fold(word)) >= PREFIX_LETTERS[language]) for word in phrase.split()
            )
            if all(part.stems for part in parts):
                entries.append((parts, tuple(tokenize(other))))
    return tuple(entries)


def _stems(word: str, language: str) -> frozenset[str]:
    """What a query must hold for ``word``: in English its stem alone ("invoic" meets "invoices"),
    in Turkish every token of it (a short stem alone, "yar" of "yardım", would meet "yarın")."""
    tokens = _content(tokenize(word))
    if language == "en" and tokens:
        english = {_stem(w, "en") for w in words(word)}
        return frozenset(english & tokens) or tokens
    return tokens


def _present(word: _Word, tokens: set[str], surfaces: list[str]) -> bool:
    return bool(word.stems <= tokens) or (word.prefix and any(s.startswith(word.surface) for s in surfaces))


@lru_cache(maxsize=1)
def _by_first_word() -> dict[str, tuple[int, ...]]:
    """The entries by what their first word can be met by: a stem, or the first four letters
    of a word that may carry endings."""
    index: dict[str, list[int]] = {}
    for n, (parts, _) in enumerate(_entries()):
        first = parts[0]
        keys = set(first.stems) | ({"^" + first.surface[:4]} if first.prefix else set())
        for key in keys:
            index.setdefault(key, []).append(n)
    return {key: tuple(found) for key, found in index.items()}


def _matching(tokens: list[str]):
    """The entries all of whose words are in ``tokens``, in the glossary's order."""
    present = set(tokens)
    surfaces = [t for t in tokens if not t.startswith("~")]
    index, entries = _by_first_word(), _entries()
    candidates = set()
    for key in present | {"^" + s[:4] for s in surfaces}:
        candidates.update(index.get(key, ()))
    for n in sorted(candidates):
        parts, other = entries[n]
        if all(_present(part, present, surfaces) for part in parts):
            yield parts, other


def expand(tokens: list[str]) -> list[str]:
    """The tokens of the other language's terms for the terms in ``tokens``."""
    present = set(tokens)
    extra: list[str] = []
    for _, other in _matching(tokens):
        extra.extend(t for t in other if t not in present and t not in extra)
    return extra


def phrase_translations(tokens: list[str]) -> list[tuple[set[str], tuple[str, ...]]]:
    """For each phrase of two or more words the glossary knows in ``tokens`` ("sick note"): the
    query tokens it is made of and the other language's tokens for it ("rapor")."""
    surfaces = [t for t in tokens if not t.startswith("~")]
    found = []
    for parts, other in _matching(tokens):
        if len(parts) > 1:
            words = {t for part in parts for t in surfaces if t in part.stems or (part.prefix and t.startswith(part.surface))}
            found.append((words, other))
    return found


def query_tokens(text: str) -> list[str]:
    """BM25 tokens of a question, with the other language's terms added."""
    tokens = tokenize(text)
    return tokens + expand(tokens)


@lru_cache(maxsize=1)
def _word_pairs() -> dict[str, frozenset[str]]:
    pairs: dict[str, set[str]] = {}
    for turkish, english in PAIRS:
        if " " in turkish or " " in english:
            continue
        a, b = fold(turkish), fold(english)
        pairs.setdefault(a, set()).add(b)
        pairs.setdefault(b, set()).add(a)
    return {word: frozenset(others) for word, others in pairs.items()}


def word_translations(word: str) -> frozenset[str]:
    """The other language's words for one folded word ("engineer" → "muhendis")."""
    return _word_pairs().get(fold(word), frozenset())
