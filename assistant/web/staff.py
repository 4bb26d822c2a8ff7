"""The staff view: a search over the guide with scores, and the ready answer to copy. Off unless a password is set."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from fastapi.security import HTTPBasic

from assistant.web.gate import Answerer
from assistant.web.limits import LoginGuard, client_of, retry_after

STATIC = Path(__file__).resolve().parent.parent / "static"
REALM = "Massage studio staff"


class _BasicScheme(HTTPBasic):
    """Declares HTTP Basic in the OpenAPI description; password_check reads the header itself."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


_basic = _BasicScheme(auto_error=False, realm=REALM)


def basic_password(header: str | None) -> str | None:
    """The password in an `Authorization: Basic …` header (any user name); None when there is no such header.
    Browsers send UTF-8 (older ones Latin-1), so a password with accents works; a malformed header is ""."""
    scheme, _, param = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(param.strip(), validate=True)
    except (binascii.Error, ValueError):
        return ""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    _, sep, password = text.partition(":")
    return password if sep else ""


def same_secret(given: str, expected: str) -> bool:
    """Constant time whatever the lengths: compare digests, never the texts."""
    def digest(text: str) -> bytes:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()

    return hmac.compare_digest(digest(given), digest(expected))


def password_check(password: str, guard: LoginGuard | None = None):
    """A dependency: 404 while the staff view is off, 401 without the right password (any user name), 429 after too
    many wrong ones. The guard is the app's (app.state.login_guard, see limits.protect), else this check's own."""
    own = guard or LoginGuard()

    def check(request: Request, _: None = Depends(_basic)) -> None:
        if not password:
            raise HTTPException(404, "The staff view is off; set MASSAGE_STAFF_PASSWORD to turn it on")
        guard = getattr(request.app.state, "login_guard", None) or own
        client = client_of(request.scope)
        wait = guard.wait(client)
        if wait:
            raise HTTPException(
                429,
                f"Too many wrong staff passwords; try again in {retry_after(wait)} s",
                headers={"Retry-After": retry_after(wait)},
            )
        given = basic_password(request.headers.get("authorization"))
        if given is None or not same_secret(given, password):
            if given is not None:
                guard.failed(client)
            raise HTTPException(
                401, "The staff view needs the staff password", headers={"WWW-Authenticate": f'Basic realm="{REALM}"'}
            )

    return check


def router(bot: Answerer, password: str) -> APIRouter:
    staff = APIRouter(dependencies=[Depends(password_check(password))], tags=["staff"])

    @staff.get("/staff", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "staff.html", headers={"Cache-Control": "no-store"})

    @staff.get("/api/staff/search")
    def search(q: str = Query(description="What a client asked"), k: int = Query(5, ge=1, le=20)) -> dict:
        """Top passages for a question with their scores, and the answer a client would get."""
        hits = bot.search(q, k)
        reply = bot.ask(q)
        return {
            "query": q,
            "answer": reply.to_dict(),
            "passages": [{**h.to_dict(), "quote": h.passage.quote} for h in hits],
        }

    return staff
