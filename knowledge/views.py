"""A document page: one document as its viewer may see it (the search page is in ``retrieval``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .selectors import document_backlinks, document_fields, document_get


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
