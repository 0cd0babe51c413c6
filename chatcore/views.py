"""Operational endpoints."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_prometheus.exports import ExportToDjangoView

from accounts.models import Role

from .health import readiness


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests; touches no dependency."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Every dependency answers: 200 when all do, 503 (same body) when any does not,
    so a load balancer stops sending traffic here until they are back. Admins and
    METRICS_ALLOWED_IPS also read each part's detail (latency, index size); anyone else
    only ok or failing per part, since the detail counts documents HR alone may see."""
    report = readiness()
    if not _may_read_metrics(request):
        report = {
            "status": report["status"],
            "checks": {name: {"status": check["status"]} for name, check in report["checks"].items()},
        }
    response = JsonResponse(report, status=200 if report["status"] == "ok" else 503)
    # Each failed check is already logged, and the request line records the 503: keep
    # django.request from adding an error line to every probe while a part is down.
    response._has_been_logged = True
    return response


def _may_read_metrics(request: HttpRequest) -> bool:
    user = request.user
    if user.is_authenticated and user.is_active and (user.is_superuser or user.role == Role.ADMIN):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_IPS)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics of this process, for admins and METRICS_ALLOWED_IPS. Anyone
    else gets the same 404 as for a page that does not exist."""
    if not _may_read_metrics(request):
        raise Http404
    return ExportToDjangoView(request)
