"""Files the app serves beside the chat page: the widget snippet and its chat page, the staff page, the API docs;
and the page at / while the chat page is still starting."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

STATIC = Path(__file__).resolve().parent.parent / "static"
JS = "text/javascript; charset=utf-8"


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)

    @pages.get("/widget.js")
    def widget_js() -> FileResponse:
        """The snippet studios paste: <script src="http://HOST/widget.js" defer></script>."""
        return FileResponse(STATIC / "widget.js", media_type=JS, headers={"Cache-Control": "no-cache"})

    @pages.get("/widget.css")
    def widget_css() -> FileResponse:
        return FileResponse(STATIC / "widget.css", media_type="text/css", headers={"Cache-Control": "no-cache"})

    @pages.get("/widget")
    def widget_page() -> FileResponse:
        """The small chat page the bubble opens in an iframe; it talks to /api/ask."""
        return FileResponse(STATIC / "widget.html")

    @pages.get("/api/docs")
    def api_docs() -> FileResponse:
        """Reads /api/openapi.json; served here so the docs need no CDN."""
        return FileResponse(STATIC / "api-docs.html")

    return pages


# Served at / under the Gradio CSP: inline styles are fine, nothing loads from elsewhere, no script.
PENDING = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{refresh}<title>Massage studio assistant</title>
<style>
body {{ font-family: system-ui, sans-serif; color: #333; background: #fafafa; margin: 0; }}
main {{ max-width: 32rem; margin: 20vh auto; padding: 0 1.5rem; text-align: center; }}
h1 {{ font-size: 1.4rem; font-weight: 600; }}
p {{ line-height: 1.5; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p>{text}</p>
</main>
</body>
</html>
"""
STARTING = PENDING.format(
    refresh='<meta http-equiv="refresh" content="1">\n',
    title="The chat is starting…",
    text="It will be here in a few seconds; this page reloads by itself.",
)
FAILED = PENDING.format(
    refresh="",
    title="The chat page failed to start",
    text="Sorry, the chat isn't available right now. The assistant's API and the website widget still work; "
    "the server log says what went wrong.",
)


class ChatPending:
    """ASGI app at / until the chat page is mounted: a 503 page that reloads itself every second, or says the chat
    page failed to start. `status()` is the chat page's status: starting, ready or failed."""

    def __init__(self, status: Callable[[], str]) -> None:
        self.status = status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            return await WebSocketClose(code=1013)(scope, receive, send)  # 1013: try again later
        failed = self.status() == "failed"
        headers = {"Cache-Control": "no-store"}
        if not failed:
            headers["Retry-After"] = "1"
        response = HTMLResponse(FAILED if failed else STARTING, status_code=503, headers=headers)
        await response(scope, receive, send)
