"""What a web process does once at start, before it serves: load what the first question would
otherwise load, then take everything loaded so far out of the cyclic garbage collector's way.

A web process holds a few hundred thousand long-lived objects (Django, the SDKs, the tokenizer).
Python's full garbage collection walks all of them: measured under 50 answers at once, each full
collection stopped the process for 90–160 ms, several times a minute, every answer and request
waiting. ``gc.freeze()`` moves the objects alive at start to a generation the collector never
walks (reference counting still frees them), and full collections fell to 25–45 ms. Loading the
model's client and the embedder here also spares the first question about 0.7 s.
"""

from __future__ import annotations

import gc

import structlog
from django.core.exceptions import ImproperlyConfigured

log = structlog.get_logger(__name__)


def prepare_process() -> None:
    from retrieval.embeddings import get_embedder
    from retrieval.llm import get_provider

    try:
        get_provider()
    except ImproperlyConfigured as exc:
        # A provider without its key fails when it is used, with this message; not at start.
        log.warning("provider_not_ready", error=str(exc))
    try:
        get_embedder().load()
    except Exception as exc:  # noqa: BLE001 — /readyz reports the index; the first search says why
        log.warning("embedder_not_ready", error=str(exc))
    gc.freeze()
