"""What may come in at all, decided before any route, Gradio's included, sees a request.

- Door: the address a request came from (X-Forwarded-* only from a configured proxy, and otherwise dropped so Gradio
  never echoes them), the Host it names (one of settings.allowed_hosts), and the path: our own routes, plus an
  allow-list of the Gradio routes the chat page and gradio_client use. Everything else Gradio mounts (dev reload,
  upload, direct runs, file and proxy routes, monitoring, login, …) answers 404 without reaching it.
- One cap on every request body (64 KB for the JSON API, 256 KB elsewhere): the Door checks Content-Length before a
  byte is read, BodyLimit counts a chunked body as it arrives. A body for Gradio must be JSON and name no file (a
  FileData object or a file part), or BodyLimit refuses it before Gradio parses it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.web.limits import refuse

MAX_API_BODY = 64 * 1024  # the JSON API: a question and six turns of history fit many times over
MAX_BODY = 256 * 1024  # everything else, the chat page's calls included: they carry the whole chat (~2 KB a turn)

# our own routes (FastAPI, before the Gradio mount): the JSON API, the staff view, the widget and its files
OURS_EXACT = frozenset({"/staff", "/widget", "/widget.js", "/widget.css"})
OURS_PREFIX = ("/api/", "/web/")
# the Gradio routes the chat page (recorded in Chromium: load, ask, example, thumbs, "Use via API") and gradio_client
# use; the documented API names only. HEAD goes wherever GET does.
GRADIO_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (method, re.compile(pattern))
    for method, pattern in (
        ("GET", r"/"),
        ("GET", r"/config/?"),
        ("GET", r"/theme\.css"),
        ("GET", r"/favicon\.ico"),
        ("GET", r"/assets/[\w.@-]+"),
        ("GET", r"/static/(fonts|img|js)/[\w./-]+"),
        ("GET", r"/gradio_api/info/?"),
        ("POST", r"/gradio_api/queue/join"),
        ("GET", r"/gradio_api/queue/data"),
        ("GET", r"/gradio_api/heartbeat/[\w-]{1,64}"),
        ("POST", r"/gradio_api/call/(ask|chat)/?"),
        ("GET", r"/gradio_api/call/(ask|chat)/[\w-]{1,64}"),
    )
)
FORWARDED = {b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto", b"x-forwarded-port", b"x-real-ip",
             b"forwarded"}
JSON_TYPE = re.compile(rb"^application/json\s*(;|$)", re.IGNORECASE)
# keys of a Gradio FileData (path, url, meta._type = gradio.FileData) or a chat file/component part
FILE_KEYS = frozenset({"path", "url", "meta", "_type", "file", "orig_name", "mime_type", "is_stream", "component"})
FILE_TYPES = frozenset({"file", "component", "gradio.FileData", "image", "audio", "video"})


def default_hosts(host: str, port: int) -> tuple[str, ...]:
    """The Host values a server bound to host:port answers when MASSAGE_ALLOWED_HOSTS is empty: the bind address and
    this machine's loopback names, with the port."""
    names = ["127.0.0.1", "localhost", "[::1]"]
    bound = f"[{host}]" if ":" in host else host
    if host not in ("", "0.0.0.0", "::") and bound not in names:
        names.insert(0, bound)
    return tuple(f"{name}:{port}" for name in names)


def body_cap(path: str) -> tuple[int, str]:
    """(most bytes, the 413's reason) for a request body to `path`."""
    if path.startswith("/api/"):
        return MAX_API_BODY, f"The request body is over {MAX_API_BODY // 1024} KB; send a shorter question and history"
    return MAX_BODY, f"The request body is over {MAX_BODY // 1024} KB; start a new chat or send a shorter question"


async def too_large(send: Send, reason: str) -> None:
    await refuse(send, 413, reason, {"Connection": "close"})  # the unread rest of the body goes with the connection


def is_gradio_route(method: str, path: str) -> bool:
    method = "GET" if method == "HEAD" else method
    return any(m == method and pattern.fullmatch(path) for m, pattern in GRADIO_ROUTES)


def is_ours(path: str) -> bool:
    return path in OURS_EXACT or path.startswith(OURS_PREFIX)


