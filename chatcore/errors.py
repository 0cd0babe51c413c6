"""Error pages: JSON in the API's error shape under /api/, HTML elsewhere. DRF views answer
their own errors; these cover what happens outside them (unknown URLs, Django's own checks,
crashes)."""

from __future__ import annotations

import sys

import structlog
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.exceptions import Ratelimited

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
            return api_error("request_too_large", _("The request body is too large."), 413)
        return HttpResponse(_("Request body too large."), status=413, content_type="text/plain; charset=utf-8")
    if _is_api(request):
        return api_error("bad_request", _("Bad request."), 400)
    return _page(request, "400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if isinstance(exception, Ratelimited):
        return too_many_requests(request, getattr(exception, "wait", None))
    if _is_api(request):
        return api_error("permission_denied", _("You do not have permission to perform this action."), 403)
    return _page(request, "403.html", 403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without its CSRF token or cookie (an old tab, blocked cookies): our 403 page,
    saying what to do, instead of Django's developer page."""
    if _is_api(request):
        return api_error("csrf_failed", _("CSRF check failed: send the CSRF token with the session cookie."), 403)
    return _page(request, "403.html", 403, {"csrf_failure": True})


def too_many_requests(request: HttpRequest, wait: int | None = None) -> HttpResponse:
    from accounts.ratelimits import wait_text

    if _is_api(request):
        response = api_error("throttled", _("Request was throttled."), 429)
    else:
        response = _page(request, "429.html", 429, {"wait": _("in %(wait)s") % {"wait": wait_text(wait)} if wait else ""})
    if wait:
        response["Retry-After"] = str(int(wait))
    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_error("not_found", _("Not found."), 404)
    return _page(request, "404.html", 404)


def _page(request: HttpRequest, template: str, status: int, context: dict | None = None) -> HttpResponse:
    """An error page in the site's layout and the request's language."""
    return render(request, template, context or {}, status=status)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 while the database cannot be reached: the request may succeed if sent again,
    which a 500 would not say. No detail: the error's text names the host."""
    log.warning("database_unavailable", path=request.path)
    if _is_api(request):
        response = api_error("unavailable", _("The service is briefly unavailable; try again shortly."), 503)
    else:
        response = HttpResponse(
            _("Service briefly unavailable; try again shortly."), status=503, content_type="text/plain; charset=utf-8"
        )
    response["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its except block, for a view's exception and a middleware's
    # alike (a session or sign-in lookup fails first when the database goes away).
    if isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):
        return database_unavailable(request)
    if _is_api(request):
        return api_error("server_error", _("Something went wrong on our side; it has been logged."), 500)
    return defaults.server_error(request)


@csrf_exempt
def api_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Every /api/ URL no endpoint answers: JSON even with DEBUG on, where Django would show
    its HTML debug page. A URL that only lacks its trailing slash is named rather than
    redirected to, since a redirected POST arrives without its body."""
    message = _("Not found.")
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            message = _("Not found. Did you mean %(path)s/ (with the trailing slash)?") % {"path": request.path}
    return api_error("not_found", message, 404)
