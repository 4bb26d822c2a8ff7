"""The one Assistant every surface wraps: load once, then ask."""

from __future__ import annotations

import difflib
import logging
import os
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from collections.abc import Sequence
from pathlib import Path

from assistant import answer, policy
from assistant.batching import BatchingEmbedder
from assistant.embedder import Embedder, SentenceEmbedder
from assistant.errors import BadQuestion
from assistant.records import Hit, Passage, Reply
from assistant.retrieval import Query, Retriever, build_query
from assistant.corpus import corpus_files
from assistant.errors import CorpusError
from assistant.facts import FACTS_FILE, StudioFacts, load_facts
from assistant.settings import DEFAULT_CONTACT, Settings
from assistant.store import Index, open_index

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")  # control characters and lone surrogates


@dataclass(frozen=True)
class _State:
    """Everything that changes when the corpus does, swapped in one assignment."""

    index: Index
    retriever: Retriever
    items: dict[tuple[str, str], list[Passage]]
    facts: StudioFacts | None
    fingerprint: tuple
    problems: tuple[str, ...] = ()

    def list_items(self, passage: Passage) -> list[Passage]:
        """The items a sentence introduces, when it ends with a colon."""
        if not passage.text.endswith(":"):
            return []
        return self.items.get((passage.source, passage.text), [])