class Networks:
    """A set of addresses and networks ("127.0.0.1", "10.0.0.0/8", "::1")."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks = []
        for entry in (e.strip() for e in entries):
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if entry:
                    raise ValueError(
                        f"MASSAGE_TRUSTED_PROXIES: {entry!r} is not an address or network (e.g. 127.0.0.1 or "
                        "10.0.0.0/8); fix or unset it"
                    ) from None

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __contains__(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]"))
        except ValueError:
            return False
        return any(ip in network for network in self.networks)


class Door:
    """ASGI middleware, just inside the security headers: forwarded headers, Host, and which paths exist at all."""

    def __init__(
        self, app: ASGIApp, allowed_hosts: tuple[str, ...] = (), trusted_proxies: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.any_host = not allowed_hosts or "*" in allowed_hosts
        self.hosts = {h.lower() for h in allowed_hosts}
        self.proxies = Networks(trusted_proxies)

    def host_allowed(self, host: str) -> bool:
        host = host.lower()
        return self.any_host or host in self.hosts or host.rsplit(":", 1)[0] in self.hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # nothing here speaks WebSocket
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        cap, reason = body_cap(scope["path"])
        if length is not None and (not length.isdigit() or int(length) > cap):  # first: read nothing of it
            return await too_large(send, reason)
        scope = self.unforwarded(scope)
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        forwarded_host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-host"), None)
        if not self.host_allowed(host) or (forwarded_host is not None and not self.host_allowed(forwarded_host)):
            return await refuse(
                send, 400, "This server doesn't answer to that host name; the studio can add it to MASSAGE_ALLOWED_HOSTS"
            )
        method, path = scope["method"], scope["path"]
        if not (is_ours(path) or is_gradio_route(method, path)):
            return await refuse(send, 404, f"{path} is not available in this app")
        await self.app(scope, receive, send)

    def unforwarded(self, scope: Scope) -> Scope:
        """The scope with the client address (and scheme) a trusted proxy forwarded; from anyone else the forwarded
        headers are dropped, so nothing downstream (per-address limits, Gradio's URLs) reads them."""
        client = scope.get("client")
        peer = str(client[0]) if client else ""
        headers = scope["headers"]
        if not (self.proxies and peer in self.proxies):
            if any(k in FORWARDED for k, _ in headers):
                scope = {**scope, "headers": [(k, v) for k, v in headers if k not in FORWARDED]}
            return scope
        chain = [a.strip() for k, v in headers if k == b"x-forwarded-for" for a in v.decode("latin-1").split(",")]
        hops = [a for a in chain if a]
        while hops and hops[-1] in self.proxies:  # the nearest address no trusted proxy vouches for is the client
            hops.pop()
        changes: dict = {}
        if hops:
            changes["client"] = (hops[-1], 0)
        proto = next((v.decode("latin-1").split(",")[-1].strip() for k, v in headers if k == b"x-forwarded-proto"), "")
        if proto in ("http", "https"):
            changes["scheme"] = proto
        return {**scope, **changes} if changes else scope


class BodyLimit:
    """ASGI middleware, inside the rate limit: counts a body as it arrives (a chunked one has no Content-Length for the
    Door to check) and refuses it with 413 at the cap; a Gradio POST must be a JSON body that names no file, or it is
    refused before Gradio parses it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        cap, reason = body_cap(path)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            return await too_large(send, reason)
        gradio = not is_ours(path) and scope["method"] == "POST"
        if gradio and not JSON_TYPE.match(headers.get(b"content-type", b"application/json")):
            return await refuse(send, 415, "The chat takes JSON only (Content-Type: application/json); no files")
        if length == b"0" or (length is None and b"transfer-encoding" not in headers):
            return await self.app(scope, receive, send)  # no body at all
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:  # count the bytes as they arrive: a chunked body has no Content-Length to check
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                return await too_large(send, reason)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if gradio and body:
            problem = file_problem(body)
            if problem:
                status, reason = problem
                # gradio_client reads a 422's detail as a list of Gradio's validation results
                detail = [{"__type__": "validate", "is_valid": False, "parameter_name": "data", "message": reason}]
                return await refuse(send, status, reason, detail=detail if status == 422 else None)
        replay: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

        async def replayed() -> Message:
            return replay.pop() if replay else await receive()

        await self.app(scope, replayed, send)


def file_problem(body: bytes) -> tuple[int, str] | None:
    """(status, reason) when a Gradio request body isn't JSON or names a file anywhere in it; None when it's fine.
    The chat takes and gives text only, so a FileData object ({"path", "url", "meta": {"_type": "gradio.FileData"}})
    or a {"type": "file"} part is never legitimate: it is how a client would make Gradio read a server file."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return 400, "The request body is not valid JSON"
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if FILE_KEYS.intersection(value) or value.get("type") in FILE_TYPES:
                return 422, "The chat takes text only: files and components are refused"
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and value == "gradio.FileData":
            return 422, "The chat takes text only: files and components are refused"
    return None
