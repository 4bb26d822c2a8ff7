"""Questions grouped by meaning, in bounded time.

Leader clustering over a FAISS inner-product index: distinct questions are taken most asked first; each one joins
the nearest existing group when it is close enough, else starts a new group. The work is bounded:

- at most MAX_DISTINCT distinct questions are grouped (the most asked; the rest are counted in `left_out`), and
- at most MAX_GROUPS groups are formed; a question near none of them once that many exist is counted in `left_out`.

So grouping costs O(min(n, MAX_DISTINCT) · MAX_GROUPS · dim) multiply-adds whatever the log holds, done in batches
by FAISS. Only the distinct questions kept are embedded (callers cache those vectors).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

MAX_DISTINCT = 1_000
MAX_GROUPS = 500
THRESHOLD = 0.7  # cosine to a group's first question
_BATCH = 256


@dataclass(frozen=True)
class Asked:
    """One logged question as grouping sees it."""

    ask_id: int
    question: str
    down: int = 0
    cited: str = ""  # the passage it was answered from, if any


@dataclass(frozen=True)
class Group:
    """Questions that mean the same thing; `count` asks in all, `questions` each wording once, most asked first."""

    count: int
    example: str
    questions: tuple[str, ...]
    ask_ids: tuple[int, ...]
    down_votes: int = 0
    cited: str = ""  # most asked groups: the passage id most of them were answered from

    def to_dict(self) -> dict:
        return {
            "count": self.count,
            "example": self.example,
            "questions": list(self.questions),
            "ask_ids": list(self.ask_ids),
            "down_votes": self.down_votes,
            "cited": self.cited,
        }


@dataclass(frozen=True)
class Grouping:
    groups: tuple[Group, ...]
    left_out: int  # asks not grouped because of the bounds above

    def __iter__(self):
        return iter(self.groups)

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i):
        return self.groups[i]


def group(
    asked: Sequence[Asked],
    encode: Callable[[list[str]], np.ndarray],
    threshold: float = THRESHOLD,
    max_distinct: int = MAX_DISTINCT,
    max_groups: int = MAX_GROUPS,
) -> Grouping:
    """Group logged questions by meaning, most asked group first."""
    by_text: dict[str, list[Asked]] = {}
    for a in asked:
        by_text.setdefault(a.question, []).append(a)
    # most asked first, then the first asked, so a group's leader (and example) is its common wording
    texts = sorted(by_text, key=lambda t: (-len(by_text[t]), min(a.ask_id for a in by_text[t])))
    kept, dropped = texts[:max_distinct], texts[max_distinct:]
    left_out = sum(len(by_text[t]) for t in dropped)
    if not kept:
        return Grouping((), left_out)
    vectors = _normalised(encode(kept))
    members = _leaders(vectors, threshold, max_groups)
    out = []
    for idx in members.values():
        wordings = [kept[i] for i in idx]
        rows = [a for t in wordings for a in by_text[t]]
        cited = [a.cited for a in rows if a.cited]
        out.append(
            Group(
                count=len(rows),
                example=wordings[0],
                questions=tuple(wordings),
                ask_ids=tuple(sorted(a.ask_id for a in rows)),
                down_votes=sum(a.down for a in rows),
                cited=max(set(cited), key=cited.count) if cited else "",
            )
        )
    left_out = len(asked) - sum(g.count for g in out)  # the dropped wordings, and any past the group bound
    return Grouping(tuple(sorted(out, key=lambda g: (-g.count, g.example))), left_out)


def _leaders(vectors: np.ndarray, threshold: float, max_groups: int) -> dict[int, list[int]]:
    """Leader position → member positions. Each batch is searched against the leaders so far in one FAISS call;
    the batch's own unmatched rows are then matched among themselves (a batch × batch product)."""
    import faiss

    leaders = faiss.IndexFlatIP(vectors.shape[1])
    leader_rows: list[int] = []
    members: dict[int, list[int]] = {}
    for start in range(0, len(vectors), _BATCH):
        batch = vectors[start : start + _BATCH]
        if leaders.ntotal:
            scores, found = leaders.search(batch, 1)
        else:
            scores, found = np.full((len(batch), 1), -1.0, np.float32), np.full((len(batch), 1), -1)
        fresh: list[int] = []  # batch rows near no earlier leader
        for j in range(len(batch)):
            if found[j, 0] >= 0 and scores[j, 0] >= threshold:
                members[leader_rows[found[j, 0]]].append(start + j)
            else:
                fresh.append(j)
        new: list[int] = []  # batch rows that became leaders, in order
        new_at: list[int] = []  # their positions in `fresh`
        if fresh:
            sims = batch[fresh] @ batch[fresh].T
            for a, j in enumerate(fresh):
                if new_at:
                    near = sims[a, new_at]
                    best = int(np.argmax(near))
                    if near[best] >= threshold:
                        members[start + new[best]].append(start + j)
                        continue
                if len(leader_rows) + len(new) < max_groups:
                    new.append(j)
                    new_at.append(a)
                    members[start + j] = [start + j]
        if new:
            leaders.add(np.ascontiguousarray(batch[new]))
            leader_rows.extend(start + j for j in new)
    return members


def _normalised(vectors: np.ndarray) -> np.ndarray:
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.where(norms == 0, 1, norms)
