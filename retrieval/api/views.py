"""Documents over the API: ranked search over what the caller may see. ``POST`` on the same
URL (HR adds a document) and ``/api/documents/<key>/`` are knowledge's."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from chatcore.api import error_response, error_responses
from knowledge.api.views import DocumentCreateView
from knowledge.doctypes import DOC_TYPES
from knowledge.selectors import document_list, in_reading_order

from ..services import QueryError, search_documents
from .serializers import DocumentResultSerializer, DocumentSearchQuerySerializer, DocumentSearchResponseSerializer


class DocumentCollectionView(DocumentCreateView):
    """``GET`` searches (here); ``POST`` creates (inherited from knowledge)."""

    @extend_schema(
        operation_id="documents_search",
        tags=["documents"],
        parameters=[
            OpenApiParameter(
                "q",
                str,
                description="Search text (Turkish or English), 1 to 4,000 characters; without it, documents are listed "
                "(an empty `q=` is a 400).",
            ),
            OpenApiParameter("doc_type", str, enum=list(DOC_TYPES)),
            OpenApiParameter("limit", int, description="1-50, default 10"),
        ],
        responses={200: DocumentSearchResponseSerializer, **error_responses(400, 401, 429)},
        description="Ranked hybrid search over the documents the caller may see (a plain list without `q`, with `score` null).",
    )
    def get(self, request: Request) -> Response:
        params = DocumentSearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        q = params.validated_data.get("q", "")
        doc_type = params.validated_data.get("doc_type", "")
        limit = params.validated_data["limit"]
        if doc_type and doc_type not in DOC_TYPES:
            return error_response(
                code="invalid",
                message=_("Unknown doc_type %(value)r.") % {"value": doc_type},
                status_code=400,
                details={"doc_type": [f"One of: {', '.join(DOC_TYPES)}."]},
            )
        if not q and "q" in request.query_params:
            # ``?q=`` (or only spaces) is a search for nothing, not a request for the list.
            return error_response(
                code="invalid",
                message=_("The request is not valid."),
                status_code=400,
                details={"q": [_("Write something to search for, or leave q out to list the documents.")]},
            )
        if not q:
            listed = document_list(user=request.user, doc_type=doc_type).only("key", "doc_type", "title")
            documents = in_reading_order(listed)[:limit]
            results = [
                {
                    "key": d.key,
                    "doc_type": d.doc_type,
                    "title": d.title,
                    "score": None,
                    "snippet": "",
                    "url": d.get_absolute_url(),
                }
                for d in documents
            ]
            return Response({"results": results})
        try:
            hits = search_documents(user=request.user, query=q, k=limit, doc_type=doc_type)
        except QueryError as exc:
            return error_response(code="invalid", message=str(exc), status_code=status.HTTP_400_BAD_REQUEST)
        return Response({"results": DocumentResultSerializer(hits, many=True).data})
