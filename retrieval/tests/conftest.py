from __future__ import annotations

import pytest

from .llm_servers import LLMServer


@pytest.fixture
def llm_server():
    """Start local servers speaking a provider's wire protocol: ``llm_server("openai")``."""
    started: list[LLMServer] = []

    def start(wire: str) -> LLMServer:
        server = LLMServer(wire).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
