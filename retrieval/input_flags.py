"""Flags on what people type into the chat and the document search: XSS, SQL injection
and prompt injection, in Turkish and English.

Log only. A flagged question is answered like any other (answers are sanitised, SQL is
parameterised, sources are quoted to the model as data); the flag says someone is
probing. The log holds the kinds, the user, the channel and the length, never the text.

The patterns want the shape of an attack, not a keyword: an apostrophe in
"O'Brien'ın", "Select the best option" or "Script yazarı kim?" flags nothing.
"""

from __future__ import annotations

import re

import structlog
from prometheus_client import Counter

from .text import fold

log = structlog.get_logger(__name__)

INPUT_FLAGS = Counter("chatcore_input_flags", "Questions and searches that look like an attack, by kind.", ["kind"])

XSS = "xss"
SQL_INJECTION = "sql_injection"
PROMPT_INJECTION = "prompt_injection"

# All patterns run on fold(text): Turkish-aware lowercase folded to ASCII ("İ"→"i",
# "ş"→"s"), so "ÖNCEKİ TALİMATLARI" and "onceki talimatlari" read the same.
_PATTERNS: dict[str, list[str]] = {
    XSS: [
        r"<\s*/?\s*script\b",
        r"%3c\s*/?\s*script",
        r"<\s*(?:iframe|object|embed|svg|frameset|applet|base|meta)\b",
        # An event handler attribute: onerror=, onload=, onmouseover= …
        r"\bon(?:error|load|click|dblclick|mouse\w+|focus\w*|blur|change|input|submit|key\w+|toggle|"
        r"animation\w+|transition\w+|pointer\w+|begin|start|wheel|drag\w*|copy|paste|beforeunload)\s*=",
        # A script URL: a scheme glued to code, or calling something.
        r"\b(?:java|vb)script\s*:(?:\S|\s*[\w.$]+\s*\()",
        r"\bdata\s*:\s*text/html",
        r"\bdocument\s*\.\s*(?:cookie|domain|write)\b",
        r"\bsrcdoc\s*=",
        r"\balert\(",
    ],
    SQL_INJECTION: [
        # A quote closing a string, then a tautology: ' OR 1=1, ' or 'a'='a, ") OR x=x
        r"""['"]\s*\)*\s*(?:or|and|\|\|)\b\s*(?:'[^']*'|"[^"]*"|\d+|[a-z_]\w*)\s*(?:=|<>|!=|>|<|\blike\b)""",
        r"\b(?:or|and)\s+(?P<n>\d+)\s*=\s*(?P=n)\b",
        r"\bunion\b(?:\s|/\*[^*]{0,40}\*/)+(?:all(?:\s|/\*[^*]{0,40}\*/)+)?select\b",
        # A second statement after a quote or a semicolon: '; DROP TABLE users
        r"""['";]\s*(?:drop|truncate|alter)\s+(?:table|database|schema|user)\b""",
        r"""['";]\s*(?:delete\s+from|insert\s+into|update\s+\w+\s+set|exec(?:ute)?\s+\w|shutdown\b)""",
        # A quote, then a comment that swallows the rest of the query: admin'--
        r"""['"]\s*\)*\s*;?\s*(?:--|/\*)""",
        r"\b(?:pg_sleep|sleep|benchmark)\s*\(\s*\d",
        r"\bwaitfor\s+delay\s+'",
        r"\binformation_schema\b|\bxp_cmdshell\b|@@version\b|\bload_file\s*\(|\binto\s+(?:out|dump)file\b",
    ],
    PROMPT_INJECTION: [
        # English
        r"\b(?:ignore|disregard|forget|skip|override|bypass)\s+(?:(?:all|any|the|your|my|of|these|those)\s+)*"
        r"(?:previous|prior|above|earlier|preceding|former|initial|original|system)\s+"
        r"(?:\w+\s+)?(?:instructions?|prompts?|rules|directions|directives|guidelines|messages?|context)\b",
        r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:all|your)\s+(?:\w+\s+)?"
        r"(?:instructions?|prompts?|rules|guidelines|directives)\b",
        r"\bsystem\s*prompt\b",
        r"\b(?:reveal|show|print|repeat|output|leak|display|tell\s+me)\s+(?:me\s+)?(?:your|the)\s+"
        r"(?:system\s+|initial\s+|original\s+|hidden\s+|secret\s+)?(?:prompt|instructions)\b",
        r"\byou\s+are\s+now\s+(?:an?|the|my|no\s+longer|not|free|dan|unrestricted|unfiltered|jailbroken|"
        r"in\s+\w+\s+mode)\b",
        r"\bfrom\s+now\s+on,?\s+you\s+(?:are|will|must|shall)\b",
        r"\bpretend\s+(?:to\s+be|you\s+are|that\s+you\s+are)\b",
        r"\bact\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|jailbroken|dan\b|evil|developer\s+mode)",
        r"\bjailbreak|\bdeveloper\s+mode\b|\bdo\s+anything\s+now\b|\bnew\s+instructions\s*:",
        r"<\|(?:im_start|im_end|system|endoftext)\|>|\[/?inst\]|<<\s*sys\s*>>|^\s*#+\s*(?:system|instruction)s?\s*:",
        # Turkish (folded): "önceki talimatları yok say", "tüm kuralları unut", "sistem istemini göster"
        r"\b(?:onceki|yukaridaki|ustteki|daha\s+onceki|eski|tum|butun|sana\s+verilen|verilen|sistem)\s+"
        r"(?:\w+\s+)?(?:talimat|yonerge|komut|kural|istem|prompt)\w*\s+(?:\w+\s+)?"
        r"(?:unut(?:un|unuz)?|yok\s+say(?:in|iniz)?|gormezden\s+gel(?:in|iniz)?|dikkate\s+alma(?:yin|yiniz)?|"
        r"hice\s+say(?:in)?|bosver(?:in)?|umursama(?:yin)?|gecersiz\s+say(?:in)?|iptal\s+et(?:in)?)\b",
        r"\bsistem\s+(?:istem|prompt|talimat|yonerge)\w*",
        r"\b(?:gizli|ilk|orijinal)\s+(?:istem|prompt|talimat|yonerge)\w*\s+(?:\w+\s+)?"
        r"(?:goster|yaz|soyle|paylas|tekrarla|ver)\w*",
        # "Artık sen kısıtlamasız bir asistansın", but not the question "Artık sen misin?"
        r"\b(?:sen\s+artik|artik\s+sen|bundan\s+sonra\s+sen)\s+(?:\w+\s+){0,2}?(?!(?:mi|mu)(?:sin|sun)\b)"
        r"\w+(?:sin|sun)\b",
        r"\b(?:kisitlamasiz|sinirsiz|filtresiz)\s+(?:bir\s+)?(?:yapay\s+zeka|asistan|model)\s+(?:gibi\s+)?davran",
        r"\byeni\s+talimatlar\w*\s*:",
    ],
}

_COMPILED = {kind: re.compile("|".join(f"(?:{p})" for p in patterns), re.MULTILINE) for kind, patterns in _PATTERNS.items()}
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200f\u2060\ufeff]")
# Questions and queries longer than 4,000 characters are refused anyway; this bounds the
# work for the ones that are flagged before they are refused.
MAX_CHARS = 20_000


def detect(text: str) -> set[str]:
    """The kinds of attack ``text`` looks like: a subset of {xss, sql_injection, prompt_injection}."""
    if not text:
        return set()
    folded = fold(_INVISIBLE.sub("", text[:MAX_CHARS]))
    return {kind for kind, pattern in _COMPILED.items() if pattern.search(folded)}


def flag_input(*, text: str, user_id: int | None, channel: str) -> set[str]:
    """Detect, then log one ``input_flagged`` event and count each kind. Never blocks."""
    kinds = detect(text)
    if kinds:
        for kind in kinds:
            INPUT_FLAGS.labels(kind=kind).inc()
        log.warning("input_flagged", kinds=sorted(kinds), user_id=user_id, channel=channel, length=len(text))
    return kinds
