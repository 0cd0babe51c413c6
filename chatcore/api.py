"""One error shape for the whole API: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def error_response(
    *, code: str, message: str, status_code: int, details: Any = None, headers: dict | None = None
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(body, status=status_code, headers=headers)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    detail = exc.detail
    if isinstance(detail, (dict, list)):
        message = "The request is not valid." if response.status_code == 400 else str(exc.default_detail)
        details = detail
    else:
        message = str(detail)
        details = {}
    code = exc.get_codes() if not isinstance(detail, (dict, list)) else "invalid"
    if response.status_code == status.HTTP_400_BAD_REQUEST and isinstance(exc, exceptions.ParseError):
        code = "parse_error"
    response.data = {"error": {"code": code, "message": message, "details": details}}
    return response
