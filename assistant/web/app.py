"""create_app(bot, settings): one FastAPI app with the chat page at /, the JSON API, the widget and the staff view."""

from __future__ import annotations

import gradio as gr
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from assistant.questionlog import QuestionLog
from assistant.settings import Settings
from assistant.web import api, limits, pages, report, staff
from assistant.web.chat import CSS, ChatUI
from assistant.web.gate import Gate
from assistant.web.journal import Journal
from assistant.web.headers import SecurityHeaders

DESCRIPTION = (
    "Grounded, cited answers from the studio's own guide. The chat page is at `/`, the widget snippet at "
    "`/widget.js`, the staff view at `/staff`. Errors are `{\"error\": \"one-line reason\"}`."
)


def create_app(
    bot: report.Studio,
    settings: Settings | None = None,
    questions: QuestionLog | None = None,
    concurrency: int = 2,
) -> FastAPI:
    """Build (don't run) the app. `concurrency` questions run at once across the chat page and the API.
    Questions are logged to `questions`, by default the log in settings.data_dir (off with log_questions=False)."""
    settings = settings or Settings.from_env()
    if questions is None:
        questions = QuestionLog.open(settings.data_dir, settings.log_questions, settings.retention_days)
    gate = Gate(bot, limit=concurrency, max_waiting=settings.max_waiting)
    journal = Journal(gate, questions)
    app = FastAPI(
        title="Massage studio assistant",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,  # FastAPI's docs pages load from a CDN; ours is /api/docs
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    # added innermost first: headers wrap everything, even a 413
    app.add_middleware(api.BodyLimit, max_bytes=api.MAX_BODY)
    limits.protect(app, settings)  # per-client rate, staff login guard, closed Gradio paths: inside CORS and headers
    app.add_middleware(
        CORSMiddleware,  # also stops Gradio from reflecting any origin
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        expose_headers=[api.ASK_ID],
    )
    app.add_middleware(SecurityHeaders, allowed_origins=settings.allowed_origins)
    api.install_errors(app)
    app.include_router(api.router(journal))
    app.include_router(staff.router(gate, settings.staff_password))
    app.include_router(report.router(gate, bot, journal, settings.staff_password))
    app.include_router(pages.router())
    app.include_router(api.fallback())
    app.mount("/web", StaticFiles(directory=pages.STATIC), name="web")

    chat = ChatUI(journal, settings, concurrency=concurrency)
    gr.mount_gradio_app(
        app,
        chat.build(),
        path="/",
        server_name=settings.host,
        server_port=settings.port,
        footer_links=["api"],
        run_history=False,
        pwa=False,
        mcp_server=False,
        ssr_mode=False,
        theme=gr.themes.Default(),
        css=CSS,
    )
    app.state.chat = chat
    app.state.gate = gate
    app.state.questions = questions
    return app
