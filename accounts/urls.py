from __future__ import annotations

from django.urls import path

from . import views
from .api import views as api_views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("sessions/", views.sessions_view, name="sessions"),
    path("sessions/<int:login_session_id>/revoke/", views.session_revoke_view, name="session-revoke"),
    path("sessions/revoke-others/", views.sessions_revoke_others_view, name="sessions-revoke-others"),
    path("sessions/token/", views.api_token_create_view, name="api-token-create"),
    path("sessions/token/revoke/", views.api_token_revoke_view, name="api-token-revoke"),
    path("api/auth/token/", api_views.token_obtain, name="api-token"),
    path("api/auth/jwt/", api_views.jwt_obtain, name="api-jwt"),
    path("api/auth/jwt/refresh/", api_views.jwt_refresh, name="api-jwt-refresh"),
    path("api/auth/logout/", api_views.api_logout, name="api-logout"),
]
