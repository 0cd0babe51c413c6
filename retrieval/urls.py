from __future__ import annotations

from django.urls import path

from . import views
from .api import views as api_views

urlpatterns = [
    path("documents/", views.document_index, name="document-index"),
    path("api/documents/", api_views.DocumentCollectionView.as_view(), name="api-document-search"),
]
