"""Hybrid retrieval: FAISS cosine over passage views, paragraph cosine and BM25, fused linearly; conversation-aware."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.embedder import Embedder
from assistant.records import Hit
from assistant.store import Index, embedding_views

# Words that only make sense with the previous turn: "what should I wear for it?", "does it hurt?"
_ANAPHORA = re.compile(
    r"\b(it|its|it's|that|this|these|those|they|them|their|same|else)\b"
    r"|^\s*(and|but|so|what about|how about|and what|why|how come|really)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Query:
    text: str  # what is embedded and matched
    question: str  # the question as asked
    follow_up: bool = False


def build_query(question: str, history: list[tuple[str, str]]) -> Query:
    """Fold the previous user turn into a question that leans on it."""
    if history and _ANAPHORA.search(question) and len(question.split()) <= 12:
        previous = history[-1][0].strip()
        return Query(f"{previous} {question}", question, follow_up=True)
    return Query(question, question)


class Retriever:
    """Scores candidates from both indexes by one formula:

    score = (1 - paragraph_weight) * best view cosine + paragraph_weight * paragraph cosine
            + keyword_weight * BM25 / best BM25 + sentence_weight * the passage's own text cosine
            - question_penalty if the passage is itself a question or a catch-all line (a call to action)
            - context_penalty if its best view is the one read after the sentence before it ("This scene
              certainly does occur…" matched through that sentence, which is the one that answers)

    The sentence term picks the answering sentence within a question-and-answer entry, whose sentences
    share the entry's question views.

    A follow-up is scored against the question alone and folded into the previous turn, averaged.
    """

    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        candidates: int = 20,
        paragraph_weight: float = 0.2,
        keyword_weight: float = 0.05,
        question_penalty: float = 0.2,
        sentence_weight: float = 0.1,
        context_penalty: float = 0.05,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.paragraph_weight = paragraph_weight
        self.keyword_weight = keyword_weight
        self.sentence_weight = sentence_weight
        self.context_penalty = context_penalty
        self.question_penalty = question_penalty  # a document's own question ("Is your back tired?") answers nothing
        self.weak: np.ndarray | None = None  # per passage: a catch-all line, demoted like a question

    def encode(self, query: Query) -> np.ndarray:
        """The question's vector (row 0), and for a follow-up the folded question's: one forward pass."""
        texts = [query.question, query.text] if query.follow_up else [query.text]
        return np.asarray(self.embedder.encode(texts), dtype=np.float32)

    def retrieve(self, query: Query, k: int | None = None, qvecs: np.ndarray | None = None) -> list[Hit]:
        """Passages for the query, best first, with fused, dense and keyword scores."""
        k = k or self.candidates
        index = self.index
        if qvecs is None:
            qvecs = self.encode(query)

        depth = min(index.vectors.size, max(k, self.candidates) * 3)
        _, rows = index.vectors.search(qvecs, depth)
        candidates = {int(index.owners[r]) for r in rows.ravel() if r >= 0}
        keyword = index.keywords.scores(query.text)
        top_keyword = float(keyword.max()) if keyword.size else 0.0
        if top_keyword > 0:
            best_kw = np.argpartition(-keyword, min(depth, keyword.size - 1))[:depth]
            candidates.update(int(p) for p in best_kw if keyword[p] > 0)
        if not candidates:
            return []

        positions = np.fromiter(sorted(candidates), dtype=np.int64)
        best, own, via, borrowed = self._best_view(positions, qvecs)
        dense = best.mean(axis=1)
        para = (index.paragraphs[index.paragraph_of[positions]] @ qvecs.T).mean(axis=1)
        kw = keyword[positions] / top_keyword if top_keyword > 0 else np.zeros(len(positions))
        fused = (1 - self.paragraph_weight) * dense + self.paragraph_weight * para + self.keyword_weight * kw
        fused += self.sentence_weight * own.mean(axis=1)  # within an entry, the sentence that answers best
        fused -= self.question_penalty * np.array([index.passages[p].text.endswith("?") for p in positions])
        fused -= self.context_penalty * borrowed  # matched through the sentence before it: that one answers
        if self.weak is not None:  # calls to action and other catch-all lines match everything weakly,
            fused -= self.question_penalty * (self.weak[positions] & ~via)  # unless found by their own question

        order = np.argsort(-fused, kind="stable")[:k]
        return [
            Hit(index.passages[positions[i]], score=float(fused[i]), dense=float(dense[i]), keyword=float(kw[i]),
                by_question=bool(via[i]))
            for i in order
        ]

    def _best_view(self, positions: np.ndarray, qvecs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each candidate's best cosine over its views and its own text's (the first view), per query
        vector, each shaped (len(positions), len(qvecs)); and whether its best view for the question
        (row 0) is one of its entry's questions or phrasings, or its reading after the sentence before it."""
        owners = self.index.owners
        starts = np.searchsorted(owners, positions, side="left")
        ends = np.searchsorted(owners, positions, side="right")
        rows = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)])
        sims = self.index.vectors.reconstruct(rows.tolist()) @ qvecs.T
        offsets = np.concatenate([[0], np.cumsum(ends - starts)[:-1]])
        best = np.maximum.reduceat(sims, offsets, axis=0)
        via = np.zeros(len(positions), dtype=bool)
        borrowed = np.zeros(len(positions), dtype=bool)
        for i, p in enumerate(positions):
            passage = self.index.passages[p]
            if passage.asked or passage.context:
                n = ends[i] - starts[i]
                view = embedding_views(passage)[int(np.argmax(sims[offsets[i] : offsets[i] + n, 0]))]
                via[i] = view in passage.asked
                borrowed[i] = bool(passage.context) and view == f"{passage.context} {passage.quote}".strip()
        return best, sims[offsets], via, borrowed
