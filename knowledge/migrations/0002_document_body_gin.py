"""On PostgreSQL, a GIN index on the JSONB body (containment queries such as
"projects whose members include E001"). A no-op on SQLite."""

from __future__ import annotations

from django.db import migrations

INDEX = "knowledge_document_body_gin"


def create_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON knowledge_document USING GIN (body jsonb_path_ops)"
        )


def drop_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]
    operations = [migrations.RunPython(create_gin, drop_gin)]
