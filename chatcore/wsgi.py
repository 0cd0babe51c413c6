"""WSGI entry point (management tools; the app itself is served over ASGI by daphne)."""

from __future__ import annotations

from django.core.wsgi import get_wsgi_application

from chatcore.env import configure_settings_module

configure_settings_module()
application = get_wsgi_application()
