"""The staff view: a search over the guide with scores, and the ready answer to copy. Off unless a password is set."""

from __future__ import annotations

import hmac
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from assistant.web.gate import Answerer

STATIC = Path(__file__).resolve().parent.parent / "static"
REALM = "Massage studio staff"
_basic = HTTPBasic(auto_error=False, realm=REALM)


def password_check(password: str):
    """A dependency: 404 while the staff view is off, 401 without the right password (any user name)."""

    def check(credentials: HTTPBasicCredentials | None = Depends(_basic)) -> None:
        if not password:
            raise HTTPException(404, "The staff view is off; set MASSAGE_STAFF_PASSWORD to turn it on")
        given = (credentials.password if credentials else "").encode()
        if not hmac.compare_digest(given, password.encode()):
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
