"""Column types of the PostgreSQL search backend. On PostgreSQL they are ``tsvector`` and
pgvector's ``vector``; on SQLite (which never searches these tables, the embedded index serves
there) plain ``text`` and ``blob``, so one set of migrations works on both."""

from __future__ import annotations

from django.db import models


class TermsField(models.Field):
    """A passage's BM25 tokens with their positions: ``'izin':1,7 'leav':2``."""

    description = "search tokens (tsvector)"

    def db_type(self, connection) -> str:
        return "tsvector" if connection.vendor == "postgresql" else "text"


class EmbeddingField(models.Field):
    """A passage's unit vector, of any dimension: each embedder's HNSW index is built on the
    expression ``embedding::vector(dim)`` for the rows of that dimension."""

    description = "embedding (pgvector vector)"

    def db_type(self, connection) -> str:
        return "vector" if connection.vendor == "postgresql" else "blob"
