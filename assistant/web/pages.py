"""Files the app serves beside the chat page: the widget snippet and its chat page, the staff page, the API docs."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

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
