"""One concurrency limit shared by every surface, so the chat page and the JSON API can't pile up on the CPU together.

At most `limit` questions run at once; at most `max_waiting` more wait for a slot, each for up to `wait` seconds.
A question that finds the waiting room full is refused at once (QueueFull) rather than after the wait, so a flood
gets fast 503s and the questions already waiting keep their place. An async surface calls admitted() before it hands
the question to a thread, so a flood is refused there, before it can queue for threads where nobody counts it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from assistant.errors import AssistantError
from assistant.records import Hit, Reply


class Busy(AssistantError):
    """Every worker is answering someone else and none came free in time."""


class QueueFull(Busy):
    """So many questions are already waiting that this one is refused without waiting."""


class Answerer(Protocol):
    """What the surfaces need from an Assistant (a Gate is one too)."""

    def ask(self, question: str, history: Sequence[Sequence[str]] | None = None) -> Reply: ...

    def search(self, query: str, k: int = 5) -> list[Hit]: ...

    def info(self) -> dict: ...


class Gate:
    """Wraps an Answerer so at most `limit` questions run at once, whichever surface they came from."""

    def __init__(self, bot: Answerer, limit: int = 2, wait: float = 10.0, max_waiting: int = 32) -> None:
        if limit < 1:
            raise ValueError(f"limit of {limit} would never answer; use 1 or more")
        if max_waiting < 0:
            raise ValueError(f"max_waiting of {max_waiting} is negative; use 0 (never wait) or more")
        self.bot = bot
        self.limit = limit
        self.wait = wait
        self.max_waiting = max_waiting
        self._slots = threading.BoundedSemaphore(limit)
        self._count = threading.Lock()
        self._waiting = 0
        self._admitted = 0

    @property
    def waiting(self) -> int:
        """How many questions are waiting for a slot right now."""
        return self._waiting

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Hold one of the `limit + max_waiting` places for a question about to be asked, or raise QueueFull now."""
        with self._count:
            if self._admitted >= self.limit + self.max_waiting:
                raise QueueFull(
                    f"The assistant is busy: {self._admitted} questions are already waiting or being answered; "
                    "please try again in a few seconds"
                )
            self._admitted += 1
        try:
            yield
        finally:
            with self._count:
                self._admitted -= 1

    @contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(blocking=False):
            with self._count:
                if self._waiting >= self.max_waiting:
                    raise QueueFull(
                        f"The assistant is busy: {self._waiting} questions are already waiting; "
                        "please try again in a few seconds"
                    )
                self._waiting += 1
            try:
                got = self._slots.acquire(timeout=self.wait)
            finally:
                with self._count:
                    self._waiting -= 1
            if not got:
                raise Busy(
                    f"The assistant is busy with other questions (waited {self.wait:g} s); please try again shortly"
                )
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
