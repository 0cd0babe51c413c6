"""The database a process uses, as a ``DATABASE_URL`` another process can be given."""

from __future__ import annotations

import urllib.parse

from django.db import connections


def database_url(alias: str = "default") -> str:
    """The URL of database ``alias`` as this process uses it (under the test runner: the test
    database). ``ValueError`` for an in-memory SQLite or a vendor other than SQLite and PostgreSQL."""
    connection = connections[alias]
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(s["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise ValueError("an in-memory SQLite database cannot be opened by another process")
        return f"sqlite:///{urllib.parse.quote(name)}"
    if connection.vendor == "postgresql":

        def quote(value) -> str:
            return urllib.parse.quote(str(value or ""), safe="")

        return (
            f"postgres://{quote(s['USER'])}:{quote(s['PASSWORD'])}@{s['HOST'] or '127.0.0.1'}:"
            f"{s['PORT'] or 5432}/{quote(s['NAME'])}"
        )
    raise ValueError(f"no URL for a {connection.vendor} database")
