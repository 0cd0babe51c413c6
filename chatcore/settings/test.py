"""The test suite. Uses ``DATABASE_URL`` and ``REDIS_URL`` when set (CI sets both)
so the same tests run on PostgreSQL and Redis."""

from __future__ import annotations

import os
from pathlib import Path

from .base import *  # noqa: F403
from .base import local_secret_key
from .environment import env

DEBUG = False
SECRET_KEY = SECRET_KEY or local_secret_key()  # noqa: F405
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "accounts.hashers.LegacyPBKDF2SHA256Hasher",
]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://localhost/"
CELERY_RESULT_BACKEND = "cache+memory://"
# The channel layer stays in memory except in tests that exist to prove Redis.
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Tests of one run share a Redis database with other runs: keep their keys apart.
CACHES["default"]["KEY_PREFIX"] = f"chatcore-test-{os.getpid()}"  # noqa: F405
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
INDEX_DIR = Path(env.str("INDEX_DIR", None) or VAR_DIR / "test-index")  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Static files are served from the source folders; no collectstatic for tests.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# A file, not memory, so a test can start a second process on the same database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}  # noqa: F405
