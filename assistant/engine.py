"""The one Assistant every surface wraps: load once, then ask."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from pathlib import Path

from assistant import answer, policy
from assistant.batching import BatchingEmbedder
from assistant.embedder import Embedder, SentenceEmbedder
from assistant.errors import BadQuestion
from assistant.records import Hit, Passage, Reply
from assistant.retrieval import Query, Retriever, build_query
from assistant.corpus import READABLE, corpus_files, document_flags, title_from_name, unread_files
from assistant.errors import CorpusError
from assistant.policy import TOPICS_FILE, Offering, Topics, Verdict, asked_offering, keywords_in, load_topics
from assistant.facts import FACTS_FILE, StudioFacts, load_facts
from assistant.settings import DEFAULT_CONTACT, Settings
from assistant.store import Index, embedding_views, keyword_text, open_index
from assistant.studiofaq import FAQ_FILE

log = logging.getLogger(__name__)

DECIDING = ("studio", "health", "smalltalk", "offtopic", "general")  # topic kinds a question is decided among
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")  # control characters and lone surrogates


@dataclass(frozen=True)
class _State:
    """Everything that changes when the corpus does, swapped in one assignment."""

    index: Index
    retriever: Retriever
    items: dict[tuple[str, str], list[Passage]]
    facts: StudioFacts | None
    fingerprint: tuple
    topics: Topics
    general: frozenset[str]  # documents that never answer studio business
    examples: tuple[str, ...]  # questions the documents answer, offered after small talk
    weak: frozenset[str]  # ids of catch-all passages (calls to action), never an answer
    problems: tuple[str, ...] = ()
    studio_topics: tuple[int, ...] = ()  # positions in topics.topics of the studio topics
    labels: np.ndarray | None = None  # passage x studio topic: best cosine of any of the passage's views
    position: dict[str, int] = field(default_factory=dict)  # passage id -> row of labels
    unnamed: tuple[Offering, ...] = ()  # offerings ([offerings] in topics.toml) that no document names

    def off_topic(self, hit: Hit, qvec: np.ndarray, settings: Settings) -> float | None:
        """Topic agreement. When the question is about one studio topic and the passage's entry is about
        another one (and the question is not about that one too), the margin by which the passage falls
        short (negative); else None."""
        if self.labels is None or not self.studio_topics or hit.passage.id not in self.position:
            return None
        if hit.passage.source in self.general:  # a general guide is about no studio topic
            return None
        q = self.topics.topic_scores(np.asarray(qvec)[None, :], list(self.studio_topics))[0]
        t = int(np.argmax(q))
        if q[t] < settings.min_agree:
            return None
        row = self.labels[self.position[hit.passage.id]]
        u = int(np.argmax(row))
        short = row[t] - (row[u] - settings.agree_passage_gap)
        if u == t or short >= 0 or q[u] >= q[t] - settings.agree_question_gap:
            return None
        return float(short)

    def usable(self, hit: Hit) -> bool:
        """A catch-all line is never an answer, unless a question-and-answer entry's own question found it."""
        return hit.by_question or hit.passage.id not in self.weak

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
        self._state = self._make_state(index, facts, _fingerprint(settings.corpus_dir), topics=load_topics(settings.corpus_dir))
        self._refresh_lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def _make_state(
        self, index: Index, facts: StudioFacts | None, fingerprint: tuple, problems=(), topics: Topics | None = None
    ) -> _State:
        items: dict[tuple[str, str], list[Passage]] = {}
        for p in index.passages:
            if p.lead:
                items.setdefault((p.source, p.lead), []).append(p)
        topics = topics or load_topics(self.settings.corpus_dir)
        if topics._vectors is None:  # a refresh that kept the topics keeps their vectors
            topics = topics.embed(self.embedder)
        retriever = Retriever(index, self.embedder, self.settings.candidates)
        retriever.weak = _catchall(index, topics, self.settings.min_catchall)
        flags = {FAQ_FILE: False, **document_flags(self.settings.corpus_dir)}  # staff answers are the studio's own
        general = frozenset(self.settings.general_sources) | topics.general_documents(index.passages, flags)
        weak = frozenset(p.id for p, w in zip(index.passages, retriever.weak) if w)
        studio_topics = tuple(topics.studio_topics())
        unread = _unread(self.settings.corpus_dir)
        return _State(
            index, retriever, items, facts, fingerprint, topics, general,
            _examples(index.passages, topics.language.about_topic), weak,
            tuple(index.problems) + tuple(problems) + unread, studio_topics, _topic_labels(index, topics, studio_topics),
            {p.id: n for n, p in enumerate(index.passages)},
            topics.unnamed_offerings(index.keywords, lambda i: keyword_text(index.passages[i]),
                                     [f"{f.title} {f.answer}" for f in facts.facts] if facts else ()),
        )

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
            try:
                topics = load_topics(self.settings.corpus_dir)
                old = self._state.topics
                if (topics.topics, topics.language, topics.general, topics.studio) == (
                    old.topics, old.language, old.general, old.studio
                ):
                    topics = replace(old, offerings=topics.offerings)  # same examples: keep their vectors
            except CorpusError as e:
                topics = self._state.topics
                problems.append(f"{e} (still using the last good topics)")
            self._state = self._make_state(index, facts, fingerprint, problems, topics)
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
        topics = state.topics
        named = _named_health(topics, question)
        if topics.foreign(question, state.index.keywords.knows):
            if named:
                return answer.fixed("medical", topics.language.other_language_health, self.contact)
            return answer.fixed("out_of_scope", topics.language.other_language, self.contact)
        query = build_query(question, turns)
        qvecs = state.retriever.encode(query)  # the one forward pass: retrieval and the topic decision share it
        reply = self._answer(state, question, query, qvecs, named)
        return replace(reply, vector=qvecs[0])  # the staff report groups logged questions by it: no second pass

    def _answer(self, state: _State, question: str, query: Query, qvecs: np.ndarray, named: Verdict | None) -> Reply:
        """The reply to a question already embedded: decided, then quoted or referred."""
        topics, cfg = state.topics, self.settings
        hits = []  # a health keyword's question is retrieved with the condition's words (_health_answer)
        if not (named and named.keyword):
            hits = [h for h in state.retriever.retrieve(query, qvecs=qvecs) if state.usable(h)]
        verdict = named or self._decide(state, qvecs[0], hits, query.follow_up)
        if verdict.kind == "health":
            return self._health_answer(state, verdict, query, qvecs, hits)
        if verdict.kind == "smalltalk" and not query.follow_up:
            lead = topics.language.smalltalk_examples
            return answer.smalltalk(verdict.topic.reply, lead, list(state.examples), verdict.margin)
        if verdict.kind == "offtopic":
            return answer.referral("out_of_scope", self.contact, verdict.margin)
        unnamed = asked_offering(question, topics.offerings, state.unnamed)  # "cupping?", no document says it
        if unnamed:
            return answer.fixed("out_of_scope", topics.language.absent.format(thing=unnamed.name), self.contact, 1.0)
        kind = "answer"
        if verdict.kind == "studio":  # studio business: the studio's facts, else only its own documents
            facts = state.facts.for_topic(verdict.topic.name) if state.facts else []
            if facts:
                return answer.from_facts(facts, state.facts.source, self.contact, cfg.max_fact_age_days)
            hits = [h for h in hits if h.passage.source not in state.general]
            kind = "studio"
        pair = topics.language.comparison(question)
        if pair:  # "X vs Y": quote the passage that speaks of each
            both = self._compared(state, query, qvecs, pair, kind)
            if both is not None:
                return both
        top = hits[0].dense if hits else 0.0
        if top < cfg.min_dense:
            return answer.referral("out_of_scope", self.contact, top - cfg.min_dense)
        if not query.follow_up and verdict.raw_kind == "studio":  # on-topic, but is this passage about it?
            short = state.off_topic(hits[0], qvecs[0], cfg)
            if short is not None:
                return answer.referral("out_of_scope", self.contact, short)
        if topics.language.asks_for_list(question):  # "what techniques are there?": the list with its items
            hits = _list_first(state, question, hits)
        return self._compose(state, question, qvecs[0], hits, top - cfg.min_dense, kind)

    def _compared(self, state: _State, query: Query, qvecs: np.ndarray, pair: tuple[str, str], kind: str) -> Reply | None:
        """Both sides of a comparison, each from the best-scoring passage that names it (no extra forward pass)."""
        tokenize = state.index.keywords.tokenize
        wanted = [set(tokenize(part)) for part in pair]
        shared = wanted[0] & wanted[1]
        wanted = [w - shared for w in wanted]
        if not all(wanted):
            return None
        hits = [h for h in state.retriever.retrieve(query, k=self.settings.candidates * 3, qvecs=qvecs)
                if state.usable(h)]
        if kind == "studio":
            hits = [h for h in hits if h.passage.source not in state.general]
        chosen: list[Hit] = []
        for words in wanted:
            def names(h: Hit) -> tuple[bool, bool]:
                own = tokenize(h.passage.text)
                found = set(tokenize(f"{h.passage.section or ''} {h.passage.lead} {h.passage.text}"))
                return words <= found, words <= set(own[:8])  # named at all; named first (a definition)
            named = [h for h in hits if names(h)[0] and h not in chosen]
            if not named:
                return None
            chosen.append(max(named, key=lambda h: (names(h)[1], h.score)))
        if max(h.dense for h in chosen) < self.settings.min_dense:  # each names its side; one must be close
            return None
        rest = [h for h in hits if h not in chosen]
        reply = answer.compose(query.question, chosen + rest, self.settings.max_citations, min_support=-1.0,
                               margin=2.0, max_sentences=2, items=state.list_items)
        return replace(reply, kind=kind, margin=max(h.dense for h in chosen) - self.settings.min_dense)

    def _decide(self, state: _State, qvec: np.ndarray, hits: list[Hit], follow_up: bool = False) -> Verdict:
        """The topic that decides a question its words don't (_named_health): the nearest topic example when it
        is close enough and closer than any passage. Its margin says by how much."""
        top = hits[0].dense if hits else 0.0
        verdict = state.topics.nearest(qvec, DECIDING)
        if verdict.kind == "health":  # nearer a health example than any other: err toward the referral
            margin = verdict.score - self.settings.min_health
        else:
            margin = min(verdict.score - self.settings.min_topic, verdict.score - top)
        if margin < 0 or verdict.kind == "general" or (follow_up and verdict.kind != "health"):  # the documents decide
            return Verdict(None, verdict.score, margin=margin, nearest=verdict.topic)
        return Verdict(verdict.topic, verdict.score, margin=margin, nearest=verdict.topic)

    def classify(self, question: str) -> str | None:
        """The kind of topic that decides a question before any passage is quoted ("studio", "health",
        "smalltalk", "offtopic"), or None when it goes to the documents."""
        state = self._state
        question = self.clean_question(question)
        named = _named_health(state.topics, question)
        if named:
            return named.kind
        query = Query(question, question)
        qvecs = state.retriever.encode(query)
        hits = [h for h in state.retriever.retrieve(query, qvecs=qvecs) if state.usable(h)]
        return self._decide(state, qvecs[0], hits).kind

    def _compose(
        self, state: _State, question: str, qvec: np.ndarray, hits: list[Hit], margin: float, kind: str = "answer"
    ) -> Reply:
        hits = _span(state, hits, qvec, self.settings.min_support)
        reply = answer.compose(
            question, hits, self.settings.max_citations, self.settings.min_support, items=state.list_items
        )
        return replace(reply, kind=kind, margin=margin)

    def _health_answer(
        self, state: _State, verdict: Verdict, query: Query, qvecs: np.ndarray, hits: list[Hit]
    ) -> Reply:
        """Quote a passage that speaks to the situation directly, with the referral; else the referral alone."""
        need = max(self.settings.min_caution, self.settings.min_dense)
        if verdict.keyword:  # "pregnant", "blood thinners": only a passage that names the condition speaks to it
            families = verdict.topic.families_of(verdict.topic.named(query.question))
            named = tuple(k for f in families for k in f)
            words = [query.text, *(k.rstrip("*") for k in named)]  # BM25 finds the passages that name them too
            starts = [k.rstrip("*").split()[-1] for k in named if k.endswith("*")]
            words += [w for start in starts for w in state.index.keywords.starting(start)]
            wider = replace(query, text=" ".join(words))
            hits = [h for h in state.retriever.retrieve(wider, k=self.settings.candidates * 5, qvecs=qvecs)
                    if state.usable(h)]

            def speaks(h: Hit) -> int:  # how many of the things the question names the passage names too
                return sum(bool(keywords_in(f"{h.passage.section or ''} {h.passage.quote}", f)) for f in families)

            hits = sorted((h for h in hits if speaks(h)), key=speaks, reverse=True)
            need = 0.0  # naming the condition is what makes a passage speak to it
        elif not verdict.topic.quote:  # symptoms: never answered with a benefit claim
            hits = []
        top = hits[0].dense if hits else 0.0
        if hits and top >= need:
            reply = self._compose(state, query.question, qvecs[0], hits, top - need)
            return answer.caution(reply, state.topics.language.caution, self.contact)
        return answer.referral("medical", self.contact, top - need)

    def list_items(self, passage: Passage) -> list[Passage]:
        """The items a sentence introduces, when it ends with a colon."""
        return self._state.list_items(passage)

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


