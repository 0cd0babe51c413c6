"""Template filters of the chat pages."""

from __future__ import annotations

import re

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString

from knowledge.templatetags.knowledge_tags import render_markdown

register = template.Library()

_CITATION = re.compile(r"\[(\d{1,3})\](?!\()")


@register.filter
def answer_html(message) -> SafeString:
    """The answer's Markdown, sanitized, with each ``[n]`` a link to the document it
    cites. Sources the viewer may not open (no title) stay plain text."""
    links = {}
    for source in getattr(message, "sources", None) or []:
        if source.get("title") and source.get("key") and source.get("n"):
            links[int(source["n"])] = reverse("document", args=[source["key"]])

    def link(match: re.Match) -> str:
        url = links.get(int(match[1]))
        return f"[\\[{match[1]}\\]]({url})" if url else match[0]

    return render_markdown(_CITATION.sub(link, message.content or ""))
