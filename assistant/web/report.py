"""The staff report and studio FAQ publishing, behind the staff password:

    GET  /api/staff/report?days=7        counts, unanswered and thumbed-down questions grouped by meaning, problems
    GET  /api/staff/questions.csv?days=7 the question log as a CSV download
    POST /api/staff/publish              {"question", "answer"} → corpus/studio-faq.md, re-indexed before it returns
"""

from __future__ import annotations

import io
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import numpy as np
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from assistant.settings import Settings
from assistant.web import faq
from assistant.web.api import ERRORS, ErrorOut, ReplyOut, error
from assistant.web.gate import Answerer
from assistant.web.journal import Journal
from assistant.web.staff import password_check

MAX_GROUPS = 100
DAYS = Query(7, ge=1, le=3650, description="The period: the last this many days")


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


class Studio(Answerer, Protocol):
    """An Answerer, plus what the report needs from the Assistant itself: its embedder, corpus folder and refresh."""

    embedder: Encoder
    settings: Settings

    def refresh(self) -> bool: ...

    def info(self) -> dict: ...


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(max_length=2000, description="The heading clients will see cited, one line")
    answer: StrictStr = Field(max_length=10_000, description="Plain text; blank lines separate paragraphs")


class CountsOut(BaseModel):
    questions: int
    abstentions: int
    thumbs_up: int
    thumbs_down: int
    p50_latency_ms: float | None


class GroupOut(BaseModel):
    count: int
    example: str
    questions: list[str]
    ask_ids: list[int]
    down_votes: int


class ReportOut(BaseModel):
    days: int
    logging: bool = Field(description="False when MASSAGE_LOG_QUESTIONS=0: nothing is being recorded")
    counts: CountsOut
    groups: list[GroupOut] = Field(description="Unanswered (not medical) and thumbed-down questions, most asked first")
    more_groups: int
    problems: list[str] = Field(description="Corpus files the app could not use; the last good index keeps serving")


class PublishOut(BaseModel):
    source: str
    question: str
    answer: str
    cited: bool = Field(description="Whether the question as written now gets an answer citing the FAQ file")
    reply: ReplyOut
    problems: list[str]


class VectorCache:
    """Remembers the vectors of questions already grouped, so switching the period or reloading the report only
    embeds questions asked since. Bounded: the oldest entries go first."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray], size: int = 10_000) -> None:
        self._encode = encode
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            known = dict((t, self._vectors[t]) for t in texts if t in self._vectors)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, np.asarray(self._encode(missing), dtype=np.float32)))
            with self._lock:
                for t in missing:
                    self._vectors[t] = known[t]
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        return np.stack([known[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)


def period(days: int) -> tuple[float, float]:
    now = time.time()
    return now - days * 86400, now + 1


def router(gate: Answerer, studio: Studio, journal: Journal, password: str) -> APIRouter:
    staff = APIRouter(prefix="/api/staff", dependencies=[Depends(password_check(password))], tags=["staff"])
    log = journal.questions
    vectors = VectorCache(lambda texts: studio.embedder.encode(texts))

    @staff.get("/report", response_model=ReportOut)
    def report(days: int = DAYS) -> dict:
        """What clients asked over the period: counts, and the questions the assistant couldn't answer or that
        were rated down, grouped by meaning with the assistant's own embedder."""
        studio.refresh()  # cheap when nothing changed; keeps "problems" current even without the watcher
        since, until = period(days)
        groups = log.groups(vectors.encode, since, until)
        return {
            "days": days,
            "logging": log.enabled,
            "counts": log.counts(since, until),
            "groups": [g.to_dict() for g in groups[:MAX_GROUPS]],
            "more_groups": max(0, len(groups) - MAX_GROUPS),
            "problems": studio.info().get("problems", []),
        }

    @staff.get("/questions.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
    def export(days: int = DAYS) -> Response:
        """The question log over the period as CSV (one row per question, with its thumbs and comments)."""
        out = io.StringIO()
        log.export_csv(out, *period(days))
        name = f"questions-{time.strftime('%Y-%m-%d')}-{days}d.csv"
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )

    @staff.post("/publish", response_model=PublishOut, responses={403: {"model": ErrorOut}, 409: {"model": ErrorOut}, **ERRORS})
    def publish(body: PublishRequest) -> dict | JSONResponse:
        """Append the answer to corpus/studio-faq.md and re-index before returning, so the very next client
        question gets it, cited. Returns what a client asking the question as written now gets.
        (A request from another site never gets here: limits.protect refuses cross-site staff writes.)"""
        try:
            entry = faq.publish(studio.settings.corpus_dir, body.question, body.answer)
        except faq.AlreadyAnswered as e:
            return error(409, str(e))
        except faq.PublishError as e:
            return error(400, str(e))
        studio.refresh()
        reply = gate.ask(entry.question)  # staff checking their work: not logged as a client question
        return {
            "source": faq.FAQ_FILE,
            "question": entry.question,
            "answer": entry.answer,
            "cited": any(c.source == faq.FAQ_FILE for c in reply.citations),
            "reply": reply.to_dict(),
            "problems": studio.info().get("problems", []),
        }

    return staff
