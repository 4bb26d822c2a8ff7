"""assistant/batching.py: concurrent callers share forward passes and each gets exactly its own rows."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from assistant.batching import BatchingEmbedder


class Recorder:
    """Exact vectors (a text's length and word count), every call recorded; the first call can be held open."""

    name = "recorder"

    def __init__(self, hold_first: threading.Event | None = None) -> None:
        self.calls: list[list[str]] = []
        self.hold_first = hold_first

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if self.hold_first is not None and len(self.calls) == 1:
            assert self.hold_first.wait(10), "test never released the first forward pass"
        rows = np.array([[len(t), len(t.split()), 1.0] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def test_callers_waiting_during_a_forward_pass_share_the_next_one():
    release = threading.Event()
    inner = Recorder(hold_first=release)
    batching = BatchingEmbedder(inner, parallel=1)
    questions = [f"question {'word ' * i}".strip() for i in range(16)]
    results: dict[int, np.ndarray] = {}

    def ask(i: int) -> None:
        results[i] = batching.encode([questions[i]])

    first = threading.Thread(target=ask, args=(0,))
    first.start()
    _wait_for(lambda: len(inner.calls) == 1)  # the first pass is running (held open)
    others = [threading.Thread(target=ask, args=(i,)) for i in range(1, 16)]
    for t in others:
        t.start()
    _wait_for(lambda: len(batching._queue) == 15)
    release.set()
    for t in [first, *others]:
        t.join(10)

    assert [len(c) for c in inner.calls] == [1, 15]
    assert batching.batches == 2 and batching.batched_texts == 16
    for i, q in enumerate(questions):
        np.testing.assert_array_equal(results[i], Recorder().encode([q]))


def test_a_follow_up_keeps_its_two_rows_together_and_in_order():
    batching = BatchingEmbedder(Recorder(), window=0.0)
    out = batching.encode(["does it hurt?", "what is trigger point therapy does it hurt?"])
    np.testing.assert_array_equal(out, Recorder().encode(["does it hurt?", "what is trigger point therapy does it hurt?"]))


def test_large_calls_bypass_the_queue():
    inner = Recorder()
    batching = BatchingEmbedder(inner, max_texts=8)
    batching.encode([f"passage {i}" for i in range(100)])
    assert batching.batches == 0 and len(inner.calls) == 1


def test_a_failing_forward_pass_fails_every_caller_in_it_and_the_next_pass_works():
    class Broken(Recorder):
        def encode(self, texts):
            if len(self.calls) == 0:
                self.calls.append(list(texts))
                raise RuntimeError("model exploded")
            return super().encode(texts)

    batching = BatchingEmbedder(Broken(), window=0.0)
    with pytest.raises(RuntimeError, match="model exploded"):
        batching.encode(["first"])
    assert batching.encode(["second"]).shape == (1, 3)


def _ask_all(batching: BatchingEmbedder, questions: list[str]) -> tuple[dict[int, np.ndarray], list[threading.Thread]]:
    """Each question from its own thread; the results fill in as they come."""
    results: dict[int, np.ndarray] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, batching.encode([questions[i]])))
               for i in range(len(questions))]
    for t in threads:
        t.start()
    return results, threads


def test_two_passes_run_at_once_and_batches_never_exceed_max_batch():
    release = threading.Event()
    inner = Recorder(hold_first=release)
    batching = BatchingEmbedder(inner, max_batch=4, parallel=2)
    questions = [f"q{i} " + "w " * i for i in range(11)]
    first, _ = _ask_all(batching, questions[:1])
    _wait_for(lambda: len(inner.calls) == 1)  # pass one is held open...
    second, _ = _ask_all(batching, questions[1:2])
    _wait_for(lambda: len(second) == 1)  # ...and a second pass still ran beside it
    rest, threads = _ask_all(batching, questions[2:])
    _wait_for(lambda: len(rest) == 9)
    release.set()
    _wait_for(lambda: len(first) == 1)
    for t in threads:
        t.join(10)
    assert max(len(c) for c in inner.calls) <= 4
    assert sorted(t for c in inner.calls for t in c) == sorted(questions)  # each question embedded exactly once
    for i, q in enumerate(questions[2:]):
        np.testing.assert_array_equal(rest[i], Recorder().encode([q]))


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="max_batch=0"):
        BatchingEmbedder(Recorder(), max_batch=0)
