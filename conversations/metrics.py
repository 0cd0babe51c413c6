"""Prometheus metrics for chat answers, defined here because the answer pipeline
(``answering.ask``) is where the numbers are born. Each app defines the metrics it
owns (``retrieval.metrics``, ``accounts.ratelimits``), so no app imports a higher one."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# From a cached answer in a few milliseconds to a slow remote model at its timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0)

CHAT_LATENCY = Histogram(
    "chatcore_chat_latency_seconds", "Time from the stored question to the stored answer.",
    ["provider", "cached"], buckets=LATENCY_BUCKETS,
)
CHAT_FIRST_TOKEN = Histogram(
    "chatcore_chat_first_token_seconds", "Time from the stored question to the answer's first text.",
    ["provider", "cached"], buckets=LATENCY_BUCKETS,
)
# Words, as Message.token_count counts them: providers do not all report usage.
TOKENS_IN = Counter("chatcore_chat_tokens_in", "Words sent to a provider (prompt, sources, history).", ["provider"])
TOKENS_OUT = Counter("chatcore_chat_tokens_out", "Words of answers written by a provider.", ["provider"])
ANSWER_CACHE_HITS = Counter("chatcore_answer_cache_hits", "Answers served from the answer cache.")
ANSWER_CACHE_MISSES = Counter("chatcore_answer_cache_misses", "Answers that had to be written by a provider.")
PROVIDER_ERRORS = Counter("chatcore_provider_errors", "Provider failures while answering.", ["provider"])
PROVIDER_FALLBACKS = Counter(
    "chatcore_provider_fallbacks", "Answers handed to the offline answerer after a provider failed.", ["provider"]
)
