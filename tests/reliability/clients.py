"""Ways to talk to the app in tests: a TestClient over the whole app, client addresses, staff credentials."""

from __future__ import annotations

import base64

STUDIO = "http://studio.example"  # the one other origin the apps under test allow


def as_client(n: int) -> dict[str, str]:
    """Headers that make a loopback request to the real server count as client number n (servers.make_server trusts
    X-Forwarded-For from 127.0.0.1, as behind a local proxy). The TestClient ignores them: it is always one client."""
    return {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}


def basic(password: str, user: str = "staff") -> str:
    """An Authorization header value, encoded as browsers do (UTF-8)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def make_client(bot, **changes):
    """A TestClient over the whole app (staff password "s3cret", STUDIO allowed to embed it); server errors come
    back as 500 responses instead of raising, so tests can assert there are none."""
    from fastapi.testclient import TestClient

    from assistant.web import create_app

    settings = bot.settings.replace(**{"staff_password": "s3cret", "allowed_origins": (STUDIO,), **changes})
    return TestClient(create_app(bot, settings), raise_server_exceptions=False)


def all_routes(routes, prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route, through included routers (FastAPI keeps those as their own objects)."""
    out = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out += all_routes(inner.routes, prefix + getattr(route.include_context, "prefix", ""))
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            out.append((method, prefix + getattr(route, "path", "")))
    return out
