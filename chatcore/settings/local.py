"""``make run``: the embedded default. SQLite, in-process cache and channel layer,
eager tasks, the offline model; no running service needed."""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import local_secret_key
from .environment import env

# Off, as in production: a debug page lists every URL pattern and the settings. `make dev`
# (or DEBUG=true) turns it on for your own machine.
DEBUG = env.bool("DEBUG", False)
SECRET_KEY = SECRET_KEY or local_secret_key()  # noqa: F405
