"""Rendering helpers for documents: Markdown through a sanitizer, type labels in the page's language."""

from __future__ import annotations

import markdown as md
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext, pgettext_lazy

from knowledge.doctypes import DOC_TYPES

register = template.Library()

# Labels one type words its own way: an employee's "Title" is a job title. Listed so
# that makemessages finds them; ``field_label`` looks them up by the type's name.
CONTEXTUAL_LABELS = (pgettext_lazy("employee", "Title"),)

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
}


@register.filter(name="markdown")
def render_markdown(text: str) -> SafeString:
    """Markdown to HTML, then sanitized: no script, no event handlers, no raw HTML tricks."""
    html = md.markdown(text or "", extensions=["tables", "sane_lists"], output_format="html")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitized by nh3 above


@register.filter
def doctype_label(name: str) -> str:
    """``employee`` → "Employee" (or "Çalışan"); an unknown type shows as it is."""
    doc_type = DOC_TYPES.get(name)
    return gettext(doc_type.label) if doc_type else str(name).capitalize()


@register.filter
def field_label(label: str, doc_type: str) -> str:
    """A document field's label in the page's language."""
    translated = pgettext(doc_type, label)
    return translated if translated != label else gettext(label)
