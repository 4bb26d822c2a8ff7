"""HTTP benchmark (not a test): POST /api/ask round trips on the real model, client and server on this machine.

    .venv/bin/python bench/http_latency.py                  # starts app.py on a free port, 300 requests
    .venv/bin/python bench/http_latency.py --url http://127.0.0.1:7860 --n 500

Questions cycle through eval/questions.jsonl (with their histories), one at a time over a keep-alive
connection, after a warm-up. Prints p50 and p95; the target is p50 <= 40 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TARGET_P50_MS = 40.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def load_questions(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{"question": r["question"], "history": r.get("history") or []} for r in rows]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"app.py exited with {proc.returncode}; run it by hand to see why")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("app.py was not ready after 180 s")


def floor(url: str, n: int = 200) -> list[float]:
    """GET /api/health round trips: the HTTP stack alone, no model."""
    times: list[float] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(n):
            start = time.perf_counter()
            client.get("/api/health").raise_for_status()
            times.append((time.perf_counter() - start) * 1000)
    return times


def run(url: str, questions: list[dict], n: int, warmup: int) -> list[float]:
    times: list[float] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(warmup + n):
            body = questions[i % len(questions)]
            start = time.perf_counter()
            r = client.post("/api/ask", json=body)
            elapsed = (time.perf_counter() - start) * 1000
            if r.status_code != 200:
                raise SystemExit(f"{body['question']!r} got {r.status_code}: {r.text[:200]}")
            if i >= warmup:
                times.append(elapsed)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app (default: start app.py on a free port)")
    parser.add_argument("--n", type=int, default=300, help="timed requests (at least 200)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--questions", type=Path, default=ROOT / "eval" / "questions.jsonl")
    args = parser.parse_args(argv)
    if args.n < 200:
        parser.error("--n must be at least 200 for a stable p95")
    questions = load_questions(args.questions)

    proc, url = (None, args.url.rstrip("/")) if args.url else start_server()
    try:
        times = run(url, questions, args.n, args.warmup)
        http_only = floor(url)
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=15)

    p50, p95 = percentile(times, 0.50), percentile(times, 0.95)
    print(f"POST /api/ask, {len(times)} requests ({len(questions)} distinct questions), keep-alive, one at a time")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"p50 {p50:.1f} ms   p95 {p95:.1f} ms   mean {statistics.fmean(times):.1f} ms   max {max(times):.1f} ms")
    print(f"HTTP alone (GET /api/health): p50 {percentile(http_only, 0.5):.1f} ms   p95 {percentile(http_only, 0.95):.1f} ms")
    print(f"target p50 <= {TARGET_P50_MS:.0f} ms: {'met' if p50 <= TARGET_P50_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
