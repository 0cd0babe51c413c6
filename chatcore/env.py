"""Choose the settings module from ``DJANGO_ENV`` before Django starts."""

from __future__ import annotations

import os

SETTINGS_BY_ENV = {
    "local": "chatcore.settings.local",
    "test": "chatcore.settings.test",
    "production": "chatcore.settings.production",
}


def configure_settings_module() -> None:
    """Set ``DJANGO_SETTINGS_MODULE`` from ``DJANGO_ENV`` unless it is already set."""
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        return
    name = os.environ.get("DJANGO_ENV", "local").strip().lower() or "local"
    if name not in SETTINGS_BY_ENV:
        allowed = ", ".join(sorted(SETTINGS_BY_ENV))
        raise SystemExit(f"DJANGO_ENV={name!r} is not one of: {allowed}")
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_BY_ENV[name]
