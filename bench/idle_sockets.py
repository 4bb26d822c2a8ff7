"""Idle sockets against the real server (issue 10's CPU drain): does /api/ask stay fast with N connections parked on
a route, and what CPU does the server burn while they sit there?

    .venv/bin/python bench/idle_sockets.py                       # 1,500 sockets on each route, this checkout
    .venv/bin/python bench/idle_sockets.py --root /tmp/before    # the same against another checkout's app.py
    .venv/bin/python bench/idle_sockets.py --sockets 300 --routes dev-reload heartbeat

For each route: /api/ask p50 with nothing parked, then N sockets open the route (one request each, never read) and
sit for --settle seconds, the server's CPU over the next --settle seconds (from /proc), then /api/ask p50 again with
them parked; "open after" is how many the server still holds by then.
Timings on the shared 2-core box are noisy: compare the ratio within a run.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "reliability")]
from servers import make_server  # noqa: E402

ROUTES = {  # name → the request line's target (i: the socket's number)
    "dev-reload": "/gradio_api/dev/reload",
    "heartbeat": "/gradio_api/heartbeat/s{i}",
    "queue-data": "/gradio_api/queue/data?session_hash=s{i}",
    "call-result": "/gradio_api/call/chat/e{i}",
    "chat-page": "/",
    "no-request": None,  # connect and send nothing
    "half-headers": "",  # a request line and part of the headers, never finished
}
QUESTION = {"question": "What should I wear?"}


def ask_p50(url: str, n: int) -> float:
    """Median ms of n sequential POST /api/ask on one keep-alive connection."""
    times = []
    with httpx.Client(base_url=url, timeout=60) as http:
        http.post("/api/ask", json=QUESTION)
        for _ in range(n):
            start = time.perf_counter()
            r = http.post("/api/ask", json=QUESTION)
            times.append((time.perf_counter() - start) * 1000)
            assert r.status_code == 200, r.text
    return statistics.median(times)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def park(port: int, route: str | None, n: int) -> tuple[list[socket.socket], int]:
    """n sockets, each with the route's request sent (or nothing); (the sockets, how many the server refused)."""
    sockets, refused = [], 0
    for i in range(n):
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            refused += 1
            s.close()
            continue
        if route == "":
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        elif route is not None:
            target = route.format(i=i)
            s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
        sockets.append(s)
    return sockets, refused


def measure(server, name: str, n: int, asks: int, settle: float) -> dict:
    idle = ask_p50(server.url, asks)
    sockets, refused = park(server.port, ROUTES[name], n)
    try:
        time.sleep(settle)  # let the server take in the requests, then measure what merely holding them costs
        before = cpu_seconds(server.pid)
        time.sleep(settle)
        cpu = (cpu_seconds(server.pid) - before) / settle * 100
        loaded = ask_p50(server.url, asks)
        still_open = sum(1 for s in sockets if _open(s))
    finally:
        for s in sockets:
            s.close()
    time.sleep(1.0)
    return {"route": name, "sockets": n, "refused": refused, "open after": still_open, "idle p50 ms": idle,
            "parked p50 ms": loaded, "ratio": loaded / idle, "server CPU %": cpu}


def _open(s: socket.socket) -> bool:
    """The server hasn't closed it (reading what it sent so far, without blocking)."""
    s.setblocking(False)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app.py to run")
    parser.add_argument("--sockets", type=int, default=1500)
    parser.add_argument("--asks", type=int, default=40, help="questions per p50")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds the sockets sit before measuring")
    parser.add_argument("--routes", nargs="+", default=list(ROUTES), choices=list(ROUTES))
    args = parser.parse_args(argv)
    server = make_server(Path(tempfile.mkdtemp(prefix="idle-sockets-")), rate_limit="0")
    server.root = args.root.resolve()
    server.start()
    try:
        rows = [measure(server, name, args.sockets, args.asks, args.settle) for name in args.routes]
    finally:
        server.stop()
    keys = list(rows[0])
    print(f"root: {server.root}")
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
