"""A fake embedder with exact vectors, so tests can assert rankings without loading a model.

Like llm's EmbedDemo: one dimension per word of a small fixed vocabulary, counting occurrences,
plus one 'other' dimension that is 1 only when a text has no vocabulary word (so no row is zero).
Rows are L2-normalised float32, as the real embedder returns. Two texts' cosine is therefore
computable by hand: "clothing" · "clothing massage massage" = 1 / sqrt(5).
"""

from __future__ import annotations

import re

import numpy as np

# Enough guide words that every guide passage has at least one of them.
GUIDE_VOCABULARY = (
    "massage",
    "back",
    "pain",
    "sleep",
    "clothing",
    "shiatsu",
    "trigger",
    "discomfort",
    "music",
    "room",
    "stress",
    "pressure",
    "tissue",
    "health",
    "recovery",
    "arthritis",
    "relaxation",
    "therapist",
    # words of tests/fake_topics.toml; the guide uses none of them, so guide vectors are unchanged
    "price",
    "opening",
    "pregnant",
    "hello",
    "thanks",
    "weather",
)

_WORD = re.compile(r"[a-z]+")


class FakeEmbedder:
    def __init__(self, vocabulary: tuple[str, ...] = GUIDE_VOCABULARY, name: str = "fake") -> None:
        self.name = name
        self.vocabulary = tuple(vocabulary)
        self._slot = {word: i for i, word in enumerate(self.vocabulary)}
        self.dim = len(self.vocabulary) + 1  # the last dimension is 'other'

    def vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            if word in self._slot:
                v[self._slot[word]] += 1.0
        if not v.any():
            v[-1] = 1.0
        return v / np.linalg.norm(v)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vector(t) for t in texts]).astype(np.float32)


class CountingEmbedder(FakeEmbedder):
    """A FakeEmbedder that records every text it was asked to embed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[list[str]] = []

    @property
    def texts_embedded(self) -> int:
        return sum(len(c) for c in self.calls)

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return super().encode(texts)
