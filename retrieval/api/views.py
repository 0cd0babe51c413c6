"""Documents over the API: ranked search and reading one document, as the caller may see it."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from chatcore.api import error_response
from knowledge.doctypes import DOC_TYPES
from knowledge.selectors import document_get, document_list

from ..services import QueryError, search_documents
from .serializers import DocumentDetailSerializer, DocumentResultSerializer, DocumentSearchQuerySerializer


@extend_schema(
    parameters=[
        OpenApiParameter("q", str, description="Search text (Turkish or English); without it, documents are listed."),
        OpenApiParameter("doc_type", str, enum=list(DOC_TYPES)),
        OpenApiParameter("limit", int, description="1-50, default 10"),
    ],
    responses={200: DocumentResultSerializer(many=True)},
)
@api_view(["GET"])
def document_search(request: Request) -> Response:
    """Ranked hybrid search over the documents the caller may see (a plain list without ``q``)."""
    params = DocumentSearchQuerySerializer(data=request.query_params)
    params.is_valid(raise_exception=True)
    q = params.validated_data.get("q", "")
    doc_type = params.validated_data.get("doc_type", "")
    limit = params.validated_data["limit"]
    if doc_type and doc_type not in DOC_TYPES:
        return error_response(code="invalid", message=f"Unknown doc_type {doc_type!r}.", status_code=400,
                              details={"doc_type": [f"One of: {', '.join(DOC_TYPES)}."]})
    if not q:
        documents = document_list(user=request.user, doc_type=doc_type)[:limit]
        results = [{"key": d.key, "doc_type": d.doc_type, "title": d.title, "score": None,
                    "snippet": "", "url": d.get_absolute_url()} for d in documents]
        return Response({"results": results})
    try:
        hits = search_documents(user=request.user, query=q, k=limit, doc_type=doc_type)
    except QueryError as exc:
        return error_response(code="invalid", message=str(exc), status_code=status.HTTP_400_BAD_REQUEST)
    return Response({"results": DocumentResultSerializer(hits, many=True).data})


@extend_schema(responses={200: DocumentDetailSerializer})
@api_view(["GET"])
def document_detail(request: Request, key: str) -> Response:
    """One document; sensitive fields only for HR and admins. Unknown or hidden: 404."""
    document = document_get(user=request.user, key=key)
    if document is None:
        return error_response(code="not_found", message="No such document.", status_code=404)
    data = {
        "key": document.key, "doc_type": document.doc_type, "title": document.title,
        "body": document.visible_body(request.user), "visibility": document.visibility,
        "version": document.version, "updated_at": document.updated_at, "url": document.get_absolute_url(),
    }
    return Response(DocumentDetailSerializer(data).data)