def _unread(corpus_dir: Path, most: int = 3) -> tuple[str, ...]:
    """Why files in the corpus folder are not answered from (an image, an old .doc): one line each, or one for all."""
    names = unread_files(corpus_dir, (FACTS_FILE, TOPICS_FILE)) if Path(corpus_dir).is_dir() else []
    fix = f"only {READABLE} files are; save it as one of them, or move it out of the corpus folder"
    if len(names) > most:
        return (f"{len(names)} files are not read ({', '.join(names[:most])}, …): {fix}",)
    return tuple(f"{name} is not read: {fix}" for name in names)


def _named_health(topics: Topics, question: str) -> Verdict | None:
    """A health question by its words: a keyword names the condition; a trigger ("diagnosed with …") names none,
    so a passage speaks to it by closeness (min_caution), not by name."""
    topic = topics.health_keyword(question)
    if topic:
        return Verdict(topic, 1.0, keyword=True, margin=1.0)
    topic = topics.health_trigger(question)
    return Verdict(topic, 1.0, margin=1.0) if topic else None


def _span(state: _State, hits: list[Hit], qvec: np.ndarray, support: float, most: int = 3) -> list[Hit]:
    """The top passage quoted as the run of its paragraph's sentences that answer too, up to `most`, in document
    order: a sentence before it joins when its own text is at least `support` close to the question; a sentence
    after, when it is read after the one before ("…very light strokes. The pressure is barely…")."""
    if not hits or hits[0].passage.lead or hits[0].passage.id not in state.position:
        return hits
    top = hits[0].passage
    passages, owners = state.index.passages, state.index.owners
    at = state.position[top.id]
    if passages[at].text != top.text:  # already quoted another way (a list read whole from its lead-in)
        return hits

    def joins(i: int, after: bool) -> bool:
        p = passages[i] if 0 <= i < len(passages) else None
        if p is None or p.source != top.source or p.paragraph != top.paragraph or p.lead:
            return False
        views = embedding_views(p)  # its own text first; then read after the sentence before it, and more
        wanted = {p.text, f"{p.context} {p.quote}".strip()} if after else {p.text}
        first = int(np.searchsorted(owners, i, side="left"))
        rows = [first + n for n, view in enumerate(views) if view in wanted]
        return float((state.index.vectors.reconstruct(rows) @ qvec).max()) >= support

    run = [at]
    for step in (-1, 1):
        i = at + step
        while len(run) < most and joins(i, after=step > 0):
            run.append(i)
            i += step
    if len(run) == 1:
        return hits
    parts = [passages[i] for i in sorted(run)]
    refs = {r.number: r for p in parts for r in p.references}
    merged = replace(top, text=" ".join(p.text for p in parts), context=parts[0].context,
                     references=tuple(refs[n] for n in sorted(refs)))
    ids = {p.id for p in parts}
    return [replace(hits[0], passage=merged)] + [h for h in hits[1:] if h.passage.id not in ids]


