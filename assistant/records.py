"""Small typed records that flow through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reference:
    number: int
    title: str

    def to_dict(self) -> dict:
        return {"number": self.number, "title": self.title}


@dataclass(frozen=True)
class Passage:
    """One answerable unit: a sentence or list item, with where it came from."""

    id: str
    source: str
    section: str | None
    text: str
    references: tuple[Reference, ...] = ()
    lead: str = ""  # for a list item, the sentence that introduces the list ("…including:")
    context: str = ""  # the sentence before, so "this technique" keeps its subject when embedded
    paragraph: int = 0
    asked: tuple[str, ...] = ()  # the entry's question and its other phrasings: retrieval views, never quoted

    @property
    def quote(self) -> str:
        """The text people see: a list item reads with its lead-in."""
        return f"{self.lead} {self.text}" if self.lead else self.text

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "source": self.source,
            "section": self.section,
            "text": self.text,
            "references": [r.to_dict() for r in self.references],
            "lead": self.lead,
            "context": self.context,
            "paragraph": self.paragraph,
            "asked": list(self.asked),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Passage:
        return cls(
            id=d["id"],
            source=d["source"],
            section=d["section"],
            text=d["text"],
            references=tuple(Reference(r["number"], r["title"]) for r in d["references"]),
            lead=d.get("lead", ""),
            context=d.get("context", ""),
            paragraph=d.get("paragraph", 0),
            asked=tuple(d.get("asked", ())),
        )


@dataclass(frozen=True)
class Hit:
    """A passage found for a query, with its fused score."""

    passage: Passage
    score: float
    dense: float = 0.0
    keyword: float = 0.0
    by_question: bool = False  # its best view is its entry's own question or a phrasing of it

    def to_dict(self) -> dict:
        return {
            **self.passage.to_dict(),
            "score": round(self.score, 4),
            "dense": round(self.dense, 4),
            "keyword": round(self.keyword, 4),
        }


@dataclass(frozen=True)
class Citation:
    source: str
    section: str | None
    text: str
    score: float
    references: tuple[Reference, ...] = ()
    passage_id: str = ""  # for the question log; not part of to_dict

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "section": self.section,
            "text": self.text,
            "score": round(float(self.score), 4),
            "references": [r.to_dict() for r in self.references],
        }


@dataclass(frozen=True)
class Reply:
    answer: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    kind: str = "answer"  # one of KINDS
    hits: tuple[Hit, ...] = field(default=(), compare=False, repr=False)
    margin: float = field(default=0.0, compare=False)  # distance of the deciding score from its cut-off
    vector: object = field(default=None, compare=False, repr=False)  # the question's embedding, kept in the log

    def to_dict(self) -> dict:
        return {
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "kind": self.kind,
        }


KINDS = ("answer", "caution", "studio", "smalltalk", "out_of_scope", "medical")
