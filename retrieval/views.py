"""The document search page: ranked retrieval when there is a query, a list otherwise."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from knowledge.doctypes import DOC_TYPES
from knowledge.selectors import document_list, in_reading_order

from .engine import PAGE_HITS, shown_at_once
from .services import MAX_QUERY_CHARS, QueryError, search_documents


@login_required
@require_GET
def document_index(request: HttpRequest) -> HttpResponse:
    doc_type = request.GET.get("type", "")
    if doc_type not in DOC_TYPES:
        doc_type = ""
    q = request.GET.get("q", "").strip()[:MAX_QUERY_CHARS]
    context = {
        "doc_types": DOC_TYPES.values(),
        "doc_type": doc_type,
        "q": q,
        "results": None,
        "page": None,
        # A search sent with nothing in it: say what to type (the list of documents follows).
        "empty_search": not q and "q" in request.GET,
    }
    if q:
        try:
            results = search_documents(user=request.user, query=q, k=PAGE_HITS, doc_type=doc_type)
            # The hits worth reading first; the weaker ones wait behind "show more".
            shown = shown_at_once([r.score for r in results], settings.RETRIEVAL["RELEVANCE_CUT"])
            context["results"], context["more_results"] = results[:shown], results[shown:]
        except QueryError as exc:
            context["error"] = str(exc)
            context["results"] = []
    else:
        listed = document_list(user=request.user, doc_type=doc_type)
        documents = in_reading_order(listed.only("key", "doc_type", "title", "visibility", "updated_at"))
        context["page"] = Paginator(documents, 50).get_page(request.GET.get("page"))
    template = "knowledge/document_index.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)
