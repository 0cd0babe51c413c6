"""Prometheus metrics for search and the index, defined in the app that owns them so
the answer pipeline above and the services here can both use them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RETRIEVAL_LATENCY = Histogram(
    "chatcore_retrieval_latency_seconds",
    "Hybrid search for a chat question or a document search.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0),
)
INDEX_VERSION = Gauge("chatcore_index_version", "Version of the index this process serves from.")
INDEX_PASSAGES = Gauge("chatcore_index_passages", "Passages (chunks) in the index this process serves from.")
INDEX_DOCUMENTS = Gauge("chatcore_index_documents", "Documents in the index this process serves from.")

# Words, as Message.token_count counts them: providers do not all report usage.
TOKENS_IN = Counter("chatcore_chat_tokens_in", "Words sent to a provider (prompt, sources, history).", ["provider"])
ANSWER_CACHE_HITS = Counter("chatcore_answer_cache_hits", "Answers served from the answer cache.")
ANSWER_CACHE_MISSES = Counter("chatcore_answer_cache_misses", "Answers that had to be written by a provider.")
PROVIDER_ERRORS = Counter("chatcore_provider_errors", "Provider failures while answering.", ["provider"])
PROVIDER_FALLBACKS = Counter(
    "chatcore_provider_fallbacks", "Answers handed to the offline answerer after a provider failed.", ["provider"]
)
STRUCTURED_ANSWERS = Counter("chatcore_structured_answers", "Answers written from the structured documents, by kind.", ["kind"])
