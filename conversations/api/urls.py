from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("api/chat/", views.chat, name="api-chat"),
    path("api/messages/<int:message_id>/feedback/", views.message_feedback, name="api-message-feedback"),
]
