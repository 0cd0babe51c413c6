"""The Celery app. With ``REDIS_URL`` set it uses Redis as broker and result
backend; without it, tasks run eagerly in the calling process (see settings)."""

from __future__ import annotations

from celery import Celery

from chatcore.env import configure_settings_module

configure_settings_module()

app = Celery("chatcore")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
