"""The admin form for a document: one form field per schema field, so HR edits
an employee or a procedure as a form, not as raw JSON."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.core.exceptions import ValidationError

from chatcore.parsers import loads_strict

from .doctypes import (
    CHOICE,
    DATE,
    LIST,
    MARKDOWN,
    NUMBER,
    REF,
    REFS,
    STEPS,
    TEXT,
    VERSION,
    DocType,
    Field,
)
from .models import Document
from .services import document_validate

PREFIX = "body_"


def _form_field(spec: Field) -> forms.Field:
    common = {"label": spec.label, "required": spec.required}
    if spec.sensitive:
        common["help_text"] = "Sensitive: only HR and admins ever see this field."
    if spec.kind in (TEXT, MARKDOWN):
        rows = 14 if spec.kind == MARKDOWN else 3
        field = forms.CharField(widget=forms.Textarea(attrs={"rows": rows, "cols": 90}), strip=True, **common)
        if spec.kind == MARKDOWN:
            field.help_text = "Markdown."
        return field
    if spec.kind == NUMBER:
        return forms.DecimalField(min_value=0, max_digits=20, decimal_places=4, **common)
    if spec.kind == DATE:
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if spec.kind in (LIST, STEPS):
        what = "step" if spec.kind == STEPS else "item"
        return forms.CharField(
            widget=forms.Textarea(attrs={"rows": 6 if spec.kind == STEPS else 3, "cols": 90}),
            help_text=f"One {what} per line.",
            **common,
        )
    if spec.kind == REF:
        return forms.ChoiceField(choices=[], **common)
    if spec.kind == REFS:
        return forms.MultipleChoiceField(choices=[], widget=FilteredSelectMultiple(spec.label, is_stacked=False), **common)
    if spec.kind == CHOICE:
        return forms.ChoiceField(choices=[("", "—")] + [(c, c.replace("_", " ")) for c in spec.choices], **common)
    return forms.CharField(max_length=1000, widget=forms.TextInput(attrs={"size": 60}), **common)


def _to_initial(spec: Field, value: Any) -> Any:
    if value is None:
        return None
    if spec.kind in (LIST, STEPS) and isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if spec.kind == DATE and isinstance(value, str):
        return value[:10]
    return value


def _from_cleaned(spec: Field, value: Any, original: Any) -> Any:
    """The JSON value for a cleaned form value. An unchanged value keeps its
    original JSON form, so opening and saving a form changes nothing."""
    if spec.kind in (LIST, STEPS):
        value = [line.strip() for line in (value or "").splitlines() if line.strip()]
    elif spec.kind == NUMBER and isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    elif spec.kind == DATE and isinstance(value, dt.date):
        if isinstance(original, str) and original[:10] == value.isoformat():
            return original
        value = value.isoformat()
    elif spec.kind == VERSION and original is not None and str(original) == value:
        return original
    elif spec.kind == REFS:
        value = list(value or [])
    return value


class DocumentForm(forms.ModelForm):
    """Base class; ``document_form_for`` adds the schema fields of one type."""

    doc_type: DocType

    extra_fields = forms.CharField(
        label="Other fields",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 90}),
        help_text="Fields this document type does not declare, as a JSON object. Kept as they are.",
    )

    class Meta:
        model = Document
        fields = ["key", "visibility"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        body = self.instance.body if self.instance.pk else {}
        declared = {spec.name for spec in self.doc_type.fields}
        for spec in self.doc_type.fields:
            name = PREFIX + spec.name
            if spec.is_link:
                targets = Document.objects.filter(doc_type=spec.target).order_by("title")
                choices = [(d.key, f"{d.title} ({d.key})") for d in targets.only("key", "title")]
                if spec.kind == REF:
                    choices = [("", "—")] + choices
                self.fields[name].choices = choices
            self.fields[name].initial = _to_initial(spec, body.get(spec.name))
        extra = {k: v for k, v in body.items() if k not in declared}
        if extra:
            self.fields["extra_fields"].initial = json.dumps(extra, ensure_ascii=False, indent=2)

    def clean_extra_fields(self) -> dict:
        raw = self.cleaned_data.get("extra_fields") or ""
        if not raw.strip():
            return {}
        try:
            extra = loads_strict(raw)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
        except ValueError as exc:
            raise ValidationError(f"Not valid JSON: {exc}.") from None
        if not isinstance(extra, dict):
            raise ValidationError('Must be a JSON object, e.g. {"badge": "A-12"}.')
        clash = sorted(set(extra) & {spec.name for spec in self.doc_type.fields})
        if clash:
            raise ValidationError(f"These fields have their own inputs above: {', '.join(clash)}.")
        return extra

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        original = self.instance.body if self.instance.pk else {}
        body: dict[str, Any] = {}
        for spec in self.doc_type.fields:
            value = _from_cleaned(spec, cleaned.get(PREFIX + spec.name), original.get(spec.name))
            if value in (None, "", []):
                if spec.name in original:
                    # Keep the field (as empty) rather than silently dropping it.
                    body[spec.name] = [] if spec.kind in (LIST, STEPS, REFS) else None
                continue
            body[spec.name] = value
        body.update(cleaned.get("extra_fields") or {})
        key = cleaned.get("key") or self.instance.key or None
        try:
            document_validate(doc_type=self.doc_type, body=body, key=key)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                target = PREFIX + name if PREFIX + name in self.fields else None
                self.add_error(target, messages)
        self.body = body
        return cleaned


def document_form_for(doc_type: DocType, *, creating: bool) -> type[DocumentForm]:
    """A form class with one input per field of ``doc_type``."""
    attrs: dict[str, Any] = {PREFIX + spec.name: _form_field(spec) for spec in doc_type.fields}
    attrs["doc_type"] = doc_type
    meta_fields = ["key", "visibility"] if creating else ["visibility"]
    attrs["Meta"] = type("Meta", (DocumentForm.Meta,), {"fields": meta_fields})
    return type(f"{doc_type.name.title()}DocumentForm", (DocumentForm,), attrs)
