from __future__ import annotations

from django.urls import path, re_path

from . import views
from .models import ID_PATTERN

urlpatterns = [
    path("", views.chat, name="chat"),
    re_path(rf"^c/(?P<conversation_id>{ID_PATTERN})/$", views.conversation_detail, name="conversation"),
    re_path(rf"^c/(?P<conversation_id>{ID_PATTERN})/rename/$", views.conversation_rename_view, name="conversation-rename"),
    re_path(rf"^c/(?P<conversation_id>{ID_PATTERN})/delete/$", views.conversation_delete_view, name="conversation-delete"),
    path("conversations/", views.conversation_search, name="conversation-search"),
    path("m/<int:message_id>/feedback/", views.message_feedback, name="message-feedback"),
]
