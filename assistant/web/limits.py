"""Admission control: who may ask how often (what may come in at all is assistant/web/door.py).

- A per-client question rate (token buckets): a client over it gets 429 with Retry-After, before any work is done.
- Wrong staff passwords are counted per client and in total; past the limit the staff side answers 429.
- Writes to the staff side from another site (a page that makes a logged-in browser post) get 403.

Clients are told apart by their address, scope["client"]: the peer's, or the one a proxy named in
MASSAGE_TRUSTED_PROXIES forwarded (assistant/web/door.py; uvicorn's own proxy handling is off in app.py).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.settings import Settings

MAX_CLIENTS = 10_000  # buckets remembered; the least recently seen client is forgotten first
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class Buckets:
    """One token bucket per key: `burst` tokens at most, refilled at `per_minute`. Thread-safe, bounded in size."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        max_keys: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError(f"a rate of {per_minute:g}/min with a burst of {burst} admits nothing; use 1 or more")
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    def wait(self, key: str) -> float:
        """Seconds until `key` has a token (0.0: it has one now). Takes nothing."""
        with self._lock:
            tokens = self._tokens(key, self.clock())
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def take(self, key: str) -> float:
        """Take a token for `key`: 0.0 when it had one, else the seconds until it will (and nothing is taken)."""
        with self._lock:
            now = self.clock()
            tokens = self._tokens(key, now)
            if tokens < 1:
                return (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1, now)
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return 0.0


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


class LoginGuard:
    """Counts wrong staff passwords: `per_minute` per client, and ten times that from everyone together (so changing
    address doesn't buy more guesses). 0 turns it off."""

    def __init__(self, per_minute: int = 5) -> None:
        self.per_minute = per_minute
        if per_minute > 0:
            self.clients: Buckets | None = Buckets(per_minute, per_minute)
            self.everyone: Buckets | None = Buckets(per_minute * 10, per_minute * 10, max_keys=1)
        else:
            self.clients = self.everyone = None

    def wait(self, client: str) -> float:
        """Seconds this client must wait before its password is checked again (0.0: check it now)."""
        if self.clients is None or self.everyone is None:
            return 0.0
        return max(self.clients.wait(client), self.everyone.wait("*"))

    def failed(self, client: str) -> None:
        if self.clients is None or self.everyone is None:
            return
        self.clients.take(client)
        self.everyone.take("*")


def is_question(method: str, path: str) -> bool:
    """Requests that cost an answer (or a write): every POST to the API or to Gradio, and every staff API call."""
    return (method in UNSAFE and path.startswith(("/api/", "/gradio_api/"))) or path.startswith("/api/staff/")


def is_cross_site(scope: Scope) -> bool:
    """A request another site's page made the browser send. Browsers say so in Sec-Fetch-Site, which a page can't
    forge (and which stays right behind a proxy that rewrites Host); without it, Origin must name this host."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site in ("cross-site", "same-site")
    origin = headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc.lower() != headers.get("host", "").lower()


async def refuse(
    send: Send, status: int, reason: str, headers: dict[str, str] | None = None, detail: object = None
) -> None:
    """A one-line JSON error, like the API's own; `detail` too, which Gradio's clients show (the reason, unless
    given in another shape)."""
    body = json.dumps({"error": reason, "detail": reason if detail is None else detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class Limits:
    """ASGI middleware in front of everything but the security headers (which then mark its refusals too)."""

    def __init__(self, app: ASGIApp, rate_limit: int = 60, rate_burst: int = 30) -> None:
        self.app = app
        self.questions = Buckets(rate_limit, rate_burst) if rate_limit > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method, path = scope["method"], scope["path"]
        if method in UNSAFE and path.startswith(("/api/staff/", "/staff")) and is_cross_site(scope):
            return await refuse(send, 403, "The staff side only takes changes from its own pages")
        if self.questions is not None and is_question(method, path):
            wait = self.questions.take(client_of(scope))
            if wait:
                return await refuse(
                    send,
                    429,
                    f"Too many questions from your address; please wait {retry_after(wait)} s and ask again",
                    {"Retry-After": retry_after(wait)},
                )
        await self.app(scope, receive, send)


def protect(app: FastAPI, settings: Settings) -> None:
    """Install the limits on a FastAPI app (before it first serves): the rate middleware and the shared login guard
    that assistant.web.staff.password_check finds on app.state."""
    if settings.rate_limit > 0 and settings.rate_burst < 1:
        raise ValueError(
            f"MASSAGE_RATE_BURST={settings.rate_burst} would refuse every question; use 1 or more, "
            "or MASSAGE_RATE_LIMIT=0 to turn the limit off"
        )
    app.add_middleware(Limits, rate_limit=settings.rate_limit, rate_burst=settings.rate_burst)
    app.state.login_guard = LoginGuard(settings.staff_login_limit)
