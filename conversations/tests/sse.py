"""Reading a streamed chat answer in tests."""

from __future__ import annotations

import json


def sse_events(response) -> list[tuple[str, dict]]:
    """The ``(event, data)`` pairs of a Server-Sent Events response, in order."""
    raw = b"".join(response.streaming_content).decode()
    events = []
    for block in raw.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events
