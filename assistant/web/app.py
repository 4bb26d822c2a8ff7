"""create_app(bot, settings): one FastAPI app with the chat page at /, the JSON API, the widget and the staff view.

The chat page is Gradio, which takes seconds of CPU to import and build. By default create_app mounts it at once;
with chat="later" (app.py) the app serves the API as soon as the server is up, builds the chat page in a background
thread and mounts it when ready. Until then / answers a small "starting" page (see pages.ChatPending).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Literal

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.routing import Mount

from assistant.questionlog import QuestionLog
from assistant.settings import Settings
from assistant.studio import Studio
from assistant.web import api, door, limits, pages, report, staff
from assistant.web.gate import Gate
from assistant.web.journal import Journal
from assistant.web.headers import SecurityHeaders

if TYPE_CHECKING:
    from assistant.web.chat import ChatUI

DESCRIPTION = (
    "Grounded, cited answers from the studio's own guide. The chat page is at `/`, the widget snippet at "
    "`/widget.js`, the staff view at `/staff`. Errors are `{\"error\": \"one-line reason\"}`."
)
SPARE_THREADS = 16  # beyond answering + waiting questions: health, feedback, staff calls, Gradio's own handlers
ChatStatus = Literal["starting", "ready", "failed"]
NO_FILES = os.path.abspath(os.sep)

log = logging.getLogger(__name__)
_GRADIO_BUILD = threading.Lock()


def create_app(
    bot: report.Studio,
    settings: Settings | None = None,
    questions: QuestionLog | None = None,
    concurrency: int | None = None,
    chat: Literal["now", "later"] = "now",
) -> FastAPI:
    """Build (don't run) the app. `concurrency` questions (default settings.workers) run at once across the chat page
    and the API. Questions are logged to `questions`, by default the log in settings.data_dir (off with
    log_questions=False). chat="later" builds the chat page in the background once the server runs."""
    settings = settings or Settings.from_env()
    if chat not in ("now", "later"):
        raise ValueError(f"chat={chat!r}: use 'now' (mount the chat page here) or 'later' (once the server runs)")
    concurrency = settings.workers if concurrency is None else concurrency
    if questions is None:
        questions = QuestionLog.open(settings.data_dir, settings.log_questions, settings.retention_days)
    gate = Gate(bot, limit=concurrency, max_waiting=settings.max_waiting)
    journal = Journal(gate, questions, model=getattr(getattr(bot, "embedder", None), "name", ""))
    app = FastAPI(
        title="Massage studio assistant",
        version="0.1.0",
        description=DESCRIPTION,
        docs_url=None,  # FastAPI's docs pages load from a CDN; ours is /api/docs
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
    )
    page = ChatPage(app, journal, settings, concurrency)
    # added innermost first: headers wrap everything, even a 413 or a crash
    app.add_middleware(door.BodyLimit)  # every body capped before it is read; Gradio's take JSON naming no file
    limits.protect(app, settings)  # per-client rate, staff login guard: before any body is read
    app.add_middleware(
        CORSMiddleware,  # also stops Gradio from reflecting any origin
        allow_origins=list(settings.allowed_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        expose_headers=[api.ASK_ID],
    )
    # forwarded headers, Host, and the allow-list of paths: nothing else reaches CORS, the limits or Gradio
    app.add_middleware(door.Door, allowed_hosts=settings.allowed_hosts, trusted_proxies=settings.trusted_proxies)
    app.add_middleware(SecurityHeaders, allowed_origins=settings.allowed_origins)
    api.install_errors(app)
    app.include_router(api.router(journal, chat=lambda: page.status))
    app.include_router(staff.router(gate, settings.staff_password))
    app.state.studio = Studio(bot, questions)
    app.include_router(report.router(gate, bot, journal, settings.staff_password, app.state.studio))
    app.include_router(pages.router())
    app.include_router(api.fallback())
    app.mount("/web", StaticFiles(directory=pages.STATIC), name="web")
    # the chat page goes last, at /: every route above wins over it
    app.state.chat = None  # the ChatUI, once built
    app.state.chat_page = page
    app.state.gate = gate
    app.state.questions = questions
    app.state.threads = gate.limit + gate.max_waiting + SPARE_THREADS
    if chat == "now":
        page.mount()
    else:
        page.hold()
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # sync endpoints run in anyio's thread pool (40 by default): make room for every question the Gate admits or
    # holds, so a flood reaches the Gate's quick 503 instead of queueing unseen for a thread
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(limiter.total_tokens, app.state.threads)
    async with AsyncExitStack() as stack:  # closes a late-mounted chat page's Gradio lifespan at shutdown
        app.state.chat_page.start(asyncio.get_running_loop(), stack)
        try:
            yield
        finally:
            app.state.chat_page.stopping = True


class ChatPage:
    """The Gradio chat page at /: mount() builds and mounts it now; hold() puts the "starting" page at / and start()
    (from the lifespan) builds the chat in a background thread, then swaps it in. status: starting, ready, failed."""

    def __init__(self, app: FastAPI, journal: Journal, settings: Settings, concurrency: int) -> None:
        self.app = app
        self.journal = journal
        self.settings = settings
        self.concurrency = concurrency
        self.status: ChatStatus = "starting"
        self.seconds: float | None = None  # how long the background build took
        self.stopping = False  # the server is shutting down: a build still running is dropped
        self._pending: Mount | None = None
        self._thread: threading.Thread | None = None

    def build(self) -> ChatUI:
        """Import Gradio, build the chat Blocks and mount them at /, after every other route."""
        import gradio as gr

        from assistant.web.chat import CSS, ChatUI

        ui = ChatUI(self.journal, self.settings, concurrency=self.concurrency)
        with _GRADIO_BUILD:  # Gradio keeps the Blocks being built in a process-wide slot: one build at a time
            blocks = ui.build()
        gr.mount_gradio_app(
            self.app,
            blocks,
            path="/",
            allowed_paths=[],
            blocked_paths=[NO_FILES],  # the chat takes and gives text only: Gradio may read or serve no file
            show_error=False,  # Gradio's own exceptions (which may name server paths) reach clients as "error": null
            server_name=self.settings.host,
            server_port=self.settings.port,
            footer_links=["api"],
            run_history=False,
            pwa=False,
            mcp_server=False,
            ssr_mode=False,
            theme=gr.themes.Default(),
            css=CSS,
        )
        # Gradio checks allowed and blocked paths only once its own launch() has run, which a mounted app never
        # calls; without this a file named in a request would be copied into its cache and served
        blocks.has_launched = True
        self.app.state.chat = ui
        return ui

    def mount(self) -> None:
        """Mount the chat page now; its startup events (the queue) run in the app's lifespan, which Gradio wraps."""
        self.build()
        self.status = "ready"

    def hold(self) -> None:
        """Answer / (and every Gradio path) with the starting page until start() has mounted the chat page."""
        self._pending = Mount("/", app=pages.ChatPending(lambda: self.status), name="chat-pending")
        self.app.router.routes.append(self._pending)

    def start(self, loop: asyncio.AbstractEventLoop, stack: AsyncExitStack) -> None:
        """Called by the lifespan: build the held chat page in a background thread, once."""
        if self._pending is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._build_later, args=(loop, stack), name="chat-page", daemon=True)
        self._thread.start()

    def _build_later(self, loop: asyncio.AbstractEventLoop, stack: AsyncExitStack) -> None:
        started = time.perf_counter()
        routes = self.app.router.routes
        before = len(routes)
        try:
            self.build()
            if self.stopping or loop.is_closed():
                return
            gradio = routes[before]  # build() appended exactly one Mount, behind the pending page
            asyncio.run_coroutine_threadsafe(self._go_live(gradio, stack), loop).result()
        except Exception:
            if self.stopping:  # e.g. the loop closed under the build: nothing to report
                return
            self.status = "failed"
            self.app.state.chat = None
            del routes[before:]  # drop a half-started Gradio mount; the pending page before it stays
            log.exception("The chat page at / failed to start; the JSON API, widget and staff view still work")
            return
        self.seconds = time.perf_counter() - started
        log.info("Chat page ready at / (%.1f s to import Gradio and build it)", self.seconds)

    async def _go_live(self, gradio: Mount, stack: AsyncExitStack) -> None:
        """On the event loop: what gr.mount_gradio_app's lifespan wrapper runs at startup (Gradio's own lifespan,
        then the queue), since this server's startup has passed; then the chat replaces the pending page."""
        if not isinstance(gradio, Mount) or gradio.path != "":
            raise RuntimeError(f"expected Gradio's mount at / after the pending page, found {gradio!r}")
        gradio_app = gradio.app
        await stack.enter_async_context(gradio_app.router.lifespan_context(gradio_app))
        blocks = gradio_app.get_blocks()
        blocks.run_startup_events()
        await blocks.run_extra_startup_events()
        if self.stopping:
            return
        self.app.router.routes.remove(self._pending)  # on the loop thread: no request is mid-way through the routes
        self.status = "ready"
