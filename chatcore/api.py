"""What every API endpoint shares: one error shape ``{"error": {"code", "message", "details"}}``,
strict serializers, cursor pagination and the error responses the OpenAPI schema documents.
The strict JSON parser is in ``parsers`` (DRF imports it while ``rest_framework.views`` loads)."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_ratelimit.exceptions import Ratelimited
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, pagination, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .parsers import RequestTooLarge

# --- Errors -------------------------------------------------------------------


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The request conflicts with the current state of the resource.")
    default_code = "conflict"

    def __init__(self, detail: str | None = None, *, details: Any = None) -> None:
        super().__init__(detail)
        self.details = details


def error_response(*, code: str, message: str, status_code: int, details: Any = None, headers: dict | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(body, status=status_code, headers=headers)


def _as_api_exception(exc: Exception) -> Exception:
    """Django's own exceptions, raised by services, selectors or Django itself, as DRF's."""
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, Ratelimited):
        # A PermissionDenied subclass: without this it would be a misleading 403.
        return exceptions.Throttled(wait=getattr(exc, "wait", None))
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(serializers.as_serializer_error(exc))
    return exc


def exception_handler(exc: Exception, context: dict) -> Response | None:
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    detail = exc.detail
    if isinstance(detail, (dict, list)):
        message = _("The request is not valid.") if response.status_code == 400 else str(exc.default_detail)
        details = detail
        code = "invalid"
    else:
        message = str(detail)
        details = getattr(exc, "details", None) or {}
        code = exc.get_codes()
    if isinstance(exc, exceptions.ParseError):
        code = "parse_error"
    response.data = {"error": {"code": code, "message": message, "details": details}}
    return response


# --- Input ----------------------------------------------------------------------


def _type_error(field: serializers.Field, value: Any) -> str | None:
    if value is None:
        return None  # allow_null decides
    if isinstance(field, serializers.ChoiceField):
        # "1" and true would otherwise pass for the choice 1.
        if not any(type(value) is type(choice) and value == choice for choice in field.choices):
            return _("%(value)s is not a valid choice.") % {"value": json.dumps(value)}
        return None
    if isinstance(field, serializers.CharField) and not isinstance(value, str):
        return _("Not a valid string.")
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return _("Must be true or false.")
    if isinstance(field, (serializers.IntegerField, serializers.FloatField)) and (
        isinstance(value, bool) or not isinstance(value, (int, float))
    ):
        return _("A valid number is required.")
    return None


# For JSON bodies: a key the serializer does not accept is a 400 (a typo such as "titel"
# would otherwise be ignored in silence), and so is a value of the wrong JSON type
# ("title": 5, "version": "3"), which DRF would otherwise coerce. (A comment, not a
# docstring: the OpenAPI schema would show it on every request body.)
class StrictSerializerMixin:
    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors: dict[str, list[str]] = {}
            writable = {name for name, field in self.fields.items() if not field.read_only}
            for key in data:
                if key not in writable:
                    errors[key] = [_("This field is read-only.") if key in self.fields else _("Unknown field.")]
            for name in writable & set(data):
                problem = _type_error(self.fields[name], data[name])
                if problem:
                    errors[name] = [problem]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictSerializer(StrictSerializerMixin, serializers.Serializer):
    pass


# --- Pagination -----------------------------------------------------------------


class CursorPagination(pagination.CursorPagination):
    """Opaque ``next``/``previous`` links; stable while new rows arrive at the top."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            # A damaged cursor is the client's mistake, not a missing resource.
            raise exceptions.ValidationError({self.cursor_query_param: [_("Invalid cursor.")]}) from None


# --- OpenAPI ----------------------------------------------------------------------


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: invalid, parse_error, not_found…")
    message = serializers.CharField(help_text="For people; may change.")
    details = serializers.JSONField(help_text='Field errors for 400 (`{"field": ["…"]}`), else `{}`.')


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


_ERROR_DESCRIPTIONS = {
    400: "Invalid request: `parse_error` (malformed JSON), `invalid` (field errors in `details`)",
    401: "No or invalid credentials (`not_authenticated`, `authentication_failed`)",
    403: "Authenticated but not allowed (`permission_denied`)",
    404: "Not found, or not yours (`not_found`)",
    405: "Method not allowed (`method_not_allowed`); see the `Allow` header",
    406: "None of the media types in `Accept` can be served (`not_acceptable`)",
    409: "Conflict with the current state (`conflict`)",
    413: "Request body too large (`request_too_large`)",
    415: "Content-Type is not application/json (`unsupported_media_type`)",
    429: "Too many requests (`throttled`); see `Retry-After`",
}


def error_responses(*codes: int, media_type: str | None = None, **descriptions: str) -> dict:
    """``{status: OpenApiResponse(ErrorSerializer)}`` for ``extend_schema(responses=...)``;
    ``descriptions`` overrides a default text by status (``_404="No such conversation"``).
    With ``media_type`` the errors are documented for that type only (the chat endpoint
    streams its answers but reports errors as JSON)."""
    return {
        ((code, media_type) if media_type else code): OpenApiResponse(
            ErrorSerializer, description=descriptions.get(f"_{code}", _ERROR_DESCRIPTIONS[code])
        )
        for code in codes
    }
