"""Hybrid retrieval: FAISS cosine and BM25 ranks fused by reciprocal rank fusion, conversation-aware."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.embedder import Embedder
from assistant.records import Hit
from assistant.store import Index

# Words that only make sense with the previous turn: "what should I wear for it?", "does it hurt?"
_ANAPHORA = re.compile(
    r"\b(it|its|it's|that|this|these|those|they|them|their|there|one|ones|same|also|too|else|then)\b"
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
    def __init__(self, index: Index, embedder: Embedder, candidates: int = 20, rrf_k: int = 60) -> None:
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k

    def retrieve(self, query: Query, k: int | None = None) -> list[Hit]:
        """Passages for the query, best first, each with fused, dense and keyword scores."""
        k = k or self.candidates
        n = len(self.index.passages)
        depth = min(max(k, self.candidates), n)
        qvec = self.embedder.encode([query.text])
        dense_scores, dense_pos = self.index.vectors.search(qvec, depth)
        dense = {int(p): float(s) for p, s in zip(dense_pos[0], dense_scores[0]) if p >= 0}

        keyword = self.index.keywords.scores(query.text)
        kw_order = np.argsort(-keyword, kind="stable")[:depth]
        kw_ranked = [int(p) for p in kw_order if keyword[p] > 0]

        fused: dict[int, float] = {}
        for rank, pos in enumerate(sorted(dense, key=dense.get, reverse=True)):
            fused[pos] = fused.get(pos, 0.0) + 1.0 / (self.rrf_k + rank + 1)
        for rank, pos in enumerate(kw_ranked):
            fused[pos] = fused.get(pos, 0.0) + 1.0 / (self.rrf_k + rank + 1)

        missing = [p for p in fused if p not in dense]
        if missing:  # keyword-only hits still need a cosine for the abstention check
            for p, vec in zip(missing, self.index.vectors.reconstruct(missing)):
                dense[p] = float(vec @ qvec[0])

        top_keyword = float(keyword.max()) if keyword.size else 0.0
        best = 2.0 / (self.rrf_k + 1)
        order = sorted(fused, key=lambda p: (fused[p], dense[p]), reverse=True)[:k]
        return [
            Hit(
                self.index.passages[p],
                score=fused[p] / best,
                dense=dense[p],
                keyword=float(keyword[p]) / top_keyword if top_keyword > 0 else 0.0,
            )
            for p in order
        ]
