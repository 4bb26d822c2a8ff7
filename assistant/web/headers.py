"""Security headers on every response, with a Content-Security-Policy per kind of page.

frame-ancestors lists the app's own origin plus settings.allowed_origins, so only those sites can embed the
chat page or the widget; the staff view and the API can't be framed at all. Staff responses are never cached.
A crash anywhere inside becomes a one-line JSON 500 with these headers too; its traceback goes to the log only.
"""

from __future__ import annotations

import json
import logging

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Gradio's page needs inline scripts (its config) and styles; everything still loads only from this origin.
GRADIO = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' data: blob:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'"
)
# Our own pages: no inline code at all.
STRICT = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'"
)
NOTHING = "default-src 'none'"
CRASHED = "Something went wrong on our side; please try again in a moment"

log = logging.getLogger(__name__)
PRIVATE = ("/staff", "/api/staff")  # never cached


def frame_ancestors(allowed_origins: tuple[str, ...]) -> str:
    return " ".join(["'self'", *allowed_origins])


class SecurityHeaders:
    """ASGI middleware (not BaseHTTPMiddleware, so Gradio's event streams pass straight through)."""

    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        embed = f"frame-ancestors {frame_ancestors(allowed_origins)}"
        self.rules: list[tuple[str, str]] = [  # first matching path prefix wins
            ("/staff", f"{STRICT}; frame-ancestors 'none'"),
            ("/api/staff", f"{NOTHING}; frame-ancestors 'none'"),
            ("/api/docs", f"{STRICT}; frame-ancestors 'none'"),
            ("/api/", f"{NOTHING}; frame-ancestors 'none'"),
            ("/widget", f"{STRICT}; {embed}"),
            ("/web/", f"{STRICT}; {embed}"),
            ("/", f"{GRADIO}; {embed}"),
        ]

    def policy(self, path: str) -> str:
        return next(csp for prefix, csp in self.rules if path.startswith(prefix))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        csp = self.policy(scope["path"]).encode()
        private = scope["path"].startswith(PRIVATE)
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OURS]
                headers += [
                    (b"content-security-policy", csp),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                ]
                if b"'none'" in csp.split(b"frame-ancestors")[-1]:
                    headers.append((b"x-frame-options", b"DENY"))
                if private and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))  # studio data stays out of shared caches
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as e:
            refusal = e if isinstance(e, HTTPException) else e.__cause__  # Starlette re-raises it once streaming
            if started and isinstance(refusal, HTTPException):  # Gradio ends an unknown session's stream so: no trace
                log.warning("%s %s ended early: %s", scope["method"], scope["path"], refusal.status_code)
                try:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})  # end it properly
                except OSError:  # the client has gone
                    pass
                return
            log.exception("%s %s failed", scope["method"], scope["path"])
            if started:  # the client already has a status (e.g. Gradio's own plain 500): the connection just ends
                return
            body = json.dumps({"error": CRASHED, "detail": CRASHED}).encode()
            await send_with_headers(
                {"type": "http.response.start", "status": 500,
                 "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
            )
            await send_with_headers({"type": "http.response.body", "body": body})


_OURS = {b"content-security-policy", b"x-content-type-options", b"referrer-policy", b"permissions-policy", b"x-frame-options"}
