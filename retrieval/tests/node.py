"""A second "machine" for the multi-node test: its own process and INDEX_DIR,
the same database. Reads queries on stdin, answers JSON lines on stdout."""

from __future__ import annotations

import json
import sys

import django


def main() -> None:
    django.setup()
    from accounts.models import User
    from retrieval.services import current_index, search_documents

    user = User.objects.get(username=sys.argv[1])
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        query = line.strip()
        if not query:
            continue
        results = search_documents(user=user, query=query, k=3)
        print(
            json.dumps(
                {"keys": [r.key for r in results], "snippets": [r.snippet for r in results], "version": current_index().version}
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
