"""ChatCore.AI project package: settings, URLs, ASGI/WSGI entry points, Celery app."""

from __future__ import annotations

from .celery import app as celery_app

__all__ = ["celery_app"]
