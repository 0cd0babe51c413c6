"""Prometheus metrics for search and the index, defined in the app that owns them so
the answer pipeline above and the services here can both use them."""

from __future__ import annotations

from prometheus_client import Gauge, Histogram

RETRIEVAL_LATENCY = Histogram(
    "chatcore_retrieval_latency_seconds", "Hybrid search for a chat question or a document search.",
    ["kind"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0),
)
INDEX_VERSION = Gauge("chatcore_index_version", "Version of the index this process serves from.")
INDEX_PASSAGES = Gauge("chatcore_index_passages", "Passages (chunks) in the index this process serves from.")
INDEX_DOCUMENTS = Gauge("chatcore_index_documents", "Documents in the index this process serves from.")
