"""The provider interface: ``stream(messages, options)`` yields the answer's text
as it is written. Providers raise one error, ``ProviderError``; the answer
pipeline decides about falling back to the offline answer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any


class ProviderError(Exception):
    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class Source:
    """A document the answer may cite as ``[n]``, with the passages the user may see."""

    n: int
    key: str
    doc_type: str
    title: str
    score: float
    passages: tuple[str, ...]


@dataclass
class Options:
    question: str
    language: str  # "tr" or "en": the language to answer in
    sources: list[Source] = field(default_factory=list)
    max_tokens: int = 512
    temperature: float = 0.1
    timeout: float = 30.0
    # The exact answer from the structured documents, when the question has one:
    # the offline answerer says it as it is; a model may word it (and cites the same sources).
    prepared: str | None = None
    asker: str = ""
    # The structured queries a model may call (``tools.Toolbox``), run as the asker.
    tools: Any = None
    # Whose question it is (a user id): caches made while answering are theirs alone.
    owner: object = None


class Provider:
    name: str = ""
    model: str = ""

    def stream(self, messages: list[dict], options: Options) -> Iterator[str]:
        raise NotImplementedError

    async def astream(self, messages: list[dict], options: Options) -> AsyncIterator[str]:
        """Async tokens; by default the sync stream runs in a thread, so a slow
        provider never blocks the event loop."""
        queue: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()
        done = object()
        stop = threading.Event()

        def pump() -> None:
            try:
                for token in self.stream(messages, options):
                    if stop.is_set():
                        break
                    loop.call_soon_threadsafe(queue.put_nowait, token)
            except BaseException as exc:  # handed to the consumer below
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, done)

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        try:
            while True:
                item = await queue.get()
                if item is done:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
