"""Load, flood and soak against a running server, on loopback, every loop bounded in time and count.

The tests import these functions; the figures in docs/reliability.md come from running it by hand:

    .venv/bin/python tests/reliability/loadgen.py load --clients 32 --seconds 60
    .venv/bin/python tests/reliability/loadgen.py flood
    .venv/bin/python tests/reliability/loadgen.py soak --seconds 600

Each starts its own server (real model, a temporary copy of the guide) unless given --url. Client n sends
X-Forwarded-For 10.x.y.n, which the test servers trust from 127.0.0.1 (MASSAGE_TRUSTED_PROXIES), so the per-client rate limit sees n clients.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

from clients import as_client  # noqa: E402
from servers import ROOT, Server, make_server  # noqa: E402

MAX_REQUESTS = 200_000  # a bound on every loop, whatever the clock does


def questions() -> list[dict]:
    out = []
    for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            case = json.loads(line)
            out.append({"question": case["question"], "history": case.get("history", [])})
    return out


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what went wrong, first few
    retry_after: int = 0  # refusals that said when to come back
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: str, ms: float, problem: str | None = None) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.latencies_ms.append(ms)
            if problem and len(self.errors) < 10:
                self.errors.append(problem)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def failures(self) -> int:
        return sum(n for s, n in self.statuses.items() if s != "200")

    def summary(self) -> dict:
        ms = self.latencies_ms
        return {
            "requests": self.requests,
            "statuses": dict(self.statuses),
            "failures": self.failures,
            "per_second": round(self.requests / self.seconds, 1) if self.seconds else None,
            "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1),
            "p99_ms": round(percentile(ms, 99), 1),
            "max_ms": round(max(ms), 1) if ms else None,
            "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
            "retry_after": self.retry_after,
            "errors": self.errors,
        }


def load(url: str, clients: int = 32, seconds: float = 60.0, first_client: int = 0, mix: bool = False) -> Tally:
    """`clients` threads, each its own address and keep-alive connection, asking back to back for `seconds`.
    With `mix`, one request in ten is a hostile input (expected 4xx) and one in ten rates an answer."""
    payloads = questions()
    hostile = [b'{"question": ""}', b"{oops", b'{"question": 42}', b'{"question": "' + b"x" * 2000 + b'"}']
    tally = Tally()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(n: int) -> None:
        rng = random.Random(n)
        headers = as_client(first_client + n)
        with httpx.Client(base_url=url, timeout=60, headers=headers) as http:
            start.wait()
            sent = 0
            while time.monotonic() < deadline[0] and sent < MAX_REQUESTS // clients:
                sent += 1
                roll = rng.random()
                t = time.perf_counter()
                try:
                    if mix and roll < 0.1:
                        r = http.post("/api/ask", content=rng.choice(hostile), headers={"Content-Type": "application/json"})
                        ok = 400 <= r.status_code < 500 and "error" in r.json()
                    else:
                        r = http.post("/api/ask", json=payloads[rng.randrange(len(payloads))])
                        ok = r.status_code == 200 and "answer" in r.json()
                        ask_id = r.headers.get("x-ask-id")
                        if ok and mix and roll > 0.9 and ask_id:
                            f = http.post("/api/feedback", json={"ask_id": ask_id, "rating": rng.choice((1, -1))})
                            ok = f.status_code == 200
                    ms = (time.perf_counter() - t) * 1000
                    tally.add("200" if ok else str(r.status_code), ms, None if ok else f"{r.status_code} {r.text[:200]}")
                except httpx.HTTPError as e:
                    tally.add(type(e).__name__, (time.perf_counter() - t) * 1000, repr(e))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    begun = time.monotonic()
    deadline[0] = begun + seconds
    start.wait()
    for t in threads:
        t.join(seconds + 120)
    tally.seconds = time.monotonic() - begun
    return tally


def burst(url: str, requests: int, same_client: bool, first_client: int = 0, path: str = "/api/ask") -> Tally:
    """`requests` questions released at the same instant, from one address or each from its own."""
    tally = Tally()
    start = threading.Barrier(requests)
    body = {"question": "What should I wear?"} if path == "/api/ask" else {"data": ["What should I wear?", []]}

    def one(n: int) -> None:
        headers = as_client(first_client if same_client else first_client + n)
        with httpx.Client(base_url=url, timeout=60, headers=headers) as http:
            start.wait()
            t = time.perf_counter()
            try:
                r = http.post(path, json=body)
                reason = "" if r.status_code == 200 else (r.json().get("error") or r.json().get("detail") or "")
                tally.add(str(r.status_code), (time.perf_counter() - t) * 1000, reason or None)
                if r.status_code in (429, 503) and "retry-after" in r.headers:
                    with tally.lock:
                        tally.retry_after += 1
            except httpx.HTTPError as e:
                tally.add(type(e).__name__, (time.perf_counter() - t) * 1000, repr(e))

    threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(requests)]
    begun = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    tally.seconds = time.monotonic() - begun
    return tally


def soak(server: Server, seconds: float, clients: int = 8, sample_every: float = 10.0) -> dict:
    """Mixed traffic (questions, hostile inputs, ratings) for `seconds`, sampling the server's RSS as it goes."""
    load(server.url, clients=clients, seconds=min(10.0, seconds / 4), first_client=50_000, mix=True)  # warm up
    samples = [(0.0, server.rss_mb())]
    result: dict = {}

    def run() -> None:
        result["tally"] = load(server.url, clients=clients, seconds=seconds, first_client=60_000, mix=True)

    worker = threading.Thread(target=run, daemon=True)
    begun = time.monotonic()
    worker.start()
    while worker.is_alive():
        worker.join(sample_every)
        samples.append((round(time.monotonic() - begun, 1), server.rss_mb()))
    return {"samples_mb": [(t, round(mb, 1)) for t, mb in samples], "traffic": result["tally"].summary()}


# --- by hand ----------------------------------------------------------------------------------------------


def _serve(args) -> tuple[Server | None, str]:
    if args.url:
        return None, args.url.rstrip("/")
    home = Path(tempfile.mkdtemp(prefix="massage-reliability-"))
    rate = args.rate_limit if args.rate_limit is not None else (600 if args.what == "flood" else 0)
    server = make_server(home, rate_limit=str(rate), rate_burst="30").start()
    print(f"server pid {server.pid} at {server.url}, home {home}", flush=True)
    return server, server.url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("load", "flood", "soak"))
    parser.add_argument("--url", help="an already running server (default: start one)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--rate-limit", type=int, help="MASSAGE_RATE_LIMIT for the server it starts (default: 600 for flood, else off)"
    )
    args = parser.parse_args(argv)
    server, url = _serve(args)
    try:
        if args.what == "load":
            out = load(url, args.clients, args.seconds).summary()
            if server:
                out["server_rss_mb"] = round(server.rss_mb(), 1)
        elif args.what == "flood":
            out = {
                "one address, 100 at once": burst(url, 100, same_client=True, first_client=70_000).summary(),
                "100 addresses at once": burst(url, 100, same_client=False, first_client=71_000).summary(),
                "gradio queue, 100 addresses at once": burst(
                    url, 100, same_client=False, first_client=72_000, path="/gradio_api/call/ask"
                ).summary(),
            }
            out["right after"] = load(url, clients=4, seconds=5, first_client=73_000).summary()
        else:
            if server is None:
                raise SystemExit("soak needs to start its own server (to read its memory); drop --url")
            out = soak(server, args.seconds, clients=args.clients if args.clients != 32 else 8)
        print(json.dumps(out, indent=2))
    finally:
        if server:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
