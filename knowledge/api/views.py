"""Documents over the API: read one, and (HR and admins) create, replace and delete them
through the same services as admin, so every write is validated and re-indexed alike.
The search over ``GET /api/documents/`` is retrieval's; it extends ``DocumentCreateView``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chatcore.api import Conflict, error_responses

from ..models import Document
from ..selectors import document_get
from ..services import DocumentConflict, document_create, document_delete, document_update
from .serializers import DocumentCreateSerializer, DocumentSerializer, DocumentUpdateSerializer

_HIDDEN = "No such document (unknown, or for HR only)"
_WRITERS = "Only HR and admins may change documents"


def _document_for(request: Request, key: str) -> Document:
    """A document the caller may read; 404 for unknown keys and for HR-only documents
    the caller may not see, so their existence does not leak."""
    document = document_get(user=request.user, key=key)
    if document is None:
        raise exceptions.NotFound(_("No such document."))
    return document


def _require_writer(request: Request) -> None:
    if not request.user.is_hr:
        raise exceptions.PermissionDenied(f"{_WRITERS}.")


def _as_api_error(exc: ValidationError) -> Exception:
    """Schema errors name body fields, so they go under ``body``; clashes are 409."""
    if isinstance(exc, DocumentConflict):
        message = next(iter(exc.messages), "Conflict.")
        return Conflict(message, details=exc.message_dict)
    return exceptions.ValidationError({"body": exc.message_dict})


def _represent(document: Document, request: Request) -> dict:
    return DocumentSerializer(document, context={"user": request.user}).data


class DocumentCreateView(APIView):
    @extend_schema(
        tags=["documents"],
        request=DocumentCreateSerializer,
        responses={
            201: DocumentSerializer,
            **error_responses(400, 401, 403, 409, 413, 415, 429, _403=_WRITERS, _409="A document with this key already exists"),
        },
        description="HR and admins add a document. The body is validated against the type's schema "
        "(field errors under `details.body`); the search index follows within seconds.",
    )
    def post(self, request: Request) -> Response:
        _require_writer(request)
        serializer = DocumentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            document = document_create(**serializer.validated_data, by=request.user)
        except ValidationError as exc:
            raise _as_api_error(exc) from None
        return Response(
            _represent(document, request), status=status.HTTP_201_CREATED, headers={"Location": f"/api/documents/{document.key}/"}
        )


class DocumentDetailView(APIView):
    @extend_schema(
        tags=["documents"],
        responses={200: DocumentSerializer, **error_responses(401, 404, 429, _404=_HIDDEN)},
        description="One document; sensitive fields only for HR and admins.",
    )
    def get(self, request: Request, key: str) -> Response:
        return Response(_represent(_document_for(request, key), request))

    @extend_schema(
        tags=["documents"],
        request=DocumentUpdateSerializer,
        responses={
            200: DocumentSerializer,
            **error_responses(
                400,
                401,
                403,
                404,
                409,
                413,
                415,
                429,
                _403=_WRITERS,
                _404=_HIDDEN,
                _409="`version` is not the stored version (someone changed it since)",
            ),
        },
        description="HR and admins replace a document's body and visibility. Send the `version` you read "
        "to be told (409) instead of overwriting someone else's change.",
    )
    def put(self, request: Request, key: str) -> Response:
        document = _document_for(request, key)
        _require_writer(request)
        serializer = DocumentUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            document = document_update(
                document=document,
                body=data["body"],
                visibility=data["visibility"],
                by=request.user,
                expected_version=data.get("version"),
            )
        except ValidationError as exc:
            raise _as_api_error(exc) from None
        return Response(_represent(document, request))

    @extend_schema(
        tags=["documents"],
        responses={204: None, **error_responses(401, 403, 404, 429, _403=_WRITERS, _404=_HIDDEN)},
        description="HR and admins delete a document; it leaves the search index.",
    )
    def delete(self, request: Request, key: str) -> Response:
        document = _document_for(request, key)
        _require_writer(request)
        document_delete(document=document)
        return Response(status=status.HTTP_204_NO_CONTENT)
