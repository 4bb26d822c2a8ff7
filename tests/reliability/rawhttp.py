"""HTTP by hand, for the requests an HTTP library won't send the way an attacker does: a body announced but never sent,
a body streamed until the server answers, a Host that isn't ours. Used by test_attacks.py and attacks_table.py."""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int  # 0: the connection ended with no response
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the client got out before the server answered or hung up
    seconds: float


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines or not lines[0].startswith("HTTP/"):
        return 0, {}, b""
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def post(
    port: int,
    path: str,
    size: int,
    chunked: bool = False,
    method: str = "POST",
    host: str | None = None,
    timeout: float = 30.0,
) -> Answer:
    """Announce (Content-Length) or stream (chunked) a body of `size` bytes of JSON-ish filler to `path`, sending it
    64 KB at a time only while the server hasn't answered; returns what it answered and how much it took first."""
    started = time.perf_counter()
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n"
    ).encode()
    raw = b""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head)
        try:
            while sent < size:
                readable, _, _ = select.select([s], [], [], 0.2 if sent == 0 else 0)
                if readable:
                    break
                piece = b" " * min(CHUNK, size - sent)
                s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            else:
                if chunked:
                    s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        raw = _read_response(s, timeout)
    status, headers, body = _parse(raw)
    return Answer(status, headers, body, sent, time.perf_counter() - started)


def get(port: int, path: str, host: str | None = None, extra: dict[str, str] | None = None,
        timeout: float = 30.0) -> Answer:
    """One GET with exactly these headers (Host included, which httpx would set itself)."""
    started = time.perf_counter()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        raw = _read_response(s, timeout)
    status, headers, body = _parse(raw)
    return Answer(status, headers, body, 0, time.perf_counter() - started)


def _read_response(s: socket.socket, timeout: float) -> bytes:
    """Everything until the server closes, or until a complete Content-Length body has arrived."""
    raw = b""
    deadline = time.monotonic() + timeout
    s.settimeout(timeout)
    while time.monotonic() < deadline:
        try:
            data = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not data:
            break
        raw += data
        status, headers, body = _parse(raw)
        if status and "content-length" in headers and len(body) >= int(headers["content-length"]):
            break
    return raw
