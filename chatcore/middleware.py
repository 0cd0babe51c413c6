"""Request checks that must happen before any view reads the body."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .errors import api_error


def api_body_length(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """An API request with a chunked body and no ``Content-Length`` is a 411. DRF reads a body
    only as far as its declared length, so it would otherwise see an empty body and act on
    nothing (a conversation created without the title the client sent)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not request.META.get("CONTENT_LENGTH") and request.path.startswith("/api/"):
            return api_error("length_required", "Send the body with a Content-Length header, not chunked.", 411)
        return get_response(request)

    return middleware
