"""Settings for the Celery worker that ``test_celery_worker.py`` starts: the test
settings (and so the test database named by ``DATABASE_URL``), but tasks come from
Redis instead of running eagerly in the caller."""

from __future__ import annotations

import os

from chatcore.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = CELERY_RESULT_BACKEND = os.environ["REDIS_URL"]
