"""The JSON API: POST /api/ask, POST /api/feedback and GET /api/health. Every failure is a 4xx/503 with a one-line
{"error": …}."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import AssistantError, BadQuestion
from assistant.questionlog import TOKEN, LogError
from assistant.web.gate import Busy
from assistant.web.journal import CONVERSATION, MAX_COMMENT, Journal


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(description="The client's question, up to max_question_chars characters")
    history: list[tuple[StrictStr, StrictStr]] = Field(
        default_factory=list, description="Earlier turns, oldest first, as [question, answer] pairs"
    )
    conversation: StrictStr = Field(
        "", pattern=CONVERSATION.pattern,
        description="An anonymous id the caller makes up per conversation (letters, digits, - and _; up to 64)",
    )
    surface: Literal["api", "widget"] = Field("api", description="Which surface asked, for the question log")


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ask_id: StrictStr = Field(
        pattern=TOKEN.pattern, description="The X-Ask-Id header of the answer being rated: a random token, not a number"
    )
    rating: Literal[1, -1] = Field(description="1 for thumbs up, -1 for thumbs down")
    comment: StrictStr = Field("", max_length=MAX_COMMENT, description="Optional: what was wrong or missing")


class FeedbackOut(BaseModel):
    stored: bool = Field(description="False when the studio has turned the question log off")


class StudyOut(BaseModel):
    number: int
    title: str


class CitationOut(BaseModel):
    source: str
    section: str | None
    text: str
    score: float
    references: list[StudyOut]


class ReplyOut(BaseModel):
    answer: str = Field(description="Markdown with [n] markers pointing into citations")
    abstained: bool = Field(description="True when the guide doesn't cover it; the answer then has the contact line")
    citations: list[CitationOut]
    kind: Literal["answer", "studio", "caution", "smalltalk", "out_of_scope", "medical"] = Field(
        description="Which reply this is; abstained is true whenever no document is quoted as the answer"
    )


class HealthOut(BaseModel):
    status: str
    model: str
    index: str
    index_kind: str | None
    passages: int
    built_at: str | None
    chat: Literal["starting", "ready", "failed"] = Field(
        description="The chat page at /: starting (the API already answers), ready, or failed (the API still works)"
    )


class ErrorOut(BaseModel):
    error: str


ERRORS = {code: {"model": ErrorOut} for code in (400, 413, 415, 422, 503)}
ASK_ID = "X-Ask-Id"  # response header of POST /api/ask: what POST /api/feedback rates


def error(status: int, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": " ".join(reason.split())}, status_code=status, headers=headers)


def router(journal: Journal, chat: Callable[[], str] = lambda: "ready") -> APIRouter:
    """The JSON API over `journal`; `chat()` says whether the chat page is starting, ready or failed."""
    api = APIRouter(prefix="/api", tags=["assistant"])
    bot = journal.bot

    # documented as ReplyOut but passed through untouched: the body is exactly Reply.to_dict()
    @api.post("/ask", responses={200: {"model": ReplyOut}, **ERRORS})
    async def ask(body: AskRequest, response: Response) -> dict:
        """Answer a question from the studio's guide, with citations, or abstain with the studio contact line.
        The X-Ask-Id response header (absent when question logging is off) is what POST /api/feedback rates."""
        with journal.admitted():  # a flood is refused here, before it can queue for a thread
            asked = await run_in_threadpool(
                journal.ask, body.question, body.history, surface=body.surface, conversation=body.conversation
            )
        if asked.ask_id is not None:
            response.headers[ASK_ID] = str(asked.ask_id)
        return asked.reply.to_dict()

    @api.post("/feedback", response_model=FeedbackOut, responses={404: {"model": ErrorOut}, **ERRORS})
    def feedback(body: FeedbackRequest) -> dict | JSONResponse:
        """Thumbs up or down on one answer, with an optional short comment. One rating per answer: rating it again
        replaces the earlier thumb (an earlier comment is kept unless a new one is sent)."""
        try:
            return {"stored": journal.rate(body.ask_id, body.rating, body.comment)}
        except LogError as e:
            return error(404, str(e))

    @api.get("/health", response_model=HealthOut)
    def health() -> dict:
        """Which model and index are serving, how many passages the index holds, and whether the chat page is up."""
        info = bot.info()
        return {
            "status": "ok",
            "model": info["model"],
            "index": Path(str(info["index"])).name,  # its name: the server's folders are nobody's business
            "index_kind": info.get("index_kind"),
            "passages": info["passages"],
            "built_at": info.get("built_at"),
            "chat": chat(),
        }

    return api


def fallback() -> APIRouter:
    """Include last: keeps unknown /api/ paths (or wrong methods) away from the chat page mounted at /."""
    api = APIRouter(prefix="/api", include_in_schema=False)

    @api.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def unknown(request: Request) -> JSONResponse:
        methods = request.app.openapi()["paths"].get(request.url.path)
        if methods:
            allowed = " or ".join(m.upper() for m in methods)
            return error(405, f"{request.url.path} takes {allowed}, not {request.method}")
        return error(404, f"No API endpoint at {request.url.path}; see /api/docs")

    return api


def _validation_reason(exc: RequestValidationError) -> tuple[int, str]:
    first = exc.errors()[0] if exc.errors() else {}
    kind = first.get("type", "")
    if kind == "json_invalid":
        return 400, "The request body is not valid JSON; send {\"question\": \"...\"} with Content-Type: application/json"
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
    if where == "body":
        if kind == "missing":
            return 400, "The request body is empty; send {\"question\": \"What should I wear?\"} as JSON"
        return 422, "The request body must be a JSON object like {\"question\": \"What should I wear?\"}"
    if kind == "missing":
        return 422, f"{where} is required, e.g. {{\"question\": \"What should I wear?\"}}"
    return 422, f"{where}: {first.get('msg', 'is not valid')}"


def install_errors(app: FastAPI) -> None:
    """Library errors and bad requests become one-line JSON errors at this edge."""

    @app.exception_handler(BadQuestion)
    async def bad_question(_: Request, exc: BadQuestion) -> JSONResponse:
        return error(400, str(exc))

    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Busy) -> JSONResponse:
        return error(503, str(exc), {"Retry-After": "2"})  # a worker frees up within a few answers

    @app.exception_handler(AssistantError)
    async def assistant_error(_: Request, exc: AssistantError) -> JSONResponse:
        return error(503, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error(*_validation_reason(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return error(exc.status_code, str(exc.detail), exc.headers)
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=exc.headers)
