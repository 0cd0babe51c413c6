"""The search index version, shared by every process and machine through the database."""

from __future__ import annotations

from django.db import models

from .fields import EmbeddingField, TermsField


class IndexState(models.Model):
    """One row. ``version`` grows on every rebuild or document change; a process
    whose loaded index is older reloads it, or rebuilds it locally when its own
    ``INDEX_DIR`` does not have that version (another machine built it)."""

    version = models.PositiveBigIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)
    embedder = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The last rebuild's progress, in documents (the PostgreSQL backend's parallel rebuild counts
    # its chunks here as Celery workers finish them; shown in the admin).
    rebuild_total = models.PositiveIntegerField(default=0)
    rebuild_done = models.PositiveIntegerField(default=0)
    rebuild_started_at = models.DateTimeField(null=True, blank=True)
    rebuild_finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "search index state"

    def __str__(self) -> str:
        return f"index v{self.version}"


class IndexCollection(models.Model):
    """One searchable collection of the PostgreSQL backend (the ``staff`` and ``hr`` views, or a
    benchmark's corpus) and the statistics BM25 needs, kept in the same transaction as its
    passages: how many passages, their total token count, and the embedder and dimension of
    their vectors."""

    name = models.CharField(max_length=64, primary_key=True)
    embedder = models.CharField(max_length=100, blank=True)
    dim = models.PositiveIntegerField(default=0)
    passages = models.BigIntegerField(default=0)
    total_length = models.BigIntegerField(default=0)
    built_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "search collection"

    def __str__(self) -> str:
        return f"{self.name}: {self.passages} passages"


class IndexedPassage(models.Model):
    """A passage of a document in one collection, with its tokens (GIN-indexed ``tsvector``) and
    its vector (HNSW-indexed per dimension). ``document`` carries no constraint: a deleted
    document's passages stop matching at once (searches join the documents the asker may see)
    and are removed, with their statistics, by the re-index that follows."""

    collection = models.CharField(max_length=64)
    document = models.ForeignKey(
        "knowledge.Document", on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    key = models.CharField(max_length=64)
    position = models.PositiveIntegerField()
    section = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    language = models.PositiveSmallIntegerField()
    length = models.PositiveIntegerField()
    terms = TermsField()
    embedding = EmbeddingField()
    dim = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["collection", "key", "position"], name="retrieval_passage_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.collection}/{self.key}#{self.position}"


class IndexTerm(models.Model):
    """In how many passages of a collection a token occurs (BM25's document frequency)."""

    collection = models.CharField(max_length=64)
    term = models.CharField(max_length=200)
    df = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["collection", "term"], name="retrieval_term_unique")]

    def __str__(self) -> str:
        return f"{self.collection}/{self.term}: {self.df}"


class IndexPosting(models.Model):
    """BM25's postings: a token of a collection, a passage holding it, how often, and the passage's
    length. On PostgreSQL the primary key's index also carries ``tf`` and ``length``, so a search
    reads a token's postings from the index alone."""

    pk = models.CompositePrimaryKey("collection", "term", "passage_id")
    collection = models.CharField(max_length=64)
    term = models.CharField(max_length=200)
    passage_id = models.BigIntegerField()
    tf = models.PositiveSmallIntegerField()
    length = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.collection}/{self.term}@{self.passage_id}"