def _list_first(state: _State, question: str, hits: list[Hit]) -> list[Hit]:
    """Put first the list whose lead-in names what the question asks for, read as its lead-in plus items."""
    words = set(state.index.keywords.tokenize(question))
    for h in hits:
        p = h.passage
        if p.lead and words & set(state.index.keywords.tokenize(p.lead)):
            whole = replace(h, passage=replace(p, text=p.lead, lead="", context="", references=()))
            return [whole] + [x for x in hits if x.passage.lead != p.lead or x.passage.source != p.source]
    return hits


def _text_vectors(index: Index, chunk: int = 8192):
    """Each passage's first view (its own text), read back from the vector index a chunk at a time."""
    first = np.searchsorted(index.owners, np.arange(len(index.passages)), side="left")
    for i in range(0, len(first), chunk):
        yield index.vectors.reconstruct(first[i : i + chunk].tolist())


def _topic_labels(index: Index, topics: Topics, which: tuple[int, ...], chunk: int = 8192) -> np.ndarray:
    """Per passage and studio topic: the best cosine of any of the passage's vectors (its text, its entry's
    question and phrasings) to that topic's examples. Computed once per index, from stored vectors."""
    labels = np.full((len(index.passages), len(which)), -1.0, dtype=np.float32)
    if not which:
        return labels
    total = len(index.owners)
    for i in range(0, total, chunk):
        rows = list(range(i, min(total, i + chunk)))
        np.maximum.at(labels, index.owners[rows], topics.topic_scores(index.vectors.reconstruct(rows), list(which)))
    return labels


