"""The tutorial-style pipeline we compare against: paragraph chunks, same model, FAISS flat, top-3, a score cutoff."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.corpus import corpus_files


class TutorialBaseline:
    def __init__(self, corpus_dir: Path, embedder, cutoff: float = 0.3, k: int = 3) -> None:
        import faiss

        self.paragraphs = [
            block.strip()
            for path in corpus_files(corpus_dir)
            for block in path.read_text(encoding="utf-8").split("\n\n")
            if block.strip()
        ]
        self.embedder = embedder
        self.cutoff = cutoff
        self.k = k
        vectors = embedder.encode(self.paragraphs)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def ask(self, question: str, history=()) -> dict:
        scores, ids = self.index.search(self.embedder.encode([question]), self.k)
        if scores[0][0] < self.cutoff:
            return {"abstained": True, "answer": "", "passages": []}
        passages = [self.paragraphs[i] for i in ids[0] if i >= 0]
        return {"abstained": False, "answer": passages[0], "passages": passages}


def evaluate(baseline: TutorialBaseline, cases) -> dict:
    answerable = [c for c in cases if c.answerable]
    refusals = [c for c in cases if not c.answerable]
    h1 = h3 = fa = 0
    for c in answerable:
        r = baseline.ask(c.question)
        found = [any(e.lower() in p.lower() for e in c.expect) for p in r["passages"]]
        h1 += bool(found[:1] and found[0])
        h3 += any(found)
        fa += r["abstained"]
    recall = sum(baseline.ask(c.question)["abstained"] for c in refusals)
    return {
        "hit@1": h1 / len(answerable),
        "hit@3": h3 / len(answerable),
        "false_abstention": fa / len(answerable),
        "abstention_recall": recall / len(refusals),
    }
