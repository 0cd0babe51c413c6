"""HR edits company knowledge here. Every save and delete goes through the same
services as the API, so validation and re-indexing are identical."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html

from .doctypes import DOC_TYPES, get_doctype
from .forms import PREFIX, document_form_for
from .models import Document
from .services import document_create, document_delete, document_update
from .text import case_variants


class DocTypeFilter(admin.SimpleListFilter):
    title = "type"
    parameter_name = "doc_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(t.name, t.label_plural) for t in DOC_TYPES.values()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(doc_type=self.value()) if self.value() else queryset


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("key", "title", "type_label", "visibility", "updated_at", "version")
    list_display_links = ("key", "title")
    list_filter = (DocTypeFilter, "visibility")
    search_fields = ("key", "title")
    ordering = ("doc_type", "key")
    list_per_page = 50
    actions = ["delete_selected_documents"]

    @admin.display(description="Type", ordering="doc_type")
    def type_label(self, obj: Document) -> str:
        return obj.schema.label if obj.doc_type in DOC_TYPES else obj.doc_type

    @admin.display(description="Page")
    def page_link(self, obj: Document) -> str:
        return format_html('<a href="{}" target="_blank">{}</a>', obj.get_absolute_url(), obj.get_absolute_url())

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        # The built-in bulk delete bypasses the service (and so the re-index).
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Delete selected documents", permissions=["delete"])
    def delete_selected_documents(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for document in queryset:
            document_delete(document=document)
            count += 1
        self.message_user(request, f"Deleted {count} document(s).", messages.SUCCESS)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        # Also match the Turkish case variants of the term (izin → İzin).
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(key__iexact=term)
        for variant in case_variants(term):
            match |= Q(title__icontains=variant)
        return queryset.filter(match), False

    def _doc_type_for(self, request: HttpRequest, obj: Document | None):
        if obj is not None:
            return obj.schema
        return get_doctype(request.GET.get("doc_type", ""))

    def get_form(self, request: HttpRequest, obj: Document | None = None, change: bool = False, **kwargs: Any):
        return document_form_for(self._doc_type_for(request, obj), creating=obj is None)

    def get_readonly_fields(self, request: HttpRequest, obj: Document | None = None) -> tuple:
        if obj is None:
            return ()
        return ("key", "type_label", "version", "updated_at", "updated_by", "page_link")

    def get_fieldsets(self, request: HttpRequest, obj: Document | None = None) -> list:
        doc_type = self._doc_type_for(request, obj)
        head = ["key", "visibility"] if obj is None else ["key", "type_label", "page_link", "visibility"]
        body = [PREFIX + spec.name for spec in doc_type.fields]
        fieldsets = [
            (None, {"fields": head}),
            (doc_type.label, {"fields": body}),
            ("Other fields", {"fields": ["extra_fields"], "classes": ["collapse"]}),
        ]
        if obj is not None:
            fieldsets.append(("History", {"fields": ["version", "updated_at", "updated_by"]}))
        return fieldsets

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        if request.GET.get("doc_type") not in DOC_TYPES:
            # Pick the type first: the form's fields depend on it.
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Add a document",
                "doc_types": DOC_TYPES.values(),
            }
            return TemplateResponse(request, "admin/knowledge/document/choose_type.html", context)
        extra_context = {**(extra_context or {}), "title": f"Add {get_doctype(request.GET['doc_type']).label.lower()}"}
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Document, form: Any, change: bool) -> None:
        if change:
            current = Document.objects.get(pk=obj.pk)
            document_update(document=current, body=form.body, visibility=obj.visibility, by=request.user)
        else:
            created = document_create(
                key=obj.key, doc_type=form.doc_type.name, body=form.body, visibility=obj.visibility, by=request.user
            )
            obj.pk = created.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Document) -> None:
        document_delete(document=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for document in queryset:
            document_delete(document=document)
