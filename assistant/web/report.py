"""The staff report and the studio FAQ over HTTP, behind the staff password. The work is assistant/studio.py's:

    GET    /api/staff/report?days=7        counts, four groupings (unanswered, rated down, low confidence, most
                                           asked) and a trend per day
    GET    /api/staff/questions.csv?days=7 the question log as a CSV download
    GET    /api/staff/faq                  the studio FAQ's entries and the file's version
    POST   /api/staff/publish              {"question", "answer", "also", "version"} → a new entry
    PATCH  /api/staff/faq                  {"question", "answer"?, "add"?, "remove"?, "version"} → an edited entry
    DELETE /api/staff/faq                  {"question", "version"} → the entry unpublished

Every change is re-indexed before it returns and answers with what a client now gets for each phrasing.
"""

from __future__ import annotations

import io
import time

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from assistant.studio import Conflict, NotFound, PublishError, Studio
from assistant.studiofaq import MAX_ANSWER, MAX_PHRASINGS, MAX_QUESTION
from assistant.web.api import ERRORS, ErrorOut, error
from assistant.web.gate import Answerer
from assistant.web.journal import Journal
from assistant.web.staff import password_check

DAYS = Query(7, ge=1, le=3650, description="The period: the last this many days")
VERSION = Field(
    None, max_length=64, description="The file's version from GET /api/staff/faq; a hand edit since then gets 409"
)
CHANGE_ERRORS = {404: {"model": ErrorOut}, 409: {"model": ErrorOut}, **ERRORS}
# a body is at most 64 KB (door.BodyLimit); the limits here keep one field from using all of it
ANSWER = Field(max_length=MAX_ANSWER * 5, description=f"Plain text, up to {MAX_ANSWER:,} characters; blank lines "
               "separate paragraphs. Markup, links and scripts are refused")
PHRASINGS = Field(default_factory=list, max_length=MAX_PHRASINGS, description="Other wordings clients use")


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(max_length=MAX_QUESTION * 5, description="The entry's heading, one line")
    answer: StrictStr = ANSWER
    also: list[StrictStr] = PHRASINGS
    version: StrictStr | None = VERSION


class EditRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(max_length=MAX_QUESTION * 5, description="The entry's heading")
    answer: StrictStr | None = Field(None, max_length=MAX_ANSWER * 5, description="A new answer, if it changes")
    add: list[StrictStr] = PHRASINGS
    remove: list[StrictStr] = PHRASINGS
    version: StrictStr | None = VERSION


class UnpublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(max_length=MAX_QUESTION * 5)
    version: StrictStr | None = VERSION


class CheckOut(BaseModel):
    phrasing: str
    cited: bool = Field(description="A client asking this wording gets the entry, cited first")
    answer: str
    abstained: bool


class EntryOut(BaseModel):
    question: str
    answer: str
    also: list[str]


class ChangeOut(BaseModel):
    action: str
    source: str
    question: str
    entry: EntryOut | None = Field(description="The entry as it now stands; null once unpublished")
    version: str = Field(description="The file's version now: send it with the next change")
    cited: bool = Field(description="Every phrasing now gets the entry cited first")
    checks: list[CheckOut] = Field(description="What a client asking each phrasing now gets")
    problems: list[str]


class FaqOut(BaseModel):
    source: str
    version: str
    entries: list[EntryOut]


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
    cited: str = Field(description="Most asked: the passage id most of the group was answered from")
    passage: str = Field(description="Most asked: that passage's text")


class SectionOut(BaseModel):
    groups: list[GroupOut]
    more_groups: int = Field(description="Smaller groups not shown (they are in the CSV)")
    left_out: int = Field(description="Questions past the grouping bound (the least asked), counted but not grouped")


class DayOut(BaseModel):
    date: str
    answered: int
    referred: int
    down: int


class ReportOut(BaseModel):
    days: int
    logging: bool = Field(description="False when MASSAGE_LOG_QUESTIONS=0: nothing is being recorded")
    counts: CountsOut
    unanswered: SectionOut = Field(description="Referred for want of an answer (not medical, not small talk)")
    rated_down: SectionOut
    low_confidence: SectionOut = Field(description="Answered, but the decision was narrow: check these answers")
    most_asked: SectionOut = Field(description="The most asked answered questions, with the passage quoted")
    trend: list[DayOut] = Field(description="Per UTC day: answered, referred, thumbs down")
    problems: list[str] = Field(description="Corpus files the app could not use; the last good index keeps serving")


def router(gate: Answerer, bot, journal: Journal, password: str, studio: Studio | None = None) -> APIRouter:
    """`bot` is the Assistant itself (the Studio edits its corpus and refreshes it); `gate` is unused here: staff
    checks of a change ask the Assistant directly and are not logged."""
    staff = APIRouter(prefix="/api/staff", dependencies=[Depends(password_check(password))], tags=["staff"])
    studio = studio or Studio(bot, journal.questions)

    def change(call) -> dict | JSONResponse:
        try:
            return call().to_dict()
        except NotFound as e:
            return error(404, str(e))
        except Conflict as e:
            return error(409, str(e))
        except PublishError as e:
            return error(400, str(e))

    @staff.get("/report", response_model=ReportOut)
    def report(days: int = DAYS) -> dict:
        """What clients asked over the period: counts; the questions the assistant couldn't answer, that were rated
        down, or answered on a narrow decision, and the most asked, each grouped by meaning; questions per day."""
        bot.refresh()  # cheap when nothing changed; keeps "problems" current even without the watcher
        studio.keep_warm()  # from now on newly logged questions are embedded in the background, a batch at a time
        return studio.report(days).to_dict()

    @staff.get("/questions.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
    def export(days: int = DAYS) -> Response:
        """The question log over the period as CSV (one row per question, with its thumb and comment)."""
        out = io.StringIO()
        studio.export_csv(out, days)
        name = f"questions-{time.strftime('%Y-%m-%d')}-{days}d.csv"
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )

    @staff.get("/faq", response_model=FaqOut, responses=CHANGE_ERRORS)
    def entries() -> dict | JSONResponse:
        """The studio FAQ's entries as the file holds them, and its version to send back with a change."""
        try:
            faq = studio.faq()
        except PublishError as e:
            return error(409, str(e))
        return {"source": "studio-faq.md", "version": faq.version, "entries": [e.to_dict() for e in faq.entries]}

    @staff.post("/publish", response_model=ChangeOut, responses=CHANGE_ERRORS)
    def publish(body: PublishRequest) -> dict | JSONResponse:
        """Add a question-and-answer entry to corpus/studio-faq.md, with any other phrasings (e.g. a report group's
        wordings), and re-index before returning. (limits.protect refuses cross-site staff writes.)"""
        return change(lambda: studio.publish(body.question, body.answer, body.also, body.version))

    @staff.patch("/faq", response_model=ChangeOut, responses=CHANGE_ERRORS)
    def edit(body: EditRequest) -> dict | JSONResponse:
        """Edit an entry's answer, add phrasings or remove them."""
        return change(lambda: studio.edit(body.question, body.answer, body.add, body.remove, body.version))

    @staff.delete("/faq", response_model=ChangeOut, responses=CHANGE_ERRORS)
    def unpublish(body: UnpublishRequest = Body()) -> dict | JSONResponse:
        """Remove an entry; the checks show what its phrasings get now."""
        return change(lambda: studio.unpublish(body.question, body.version))

    return staff