def _catchall(index: Index, topics: Topics, cutoff: float) -> np.ndarray:
    """Per passage: is it a catch-all line (a call to action), close to a catch-all example?"""
    parts = [topics.similarity(vectors, "catchall") >= cutoff for vectors in _text_vectors(index)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def _examples(passages: list[Passage], about_topic: str, n: int = 3) -> tuple[str, ...]:
    """Questions the documents' own entries answer (or, failing that, their section titles)."""
    questions = [p.asked[0] for p in passages if p.asked and p.asked[0].endswith("?")]
    picked = list(dict.fromkeys(questions))
    if len(picked) < n:
        sections = [
            p.section for p in passages
            if p.section and not p.section.endswith("?") and p.section != title_from_name(p.source)
        ]
        picked += [about_topic.format(topic=f"{s[:1].lower()}{s[1:]}") for s in dict.fromkeys(sections)]
    step = max(1, len(picked) // n) if len(picked) > n else 1
    return tuple(picked[::step][:n])


def _fingerprint(corpus_dir: Path) -> tuple:
    """Names, sizes and modification times of the corpus files: cheap enough to poll every few seconds."""
    corpus_dir = Path(corpus_dir)
    paths = [*corpus_files(corpus_dir), corpus_dir / FACTS_FILE, corpus_dir / TOPICS_FILE] if corpus_dir.is_dir() else []
    out = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)
