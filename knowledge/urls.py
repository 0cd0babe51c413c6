from __future__ import annotations

from django.urls import path

from . import views
from .api import views as api_views

urlpatterns = [
    path("documents/<str:key>/", views.document_detail, name="document"),
    path("api/documents/<str:key>/", api_views.DocumentDetailView.as_view(), name="api-document"),
]
