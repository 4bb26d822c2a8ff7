"""The one Assistant every surface wraps: load once, then ask."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path

from assistant import answer, policy
from assistant.embedder import Embedder, SentenceEmbedder
from assistant.errors import BadQuestion
from assistant.records import Hit, Passage, Reply
from assistant.retrieval import Query, Retriever, build_query
from assistant.settings import Settings
from assistant.store import Index, open_index

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class Assistant:
    def __init__(self, index: Index, embedder: Embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.retriever = Retriever(index, embedder, settings.candidates)
        self._items: dict[tuple[str, str], list[Passage]] = {}
        for p in index.passages:
            if p.lead:
                self._items.setdefault((p.source, p.lead), []).append(p)

    @classmethod
    def load(
        cls,
        corpus_dir: str | Path | None = None,
        index_dir: str | Path | None = None,
        model: str | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        rebuild: bool = False,
    ) -> Assistant:
        """The guide in corpus/ and the packaged model by default; the index is rebuilt when missing or stale."""
        settings = settings or Settings.from_env()
        overrides = {"corpus_dir": corpus_dir, "index_dir": index_dir, "model": model}
        settings = settings.replace(
            **{k: (Path(v) if k != "model" else v) for k, v in overrides.items() if v is not None}
        )
        embedder = embedder or SentenceEmbedder(settings.model)
        index = open_index(
            settings.corpus_dir, settings.index_dir, embedder, settings.max_passage_chars, force=rebuild
        )
        return cls(index, embedder, settings)

    def ask(self, question: str, history: Sequence[Sequence[str]] | None = None) -> Reply:
        """Answer from the documents with citations, or abstain with a referral."""
        question = self.clean_question(question)
        turns = self.clean_history(history)
        kind = self.classify(question)
        if kind:
            return answer.referral(kind, self.settings.contact)
        query = build_query(question, turns)
        hits = self.retriever.retrieve(query)
        if not hits or not self.covered(query, hits[0]):
            return answer.referral("out_of_scope", self.settings.contact)
        return answer.compose(
            question, hits, self.settings.max_citations, self.settings.min_support, items=self.list_items
        )

    def list_items(self, passage: Passage) -> list[Passage]:
        """The items a sentence introduces, when it ends with a colon."""
        if not passage.text.endswith(":"):
            return []
        return self._items.get((passage.source, passage.text), [])

    def covered(self, query: Query, top: Hit) -> bool:
        """Whether the documents speak to the question: a close passage and, unless it is very close,
        one that shares a distinctive word with the question ("should I drink water after?" shares none)."""
        if top.dense < self.settings.min_dense:
            return False
        if query.follow_up or top.dense >= self.settings.min_dense_unfamiliar:
            return True
        words = self.index.keywords.distinctive(query.question)
        if not words:
            return True
        p = top.passage
        found = set(self.index.keywords.tokenize(f"{p.section or ''} {p.context} {p.quote}"))
        return any(w in found or difflib.get_close_matches(w, found, n=1, cutoff=0.8) for w in words)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """Top passages for staff, without the answer policy."""
        return self.retriever.retrieve(Query(self.clean_question(query), query), k)

    @staticmethod
    def classify(question: str) -> str | None:
        if policy.is_medical(question):
            return "medical"
        if policy.studio_topic(question):
            return "out_of_scope"
        return None

    def clean_question(self, question: object) -> str:
        if not isinstance(question, str):
            raise BadQuestion(f"The question must be text, not {type(question).__name__}")
        text = _CONTROL.sub(" ", question).strip()
        if not text:
            raise BadQuestion("Please type a question, for example: What should I wear?")
        limit = self.settings.max_question_chars
        if len(text) > limit:
            raise BadQuestion(f"That question is {len(text):,} characters long; please keep it under {limit:,}")
        return text

    def clean_history(self, history: Sequence[Sequence[str]] | None) -> list[tuple[str, str]]:
        """The last few (user, assistant) turns, validated; older turns don't help retrieval."""
        if history is None:
            return []
        if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
            raise BadQuestion("history must be a list of [question, answer] pairs")
        turns: list[tuple[str, str]] = []
        for item in list(history)[-self.settings.max_history_turns :]:
            if (
                isinstance(item, (str, bytes))
                or not isinstance(item, Sequence)
                or len(item) != 2
                or not all(isinstance(x, str) or x is None for x in item)
            ):
                raise BadQuestion("history must be a list of [question, answer] pairs of text")
            user, bot = (_CONTROL.sub(" ", x or "")[: self.settings.max_question_chars] for x in item)
            turns.append((user, bot))
        return turns

    def info(self) -> dict:
        m = self.index.manifest
        return {
            "model": self.embedder.name,
            "passages": len(self.index.passages),
            "index": str(self.settings.index_dir),
            "index_kind": m.get("index_kind"),
            "built_at": m.get("built_at"),
            "sources": m.get("sources", []),
            "problems": list(self.index.problems),
        }
