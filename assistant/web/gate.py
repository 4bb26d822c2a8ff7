"""One concurrency limit shared by every surface, so the chat page and the JSON API can't pile up on the CPU together."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from assistant.errors import AssistantError
from assistant.records import Hit, Reply


class Busy(AssistantError):
    """Every worker is answering someone else and none came free in time."""


class Answerer(Protocol):
    """What the surfaces need from an Assistant (a Gate is one too)."""

    def ask(self, question: str, history: Sequence[Sequence[str]] | None = None) -> Reply: ...

    def search(self, query: str, k: int = 5) -> list[Hit]: ...

    def info(self) -> dict: ...


class Gate:
    """Wraps an Answerer so at most `limit` questions run at once, whichever surface they came from."""

    def __init__(self, bot: Answerer, limit: int = 2, wait: float = 10.0) -> None:
        if limit < 1:
            raise ValueError(f"limit of {limit} would never answer; use 1 or more")
        self.bot = bot
        self.limit = limit
        self.wait = wait
        self._slots = threading.BoundedSemaphore(limit)

    @contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.wait):
            raise Busy(f"The assistant is busy with other questions (waited {self.wait:g} s); please try again shortly")
        try:
            yield
        finally:
            self._slots.release()

    def ask(self, question: str, history: Sequence[Sequence[str]] | None = None) -> Reply:
        with self._slot():
            return self.bot.ask(question, history)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        with self._slot():
            return self.bot.search(query, k)

    def info(self) -> dict:
        return self.bot.info()
