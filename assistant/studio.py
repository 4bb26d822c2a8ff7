"""Staff work over one Assistant and its question log: the report of what clients asked, and the studio FAQ.

    studio = Studio(bot, QuestionLog.open(settings.data_dir))
    studio.report(days=7)                                      # groups to look at, counts, a trend per day
    studio.publish("Can I bring my own music?", "Yes. …", also=["is it ok to play my own songs"])
    studio.edit("Can I bring my own music?", add=["can you put on my spotify"], version=…)
    studio.unpublish("Can I bring my own music?", version=…)

Every change is written to corpus/studio-faq.md and re-indexed before it returns, and returns what a client now
gets for each phrasing. A change that would break the file is undone. The web and CLI layers only adapt these calls.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from assistant import grouping, studiofaq
from assistant.grouping import Asked, Grouping
from assistant.questionlog import QuestionLog
from assistant.studiofaq import FAQ_FILE, Conflict, Entry, NotFound, PublishError

LOW_MARGIN = 0.05  # a reply whose decision margin is below this was a narrow call
LOW_SCORE = 0.45  # without a recorded margin: a top citation scoring below this was close to the cut-off
MOST_ASKED = 10
WARM_BATCH = 256  # questions embedded per background warm-up
WARM_EVERY = 10.0  # seconds between warm-ups, once the report has been opened
SHOWN = 100  # groups per section in a report; the rest are counted
DAY = 86400

log = logging.getLogger(__name__)

__all__ = ["Studio", "Report", "Change", "Check", "PublishError", "NotFound", "Conflict", "FAQ_FILE"]


@dataclass(frozen=True)
class Check:
    """What a client asking `phrasing` gets now."""

    phrasing: str
    cited: bool  # the reply cites the entry
    answer: str
    abstained: bool

    def to_dict(self) -> dict:
        return {"phrasing": self.phrasing, "cited": self.cited, "answer": self.answer, "abstained": self.abstained}


@dataclass(frozen=True)
class Change:
    """The result of a publish, edit or unpublish: the entry as it now stands (None once unpublished)."""

    action: str
    question: str
    entry: Entry | None
    version: str  # the file's version after the change: send it with the next change
    checks: tuple[Check, ...]
    problems: tuple[str, ...] = ()

    @property
    def cited(self) -> bool:
        return bool(self.checks) and all(c.cited for c in self.checks)

    def to_dict(self) -> dict:
        return {
            "action": self.action,
            "source": FAQ_FILE,
            "question": self.question,
            "entry": self.entry.to_dict() if self.entry else None,
            "version": self.version,
            "cited": self.cited,
            "checks": [c.to_dict() for c in self.checks],
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class Day:
    date: str  # YYYY-MM-DD, UTC
    answered: int
    referred: int
    down: int

    def to_dict(self) -> dict:
        return {"date": self.date, "answered": self.answered, "referred": self.referred, "down": self.down}


@dataclass(frozen=True)
class Report:
    days: int
    logging: bool
    counts: dict
    sections: dict[str, Grouping]  # unanswered, rated_down, low_confidence, most_asked
    trend: tuple[Day, ...]
    passages: dict[str, str] = field(default_factory=dict)  # cited passage id → its text (most asked)
    problems: tuple[str, ...] = ()

    def to_dict(self, shown: int = SHOWN) -> dict:
        out = {"days": self.days, "logging": self.logging, "counts": self.counts}
        for name, found in self.sections.items():
            out[name] = {
                "groups": [{**g.to_dict(), "passage": self.passages.get(g.cited, "")} for g in found.groups[:shown]],
                "more_groups": max(0, len(found.groups) - shown),
                "left_out": found.left_out,
            }
        out["trend"] = [d.to_dict() for d in self.trend]
        out["problems"] = list(self.problems)
        return out


class VectorCache:
    """Remembers the vectors of questions already grouped, so the next report only embeds questions asked since:
    in memory (bounded: the oldest entries go first), and in the question log when one is given (kept across
    restarts)."""

    def __init__(
        self, encode: Callable[[list[str]], np.ndarray], size: int = 20_000, log: QuestionLog | None = None,
        model: str = "",
    ) -> None:
        self._encode = encode
        self._size = size
        self._log = log
        self._model = model
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing and self._log is not None:
            stored = self._log.vectors(missing, self._model)
            known.update(stored)
            missing = [t for t in missing if t not in stored]
        if missing:
            fresh = dict(zip(missing, np.asarray(self._encode(missing), dtype=np.float32)))
            known.update(fresh)
            if self._log is not None:
                self._log.keep_vectors(fresh, self._model)
        if texts:
            with self._lock:
                for t in dict.fromkeys(texts):
                    self._vectors[t] = known[t]
                    self._vectors.move_to_end(t)
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        return np.stack([known[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)


class Studio:
    """The report and the studio FAQ over one Assistant (anything with ask, refresh, info, embedder, settings,
    index) and its QuestionLog."""

    def __init__(self, bot, questions: QuestionLog) -> None:
        self.bot = bot
        self.questions = questions
        model = getattr(getattr(bot, "embedder", None), "name", "")  # a stub bot in a test may have no embedder
        self.vectors = VectorCache(lambda texts: bot.embedder.encode(texts), log=questions, model=model)
        self._lock = threading.Lock()  # one FAQ change at a time in this process
        self._warmer: threading.Thread | None = None

    @property
    def corpus_dir(self) -> Path:
        return Path(self.bot.settings.corpus_dir)

    # --- the studio FAQ -------------------------------------------------------------------------

    def faq(self) -> studiofaq.FaqFile:
        """The entries as the file holds them now, with the version to send back with a change."""
        return studiofaq.read(self.corpus_dir)

    def publish(
        self, question: str, answer: str, also: Sequence[str] = (), version: str | None = None
    ) -> Change:
        """Add a question-and-answer entry; every phrasing in `also` (e.g. the wordings of a report group) finds it."""
        entry = studiofaq.clean_entry(question, answer, list(also))

        def change(faq: studiofaq.FaqFile) -> tuple[int | None, Entry, Entry]:
            if any(studiofaq.same_wording(e.question, entry.question) for e in faq.entries):
                raise Conflict(f"{FAQ_FILE} already answers {entry.question!r}; edit that entry instead")
            _refuse_taken(faq, entry, None)
            return None, entry, entry

        return self._apply("publish", entry.question, change, version)

    def edit(
        self,
        question: str,
        answer: str | None = None,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        version: str | None = None,
    ) -> Change:
        """Change an entry's answer, add phrasings, or remove them (not its heading: unpublish for that)."""
        new_answer = studiofaq.clean_answer(answer) if answer is not None else None
        added = [studiofaq.clean_question(p, "phrasing") for p in add]

        def change(faq: studiofaq.FaqFile) -> tuple[int, Entry, Entry]:
            i = faq.find(question)
            old = faq.entries[i]
            also = list(old.also)
            for p in remove:
                if studiofaq.same_wording(p, old.question):
                    raise PublishError(f"{p!r} is the entry's own question; unpublish the entry to remove it")
                kept = [a for a in also if not studiofaq.same_wording(a, p)]
                if len(kept) == len(also):
                    raise NotFound(f"{old.question!r} has no phrasing {p!r}")
                also = kept
            for p in added:
                if not any(studiofaq.same_wording(p, a) for a in [old.question, *also]):
                    also.append(p)
            entry = studiofaq.clean_entry(old.question, new_answer or old.answer, also)
            _refuse_taken(faq, entry, i)
            return i, entry, entry

        return self._apply("edit", question, change, version)

    def unpublish(self, question: str, version: str | None = None) -> Change:
        """Remove an entry; the returned checks show what its phrasings get now."""

        def change(faq: studiofaq.FaqFile) -> tuple[int, None, Entry]:
            i = faq.find(question)
            return i, None, faq.entries[i]

        return self._apply("unpublish", question, change, version)

    def _apply(self, action: str, question: str, change, version: str | None) -> Change:
        """Write what `change(faq)` returns ((entry position or None to append, the new entry or None to remove,
        the entry whose phrasings to check)) and re-index; undo it if the file no longer parses."""
        with self._lock:
            faq = self.faq()
            if version is not None and version != faq.version:
                raise Conflict(
                    f"{FAQ_FILE} changed since you loaded it (a hand edit or another staff member); "
                    "reload the staff view and make the change again"
                )
            index, entry, shown = change(faq)
            path = self.corpus_dir / FAQ_FILE
            before = path.read_bytes() if path.exists() else None
            if (hashlib.sha256(before).hexdigest() if before else "") != faq.version:  # a hand edit just now
                raise Conflict(f"{FAQ_FILE} changed while the change was being made; make it again")
            known = set(self.bot.info().get("problems", []))
            text = faq.with_entry(index, entry)
            if all(line.startswith("#") for line in text.splitlines() if line.strip()):  # only titles are left:
                # the last entry went, so no file rather than a file with nothing to answer from
                studiofaq.restore(self.corpus_dir, None)
            else:
                studiofaq.write(self.corpus_dir, text)
            try:
                self.bot.refresh()
            except Exception:
                studiofaq.restore(self.corpus_dir, before)
                raise
            new = [p for p in self.bot.info().get("problems", []) if p not in known and FAQ_FILE in p]
            if new:  # the change broke the file for the parser: put it back as it was
                studiofaq.restore(self.corpus_dir, before)
                self.bot.refresh()
                raise PublishError(f"{FAQ_FILE} was left as it was: {new[0]}")
            after = self.faq()
        checks = self.check(shown)
        return Change(
            action, entry.question if entry else question, entry, after.version, checks,
            tuple(self.bot.info().get("problems", [])),
        )

    def check(self, entry: Entry) -> tuple[Check, ...]:
        """What a client asking each phrasing of the entry gets now (staff checking their work: not logged)."""
        out = []
        for p in entry.phrasings:
            reply = self.bot.ask(p)
            cited = any(c.source == FAQ_FILE and c.section == entry.question for c in reply.citations[:1])
            out.append(Check(p, cited, reply.answer, reply.abstained))
        return tuple(out)

    # --- the report -----------------------------------------------------------------------------

    def report(self, days: int = 7, now: float | None = None) -> Report:
        """What clients asked over the last `days` days: counts, four groupings to act on, and a trend per day."""
        now = now or time.time()
        since, until = now - days * DAY, now + 1
        rows = self.questions.rows(since, until)
        encode = self.vectors.encode

        def asked(rs: list[dict], cited: bool = False) -> list[Asked]:
            return [Asked(r["id"], r["question"], r["down"], _first_citation(r) if cited else "") for r in rs]

        unanswered = [r for r in rows if r["abstained"] and r["kind"] not in ("medical", "smalltalk")]
        rated_down = [r for r in rows if r["down"]]
        answered = [r for r in rows if not r["abstained"] and r["kind"] != "smalltalk"]
        low = [r for r in answered if not r["down"] and _narrow(r)]
        most = grouping.group(asked(answered, cited=True), encode)
        sections = {
            "unanswered": grouping.group(asked(unanswered), encode),
            "rated_down": grouping.group(asked(rated_down), encode),
            "low_confidence": grouping.group(asked(low), encode),
            "most_asked": Grouping(most.groups[:MOST_ASKED], most.left_out + sum(g.count for g in most.groups[MOST_ASKED:])),
        }
        texts = {p.id: p.quote for p in self.bot.index.passages} if most.groups else {}
        passages = {g.cited: texts.get(g.cited, "") for g in sections["most_asked"].groups if g.cited}
        return Report(
            days, self.questions.enabled, _counts(rows), sections, _trend(rows, since, now), passages,
            tuple(self.bot.info().get("problems", [])) + tuple(self._hand_edits()),
        )

    def _hand_edits(self) -> list[str]:
        try:
            return studiofaq.markup_problems(self.faq())
        except PublishError:  # unreadable: the index already reports it
            return []

    def warm(self, limit: int = WARM_BATCH, days: int = 90) -> int:
        """Embed (and keep) up to `limit` logged questions that have no vector yet, most asked first, so the next
        report has less to embed. Returns how many it embedded."""
        if not self.questions.enabled:
            return 0
        texts = self.questions.without_vectors(self.vectors.model, time.time() - days * DAY, limit)
        if texts:
            self.vectors.encode(texts)
        return len(texts)

    def keep_warm(self, every: float = WARM_EVERY) -> None:
        """From now on, embed newly logged questions in the background, a batch every `every` seconds."""
        if self._warmer is not None or not self.questions.enabled:
            return

        def loop() -> None:
            while True:
                time.sleep(every)
                try:
                    self.warm()
                except Exception as e:  # noqa: BLE001 - a failed warm-up only means the next report embeds more
                    log.warning("question vectors not warmed: %s", e)

        self._warmer = threading.Thread(target=loop, name="report-warmer", daemon=True)
        self._warmer.start()

    def export_csv(self, out: IO[str], days: int = 7, now: float | None = None) -> int:
        now = now or time.time()
        return self.questions.export_csv(out, now - days * DAY, now + 1)


