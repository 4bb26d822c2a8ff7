"""Section 2: HTTP throughput. 1, 4, 16 and 64 concurrent clients spread over POST /api/ask on a real server
on 127.0.0.1 (keep-alive connections, one per client thread), each level bounded in time and request count.

Servers compared, each started fresh in its own process:
- `app.py` as shipped;
- `bench/batched_server.py`: the same app, with a wider gate and/or the BatchingEmbedder (concurrent
  questions share one forward pass), to show what batching does before/after.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path

from common import PY, ROOT, median, percentile, post_json, proc_memory, serving

LEVELS = (1, 4, 16, 64)


def variants(quick: bool) -> list[tuple[str, list[str]]]:
    shipped = ("app.py as shipped (gate 2, no batching)", [PY, "app.py"])
    batched = ("gate 16 + BatchingEmbedder", [PY, "bench/batched_server.py", "--concurrency", "16"])
    wide = ("gate 16, no batching", [PY, "bench/batched_server.py", "--concurrency", "16", "--no-batching"])
    return [shipped, batched] if quick else [shipped, wide, batched]


def _payloads() -> list[dict]:
    from assistant import evaluate

    cases = evaluate.load_cases(ROOT / "eval" / "questions.jsonl")
    return [{"question": c.question, "history": [list(t) for t in c.history]} for c in cases]


def load_level(port: int, clients: int, payloads: list[dict], seconds: float, max_requests: int) -> dict:
    """`clients` threads, each on its own keep-alive connection, asking until time or the request budget runs out."""
    lock = threading.Lock()
    counter = iter(range(max_requests))
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    start_gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start_gate.wait()
        while time.perf_counter() < deadline[0]:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            t = time.perf_counter()
            try:
                status, body = post_json(conn, "/api/ask", payloads[n % len(payloads)])
                ok = status == 200 and "answer" in json.loads(body)
                key = "200" if ok else str(status)
            except (OSError, http.client.HTTPException, ValueError) as e:
                key = type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = (time.perf_counter() - t) * 1000
            with lock:
                statuses[key] = statuses.get(key, 0) + 1
                if key == "200":
                    latencies.append(elapsed)
        conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start_gate.wait()
    for t in threads:
        t.join(seconds + 120)
    wall = time.perf_counter() - began
    answered = statuses.get("200", 0)
    return {
        "clients": clients,
        "requests": sum(statuses.values()),
        "answered": answered,
        "errors": sum(v for k, v in statuses.items() if k != "200"),
        "statuses": statuses,
        "seconds": wall,
        "answers_per_s": answered / wall,
        "p50_ms": median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies, default=float("nan")),
    }


def run(quick: bool, log_dir: Path) -> dict:
    payloads = _payloads()
    seconds = 4.0 if quick else 15.0
    budget = 400 if quick else 3000
    results = []
    for name, command in variants(quick):
        log = log_dir / f"server-{len(results)}.log"
        with serving(command, log=log) as server:
            for p in payloads[:20]:  # warm up every path once
                load_level(server.port, 1, [p], 30, 1)
            levels = [load_level(server.port, c, payloads, seconds, budget) for c in LEVELS]
            memory = proc_memory(server.proc.pid)
        results.append({"server": name, "command": " ".join(command[1:]), "levels": levels, "memory_mib": memory})
        print(f"  {name}: " + ", ".join(f"{lv['clients']}c {lv['answers_per_s']:.0f}/s p95 {lv['p95_ms']:.0f} ms "
                                        f"err {lv['errors']}" for lv in levels), flush=True)
    return {"seconds_per_level": seconds, "budget_per_level": budget, "variants": results}


def render(r: dict) -> list[str]:
    lines = [
        f"Each level runs for {r['seconds_per_level']:.0f} s or {r['budget_per_level']} requests, whichever ends first, "
        "after 20 warm-up questions; clients are threads in the benchmark process, one keep-alive connection each, "
        "cycling through the dev-set questions (follow-ups with their history). Latency is per request, client side.",
        "",
        "| server | clients | answers/s | p50 ms | p95 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for v in r["variants"]:
        for lv in v["levels"]:
            errors = str(lv["errors"]) if not lv["errors"] else f"{lv['errors']} ({lv['statuses']})"
            lines.append(
                f"| {v['server']} | {lv['clients']} | {lv['answers_per_s']:.1f} | {lv['p50_ms']:.0f} | "
                f"{lv['p95_ms']:.0f} | {lv['p99_ms']:.0f} | {errors} |"
            )
    return lines
