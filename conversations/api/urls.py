from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("api/chat/", views.ChatView.as_view(), name="api-chat"),
    path("api/conversations/", views.ConversationListView.as_view(), name="api-conversations"),
    # Any text: a malformed id is a 404 in the API's error shape, like an unknown one.
    path("api/conversations/<str:conversation_id>/", views.ConversationDetailView.as_view(), name="api-conversation"),
    path("api/conversations/<str:conversation_id>/messages/", views.MessageListView.as_view(), name="api-conversation-messages"),
    path("api/messages/<int:message_id>/feedback/", views.message_feedback, name="api-message-feedback"),
]
