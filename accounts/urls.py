from __future__ import annotations

from django.urls import path

from . import views
from .api import views as api_views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("api/auth/token/", api_views.token_obtain, name="api-token"),
]
