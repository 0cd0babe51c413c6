"""Writing answers in Turkish and English: dates and statuses in words, lists
joined as people write them, and the Turkish case endings a name takes
("Ayşe Yılmaz'ın", "İstanbul'da", "Kervan'a")."""

from __future__ import annotations

import datetime as dt

from django.utils import translation

MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "tr": ("Ocak", "Şubat", "Mart", "Nisan", "Mayıs", "Haziran", "Temmuz", "Ağustos", "Eylül", "Ekim", "Kasım", "Aralık"),
}
STATUS_WORDS = {
    "en": {"planned": "planned", "active": "active", "on_hold": "on hold", "completed": "completed"},
    "tr": {"planned": "planlanan", "active": "aktif", "on_hold": "beklemede", "completed": "tamamlanmış"},
}
_BACK = set("aıou")
_FRONT = set("eiöü")
_HARD = set("fstkçşhp")
_VOWELS = _BACK | _FRONT


def date_in_words(value: str, language: str) -> str:
    try:
        day = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{day.day} {MONTHS[language][day.month - 1]} {day.year}"


def choice_in_words(value: str, language: str) -> str:
    return STATUS_WORDS.get(language, {}).get(value, value.replace("_", " "))


def join_words(items: list[str], language: str) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    last = " ve " if language == "tr" else " and "
    return ", ".join(items[:-1]) + last + items[-1]


def label(text: str, language: str) -> str:
    """A doctype label ("Direct reports") in the answer's language, from the
    project's translations."""
    with translation.override(language):
        return translation.gettext(text)


def field_label(spec, language: str) -> str:
    """A field's label in the answer's language, in its type's context where the
    translations have one ("Title" of an employee is "Unvan", of a procedure "Başlık")."""
    from knowledge.doctypes import DOC_TYPES

    owner = next((t.name for t in DOC_TYPES.values() if any(f is spec for f in t.fields)), "")
    with translation.override(language):
        if owner:
            text = translation.pgettext(owner, spec.label)
            if text != spec.label:
                return text
        return translation.gettext(spec.label)


def number(value: float | int, language: str) -> str:
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:,.2f}"
    else:
        text = f"{int(value):,}"
    return text.replace(",", ".") if language == "tr" else text


def _last_vowel(word: str) -> str:
    lowered = word.replace("I", "ı").replace("İ", "i").lower()
    for ch in reversed(lowered):
        if ch in _VOWELS:
            return ch
    return "e"


def _spoken(name: str) -> str:
    """The word whose sound decides the ending: the last word, and for an
    abbreviation in parentheses ("… (ATLAS)") the abbreviation."""
    words = name.replace("(", " ").replace(")", " ").split()
    return words[-1] if words else name


def tr_suffix(name: str, case: str) -> str:
    """``name`` with a Turkish case ending after an apostrophe: genitive ("in"),
    locative ("de"), ablative ("den"), dative ("e")."""
    word = _spoken(name)
    vowel = _last_vowel(word)
    last = word[-1:].lower()
    ends_vowel = last in _VOWELS
    back = vowel in _BACK
    if case == "in":
        core = {"a": "ın", "ı": "ın", "o": "un", "u": "un", "e": "in", "i": "in", "ö": "ün", "ü": "ün"}[vowel]
        ending = ("n" + core) if ends_vowel else core
    elif case in ("de", "den"):
        d = "t" if last in _HARD else "d"
        ending = d + ("a" if back else "e") + ("n" if case == "den" else "")
    elif case == "e":
        core = "a" if back else "e"
        ending = ("y" + core) if ends_vowel else core
    else:
        raise ValueError(case)
    return f"{name}'{ending}"


def tr_your(noun: str) -> str:
    """A Turkish noun with the polite "your" ending: "Yönetici" → "Yöneticiniz",
    "Departman" → "Departmanınız", "Başlangıç tarihi" → "Başlangıç tarihiniz"."""
    vowel = _last_vowel(noun)
    core = {"a": "ınız", "ı": "ınız", "o": "unuz", "u": "unuz", "e": "iniz", "i": "iniz", "ö": "ünüz", "ü": "ünüz"}[vowel]
    if noun[-1:].lower() in _VOWELS:
        if noun[-1:].lower() in "iıuü" and len(noun.split()) > 1:
            # A compound already carries the third-person ending ("tarihi"): it gives way to "your".
            return noun[:-1] + core
        return noun + core[1:]
    return noun + core


def tr_possessive(noun: str) -> str:
    """A Turkish noun with the third-person possessive: "üyeler" → "üyeleri", "ekip" → "ekibi"
    is beyond it (consonant softening), "proje" → "projesi"."""
    vowel = _last_vowel(noun)
    core = {"a": "ı", "ı": "ı", "o": "u", "u": "u", "e": "i", "i": "i", "ö": "ü", "ü": "ü"}[vowel]
    return noun + ("s" + core if noun[-1:].lower() in _VOWELS else core)


def en_possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def sentence(text: str) -> str:
    """First letter up, one final full stop (none after a closing citation's stop)."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ":")) else text + "."


# ISO 639-1 codes as data often stores languages ("tr", "en"), with their names in both languages.
LANGUAGES = {
    "tr": ("Turkish", "Türkçe"),
    "en": ("English", "İngilizce"),
    "de": ("German", "Almanca"),
    "fr": ("French", "Fransızca"),
    "es": ("Spanish", "İspanyolca"),
    "it": ("Italian", "İtalyanca"),
    "ru": ("Russian", "Rusça"),
    "ar": ("Arabic", "Arapça"),
    "zh": ("Chinese", "Çince"),
    "ja": ("Japanese", "Japonca"),
    "nl": ("Dutch", "Felemenkçe"),
    "pt": ("Portuguese", "Portekizce"),
    "el": ("Greek", "Yunanca"),
    "fa": ("Persian", "Farsça"),
    "ko": ("Korean", "Korece"),
    "az": ("Azerbaijani", "Azerbaycan Türkçesi"),
}


def language_name(code: str, language: str) -> str | None:
    names = LANGUAGES.get(str(code).lower())
    return None if names is None else names[1 if language == "tr" else 0]
