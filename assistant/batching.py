"""BatchingEmbedder: questions asked at the same time share one forward pass.

A pass reads each weight matrix once for all the questions in it, so on one core a question costs less CPU in a
shared pass than alone (docs/benchmarks.md measures both).
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from assistant.embedder import Embedder


class _Pending:
    __slots__ = ("texts", "vectors", "error", "taken", "done")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: np.ndarray | None = None
        self.error: BaseException | None = None
        self.taken = False  # a leader has it in a pass
        self.done = False


class BatchingEmbedder:
    """Wraps an Embedder; concurrent small encode() calls go through it in shared forward passes.

    A caller that finds fewer than `parallel` passes running leads one: it takes up to `max_batch` texts from the
    head of the queue (its own among them, or it leads again) and embeds them in one call. Callers arriving while
    passes run queue up and go together in the next one, so batches form under load without anyone waiting on
    purpose; a lone caller waits `window` seconds for company (0: not at all). `parallel` passes at once keep one
    core each busy. Calls of more than `max_texts` texts (index builds) go straight to the wrapped embedder.
    """

    def __init__(
        self, inner: Embedder, max_batch: int = 16, parallel: int = 2, window: float = 0.0, max_texts: int = 8
    ) -> None:
        if max_batch < 1 or parallel < 1:
            raise ValueError(f"max_batch={max_batch} and parallel={parallel} must both be 1 or more")
        self.inner = inner
        self.name = inner.name
        self.max_batch = max_batch
        self.parallel = parallel
        self.window = window
        self.max_texts = max_texts
        self._cv = threading.Condition()
        self._queue: deque[_Pending] = deque()
        self._running = 0
        self.batches = 0  # forward passes run, and texts embedded through them: for benchmarks and tests
        self.batched_texts = 0

    def prepare(self, index_dir) -> dict | None:
        """The wrapped embedder's built artefacts (assistant/store.py asks for them), if it has any."""
        prepare = getattr(self.inner, "prepare", None)
        return prepare(index_dir) if prepare is not None else None

    def encode(self, texts: list[str], *args, **kwargs) -> np.ndarray:
        texts = list(texts)
        if len(texts) > self.max_texts or args or kwargs:
            return self.inner.encode(texts, *args, **kwargs)
        me = _Pending(texts)
        with self._cv:
            self._queue.append(me)
            self._cv.notify_all()  # a leader gathering company may now have a full batch
        while True:
            with self._cv:
                while not me.done and (me.taken or self._running >= self.parallel):
                    self._cv.wait()
                if me.done:
                    return self._result(me)
                self._running += 1
                if self.window > 0 and len(self._queue) == 1:  # alone: wait briefly for company
                    deadline = time.monotonic() + self.window
                    while len(self._queue) < self.max_batch and (left := deadline - time.monotonic()) > 0:
                        self._cv.wait(left)
                batch, size = [], 0
                while self._queue and (not batch or size + len(self._queue[0].texts) <= self.max_batch):
                    pending = self._queue.popleft()
                    pending.taken = True
                    size += len(pending.texts)
                    batch.append(pending)
            self._run(batch, size)

    def _run(self, batch: list[_Pending], size: int) -> None:
        """One forward pass for the whole batch (outside the lock), then wake everyone."""
        try:
            vectors = self.inner.encode([t for p in batch for t in p.texts])
            start = 0
            for p in batch:
                p.vectors = vectors[start : start + len(p.texts)]
                start += len(p.texts)
        except BaseException as e:  # noqa: BLE001 - every caller in the batch gets the failure
            for p in batch:
                p.error = e
        with self._cv:
            for p in batch:
                p.done = True
            self.batches += 1
            self.batched_texts += size
            self._running -= 1
            self._cv.notify_all()

    @staticmethod
    def _result(p: _Pending) -> np.ndarray:
        if p.error is not None:
            raise p.error
        return p.vectors
