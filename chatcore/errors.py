"""Error pages: JSON in the API's error shape under /api/, HTML elsewhere. DRF views answer
their own errors; these cover what happens outside them (unknown URLs, Django's own checks,
crashes)."""

from __future__ import annotations

import sys

import structlog
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

log = structlog.get_logger(__name__)

# Seconds a client is asked to wait while the database is unreachable (a restart, a failover).
UNAVAILABLE_RETRY_AFTER = 5


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def api_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        if _is_api(request):
            return api_error("request_too_large", "The request body is too large.", 413)
        return HttpResponse("Request body too large.", status=413, content_type="text/plain; charset=utf-8")
    if _is_api(request):
        return api_error("bad_request", "Bad request.", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_error("permission_denied", "You do not have permission to perform this action.", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_error("not_found", "Not found.", 404)
    return defaults.page_not_found(request, exception, template_name="404.html")


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 while the database cannot be reached: the request may succeed if sent again,
    which a 500 would not say. No detail: the error's text names the host."""
    log.warning("database_unavailable", path=request.path)
    if _is_api(request):
        response = api_error("unavailable", "The service is briefly unavailable; try again shortly.", 503)
    else:
        response = HttpResponse(
            "Service briefly unavailable; try again shortly.", status=503, content_type="text/plain; charset=utf-8"
        )
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its except block, for a view's exception and a middleware's
    # alike (a session or sign-in lookup fails first when the database goes away).
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        return database_unavailable(request)
    if _is_api(request):
        return api_error("server_error", "Something went wrong on our side; it has been logged.", 500)
    return defaults.server_error(request)


@csrf_exempt
def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Every /api/ URL no endpoint answers: JSON even with DEBUG on, where Django would show
    its HTML debug page. A URL that only lacks its trailing slash is named rather than
    redirected to, since a redirected POST arrives without its body."""
    message = "Not found."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            message = f"Not found. Did you mean {request.path}/ (with the trailing slash)?"
    return api_error("not_found", message, 404)