class Assistant:
    def __init__(
        self, index: Index, embedder: Embedder, settings: Settings, facts: StudioFacts | None = None
    ) -> None:
        self.embedder = embedder
        self.settings = settings
        self._state = self._make_state(index, facts, _fingerprint(settings.corpus_dir))
        self._refresh_lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def _make_state(self, index: Index, facts: StudioFacts | None, fingerprint: tuple, problems=()) -> _State:
        items: dict[tuple[str, str], list[Passage]] = {}
        for p in index.passages:
            if p.lead:
                items.setdefault((p.source, p.lead), []).append(p)
        retriever = Retriever(index, self.embedder, self.settings.candidates)
        return _State(index, retriever, items, facts, fingerprint, tuple(index.problems) + tuple(problems))

    @property
    def index(self) -> Index:
        return self._state.index

    @property
    def retriever(self) -> Retriever:
        return self._state.retriever

    @property
    def contact(self) -> str:
        facts = self._state.facts
        if facts and facts.contact and self.settings.contact == DEFAULT_CONTACT:
            return facts.contact
        return self.settings.contact

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
        if embedder is None:
            embedder = SentenceEmbedder(settings.model, threads=settings.model_threads or None)
            if settings.max_batch > 1:  # concurrent questions share forward passes
                embedder = BatchingEmbedder(embedder, max_batch=settings.max_batch, parallel=os.cpu_count() or 2)
        index = open_index(
            settings.corpus_dir, settings.index_dir, embedder, settings.max_passage_chars, force=rebuild
        )
        return cls(index, embedder, settings, load_facts(settings.corpus_dir))

    def refresh(self) -> bool:
        """Pick up corpus edits without a restart. A broken edit keeps the last good index serving and
        shows up in info()["problems"]. Returns True when something was reloaded."""
        with self._refresh_lock:
            fingerprint = _fingerprint(self.settings.corpus_dir)
            if fingerprint == self._state.fingerprint:
                return False
            problems: list[str] = []
            index = open_index(self.settings.corpus_dir, self.settings.index_dir, self.embedder,
                               self.settings.max_passage_chars)
            try:
                facts = load_facts(self.settings.corpus_dir)
            except CorpusError as e:
                facts = self._state.facts
                problems.append(f"{e} (still using the last good studio facts)")
            self._state = self._make_state(index, facts, fingerprint, problems)
            for problem in self._state.problems:  # the operator sees it in the server log, naming the file
                log.warning("%s", problem)
            return True

    def watch(self, interval: float = 2.0) -> None:
        """Poll the corpus folder in a daemon thread and refresh on change."""
        if self._watcher is not None:
            return

        def loop() -> None:
            while True:
                time.sleep(interval)
                try:
                    self.refresh()
                except Exception as e:  # noqa: BLE001 - the watcher must outlive any one bad edit
                    log.warning("corpus refresh failed: %s", e)

        self._watcher = threading.Thread(target=loop, name="corpus-watch", daemon=True)
        self._watcher.start()

    def ask(self, question: str, history: Sequence[Sequence[str]] | None = None) -> Reply:
        """Answer from the documents with citations, or abstain with a referral."""
        question = self.clean_question(question)
        turns = self.clean_history(history)
        state = self._state
        if policy.is_medical(question):
            return answer.referral("medical", self.contact)
        query = build_query(question, turns)
        topic = policy.studio_topic(question)
        if topic:
            return self._studio_answer(state, topic, query)
        hits = state.retriever.retrieve(query)
        if not hits or not self._covered(state, query, hits[0]):
            return answer.referral("out_of_scope", self.contact)
        return answer.compose(
            question, hits, self.settings.max_citations, self.settings.min_support, items=state.list_items
        )

    @staticmethod
    def classify(question: str) -> str | None:
        """Which rule catches a question before retrieval: "medical", "out_of_scope" (studio business,
        answered only from the studio's own files), or None."""
        if policy.is_medical(question):
            return "medical"
        if policy.studio_topic(question):
            return "out_of_scope"
        return None

    def _studio_answer(self, state: _State, topic: str, query: Query) -> Reply:
        """Studio business is answered only from the studio's own files: its facts, then its documents."""
        facts = state.facts.for_topic(topic) if state.facts else []
        if facts:
            return answer.from_facts(facts, state.facts.source, self.contact, self.settings.max_fact_age_days)
        own = [h for h in state.retriever.retrieve(query) if h.passage.source not in self.settings.general_sources]
        if own and own[0].dense >= self.settings.min_dense_unfamiliar:
            return answer.compose(
                query.question, own, self.settings.max_citations, self.settings.min_support, items=state.list_items
            )
        return answer.referral("out_of_scope", self.contact)

    def list_items(self, passage: Passage) -> list[Passage]:
        """The items a sentence introduces, when it ends with a colon."""
        return self._state.list_items(passage)

    def _covered(self, state: _State, query: Query, top: Hit) -> bool:
        """Whether the documents speak to the question: a close passage and, unless it is very close,
        one that shares a distinctive word with the question ("should I drink water after?" shares none)."""
        if top.dense < self.settings.min_dense:
            return False
        if query.follow_up or top.dense >= self.settings.min_dense_unfamiliar:
            return True
        words = state.index.keywords.distinctive(query.question)
        if not words:
            return True
        p = top.passage
        found = set(state.index.keywords.tokenize(f"{p.section or ''} {p.context} {p.quote}"))
        return any(w in found or difflib.get_close_matches(w, found, n=1, cutoff=0.8) for w in words)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """Top passages for staff, without the answer policy."""
        text = self.clean_question(query)
        return self.retriever.retrieve(Query(text, text), k)

    def clean_question(self, question: object) -> str:
        if not isinstance(question, str):
            raise BadQuestion(f"The question must be text, not {type(question).__name__}")
        text = _CONTROL.sub(" ", question).strip()
        if not any(not c.isspace() and unicodedata.category(c) != "Cf" for c in text):  # zero-width only, too
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
            "problems": list(self._state.problems),
            "studio_facts": len(self._state.facts.facts) if self._state.facts else 0,
        }


def _fingerprint(corpus_dir: Path) -> tuple:
    """Names, sizes and modification times of the corpus files: cheap enough to poll every few seconds."""
    corpus_dir = Path(corpus_dir)
    paths = [*corpus_files(corpus_dir), corpus_dir / FACTS_FILE] if corpus_dir.is_dir() else []
    out = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)
