from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("documents/<str:key>/", views.document_detail, name="document"),
]