def _refuse_taken(faq: studiofaq.FaqFile, entry: Entry, index: int | None) -> None:
    for p in entry.phrasings:
        owner = faq.owner(p, besides=index)
        if owner is not None:
            raise Conflict(
                f"{p!r} already finds the entry {owner.question!r}; remove it there first, or leave it out here"
            )


def _counts(rows: list[dict]) -> dict:
    latencies = sorted(r["latency_ms"] for r in rows)
    return {
        "questions": len(rows),
        "abstentions": sum(1 for r in rows if r["abstained"] and r["kind"] != "smalltalk"),
        "thumbs_up": sum(r["up"] for r in rows),
        "thumbs_down": sum(r["down"] for r in rows),
        "p50_latency_ms": round(float(np.median(latencies)), 1) if latencies else None,
    }


def _narrow(row: dict) -> bool:
    """An answer decided narrowly: by its recorded margin, else (no margin, or Reply's default 0.0) by how close its
    top citation scored to the cut-off. Only answers quoted from documents count."""
    scores = [c.get("score", 1.0) for c in json.loads(row["citations"] or "[]")]
    if not scores:
        return False
    if row.get("margin"):
        return row["margin"] < LOW_MARGIN
    return scores[0] < LOW_SCORE


def _first_citation(row: dict) -> str:
    cited = json.loads(row["citations"] or "[]")
    return cited[0]["id"] if cited else ""


def _trend(rows: list[dict], since: float, now: float) -> tuple[Day, ...]:
    """One point per UTC day of the period, days without questions included."""
    first = dt.datetime.fromtimestamp(since, dt.timezone.utc).date()
    last = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
    days = {first + dt.timedelta(n): [0, 0, 0] for n in range((last - first).days + 1)}
    for r in rows:
        day = days.get(dt.datetime.fromtimestamp(r["ts"], dt.timezone.utc).date())
        if day is None or r["kind"] == "smalltalk":
            continue
        day[1 if r["abstained"] else 0] += 1
        day[2] += r["down"]
    return tuple(Day(d.isoformat(), *v) for d, v in days.items())
