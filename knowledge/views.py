"""Document pages: the index of company knowledge and one document as its viewer may see it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .doctypes import DOC_TYPES
from .selectors import document_backlinks, document_fields, document_get, document_list


@login_required
@require_GET
def document_index(request: HttpRequest) -> HttpResponse:
    doc_type = request.GET.get("type", "")
    if doc_type not in DOC_TYPES:
        doc_type = ""
    q = request.GET.get("q", "").strip()[:200]
    page = Paginator(document_list(user=request.user, doc_type=doc_type, q=q), 50).get_page(request.GET.get("page"))
    context = {"page": page, "doc_types": DOC_TYPES.values(), "doc_type": doc_type, "q": q}
    template = "knowledge/document_index.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


@login_required
@require_GET
def document_detail(request: HttpRequest, key: str) -> HttpResponse:
    document = document_get(user=request.user, key=key)
    if document is None:
        raise Http404("No such document.")
    context = {
        "document": document,
        "fields": document_fields(document=document, user=request.user),
        "backlinks": document_backlinks(document=document, user=request.user),
        "can_edit": request.user.has_perm("knowledge.change_document"),
    }
    return render(request, "knowledge/document_detail.html", context)
