"""BatchingEmbedder: an experiment for the throughput benchmark (bench/http_load.py), measured and not adopted.

It coalesces concurrent questions into one forward pass. On this model and these 2-core CPUs that costs more than it
saves: a batch is padded to its longest question, so per-question CPU rises with batch size (docs/benchmarks.md),
and one leader thread runs the batch on one core while the other core idles. It would pay off where a forward pass
has a large fixed cost per call (a GPU, or a much bigger model).
"""

from __future__ import annotations

import threading
import time

import numpy as np

from assistant.embedder import Embedder


class _Pending:
    __slots__ = ("texts", "vectors", "error", "done")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class BatchingEmbedder:
    """Coalesces concurrent small encode() calls into one forward pass of the wrapped embedder.

    The first caller to find no forward pass running leads: it waits up to `window` seconds for company,
    then embeds every waiting caller's texts at once and hands each its rows. Callers arriving while a pass
    runs queue up and go together in the next one, so under load batches form without any waiting; a lone
    caller pays at most `window`. Calls of more than `max_texts` texts (index builds) go straight through.
    """

    def __init__(self, inner: Embedder, window: float = 0.002, max_batch: int = 32, max_texts: int = 8) -> None:
        self.inner = inner
        self.name = inner.name
        self.window = window
        self.max_batch = max_batch
        self.max_texts = max_texts
        self._cv = threading.Condition()
        self._queue: list[_Pending] = []
        self._leading = False
        self.batches = 0  # forward passes run, and texts embedded through them: for benchmarks
        self.batched_texts = 0

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
                while not me.done and self._leading:
                    self._cv.wait()
                if me.done:
                    return self._result(me)
                self._leading = True
                if self.window > 0 and len(self._queue) == 1:  # alone: wait briefly for company
                    deadline = time.monotonic() + self.window
                    while len(self._queue) < self.max_batch and (left := deadline - time.monotonic()) > 0:
                        self._cv.wait(left)
                batch, size = [], 0
                while self._queue and (not batch or size + len(self._queue[0].texts) <= self.max_batch):
                    size += len(self._queue[0].texts)
                    batch.append(self._queue.pop(0))
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
            self._leading = False
            self._cv.notify_all()

    @staticmethod
    def _result(p: _Pending) -> np.ndarray:
        if p.error is not None:
            raise p.error
        return p.vectors
