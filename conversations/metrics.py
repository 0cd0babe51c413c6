"""Prometheus metrics for chat answers, defined here because the answer pipeline
(``answering.ask``) is where the numbers are born; those of the answer itself
(cache, providers) live in ``retrieval.metrics``. Each app defines the metrics it
owns (``retrieval.metrics``, ``accounts.ratelimits``), so no app imports a higher one."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# From a cached answer in a few milliseconds to a slow remote model at its timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)

CHAT_LATENCY = Histogram(
    "chatcore_chat_latency_seconds",
    "Time from the stored question to the stored answer.",
    ["provider", "cached"],
    buckets=LATENCY_BUCKETS,
)
CHAT_FIRST_TOKEN = Histogram(
    "chatcore_chat_first_token_seconds",
    "Time from the stored question to the answer's first text.",
    ["provider", "cached"],
    buckets=LATENCY_BUCKETS,
)
ANSWERS_RUNNING = Gauge("chatcore_chat_answers_running", "Answers being written now, in this process.")
ANSWERS_BUSY = Counter("chatcore_chat_answers_refused", "Questions refused for lack of a slot.", ["scope"])
ANSWERS_TIMED_OUT = Counter(
    "chatcore_chat_answers_stopped", "Answers stopped at a limit (first token, whole answer, length).", ["limit"]
)
# Words, as Message.token_count counts them: providers do not all report usage.
TOKENS_OUT = Counter("chatcore_chat_tokens_out", "Words of answers written by a provider.", ["provider"])
# The answer pipeline in ``retrieval`` counts what happens inside it.
from retrieval.metrics import (  # noqa: E402
    ANSWER_CACHE_HITS,
    ANSWER_CACHE_MISSES,
    PROVIDER_ERRORS,
    PROVIDER_FALLBACKS,
    TOKENS_IN,
)

__all__ = [
    "ANSWER_CACHE_HITS",
    "ANSWER_CACHE_MISSES",
    "CHAT_FIRST_TOKEN",
    "CHAT_LATENCY",
    "PROVIDER_ERRORS",
    "PROVIDER_FALLBACKS",
    "TOKENS_IN",
    "TOKENS_OUT",
]
