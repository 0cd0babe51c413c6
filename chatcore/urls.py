"""URL routes. Each app owns its own; this module only wires them."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.lockout import login_attempts_limited

from . import errors, views

admin.site.site_header = _("ChatCore.AI administration")
admin.site.site_title = _("ChatCore.AI admin")
admin.site.index_title = _("Company knowledge and users")

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    # Admin's own sign-in form under the same per-IP limit and lockout as /login/.
    path("admin/login/", login_attempts_limited(admin.site.login)),
    path("admin/", admin.site.urls),
    # POST /i18n/setlang/ (Django's set_language): the header's language switch.
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's init script as a file (?script), which the CSP allows.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
    path("", include("accounts.urls")),
    path("", include("retrieval.urls")),
    path("", include("knowledge.urls")),
    path("", include("conversations.api.urls")),
    path("", include("conversations.urls")),
    # Last: whatever no endpoint above answers under /api/ is a 404 in the API's error shape.
    re_path(r"^api/", errors.api_not_found),
]

handler400 = "chatcore.errors.bad_request"
handler403 = "chatcore.errors.permission_denied"
handler404 = "chatcore.errors.page_not_found"
handler500 = "chatcore.errors.server_error"
