"""Request-wide middleware: the request id and log line, and checks that must happen
before any view reads the body."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

import structlog
from django.http import HttpRequest, HttpResponse
from django.utils.functional import empty
from django.utils.translation import gettext as _

from .errors import api_error

log = structlog.get_logger("chatcore.request")

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's or client's id is kept only if it cannot forge log structure or grow the line.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def request_id_from(value: str) -> str:
    """The caller's ``X-Request-ID`` when it is sane, otherwise a new uuid4 hex."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def _user_id(request: HttpRequest) -> int | None:
    # Only a user the request already resolved: loading one here would cost a query
    # on requests that never needed it (static files, /healthz).
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if user.is_authenticated else None


def request_log(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Binds a request id into structlog's context for every line the request logs,
    returns it in ``X-Request-ID``, and logs one ``request`` line. The path is logged
    without its query string, which can carry what someone searched for."""

    def middleware(request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID", ""))
        request.request_id = request_id
        # Not cleared afterwards: a streamed answer logs after this returns.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        response = get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        log.info(
            "request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            user_id=_user_id(request),
        )
        return response

    return middleware


def api_body_length(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """An API request with a chunked body and no ``Content-Length`` is a 411. DRF reads a body
    only as far as its declared length, so it would otherwise see an empty body and act on
    nothing (a conversation created without the title the client sent)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not request.META.get("CONTENT_LENGTH") and request.path.startswith("/api/"):
            return api_error("length_required", _("Send the body with a Content-Length header, not chunked."), 411)
        return get_response(request)

    return middleware
