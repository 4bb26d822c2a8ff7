"""Section 2: HTTP throughput. 1, 4, 16 and 64 concurrent clients spread over POST /api/ask on a real server
on 127.0.0.1 (keep-alive connections, one per client thread), each level bounded in time and request count.

Servers compared, each `app.py` started fresh in its own process, differing only in MASSAGE_* settings:
- as shipped: 16 workers, concurrent questions share packed forward passes (assistant/batching.py);
- 16 workers, one forward pass per question (MASSAGE_MAX_BATCH=1): what batching adds;
- before this work: 2 workers, one pass per question, 32 waiting.
Then a saturation burst: far more questions at once than the shipped server admits, which must get fast 503s.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path

from common import PY, ROOT, cpu_seconds, median, percentile, post_json, proc_memory, serving

LEVELS = (1, 4, 16, 64)
# Every benchmark client is 127.0.0.1, and the per-address limit (60 questions/min) would refuse all but the first
# burst; real visitors have their own addresses. The limit itself is tested in tests/web.
NO_RATE_LIMIT = {"MASSAGE_RATE_LIMIT": "0"}


SHIPPED = "app.py as shipped (16 workers, batched passes)"
BEFORE = "before: 2 workers, a pass per question"
SATURATION = 256  # questions released at once on the shipped server: more than 16 workers + 64 waiting


def variants(quick: bool) -> list[tuple[str, dict[str, str]]]:
    """(name, MASSAGE_* settings) of the servers compared; each is app.py."""
    shipped = (SHIPPED, {})
    unbatched = ("16 workers, a pass per question", {"MASSAGE_MAX_BATCH": "1"})
    before = (BEFORE, {"MASSAGE_WORKERS": "2", "MASSAGE_MAX_BATCH": "1", "MASSAGE_MAX_WAITING": "32"})
    return [shipped, before] if quick else [shipped, unbatched, before]


def _payloads() -> list[dict]:
    from assistant import evaluate

    cases = evaluate.load_cases(ROOT / "eval" / "questions.jsonl")
    return [{"question": c.question, "history": [list(t) for t in c.history]} for c in cases]


def load_level(
    port: int, clients: int, payloads: list[dict], seconds: float, max_requests: int, pid: int | None = None
) -> dict:
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
    cpu_before = cpu_seconds(pid) if pid else 0.0
    start_gate.wait()
    for t in threads:
        t.join(seconds + 120)
    wall = time.perf_counter() - began
    server_cpu = cpu_seconds(pid) - cpu_before if pid else float("nan")
    return {"clients": clients, **_figures(statuses, latencies, wall), "latencies": latencies,
            "server_cpu_s": server_cpu}


def _figures(statuses: dict[str, int], latencies: list[float], seconds: float) -> dict:
    """Counts, rate and latency percentiles of one level (latencies are of the answered requests)."""
    answered = statuses.get("200", 0)
    return {
        "requests": sum(statuses.values()),
        "answered": answered,
        "errors": sum(v for k, v in statuses.items() if k != "200"),
        "statuses": statuses,
        "seconds": seconds,
        "answers_per_s": answered / seconds,
        "p50_ms": median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies, default=float("nan")),
    }


def _merge(parts: list[dict]) -> dict:
    """One level's figures from its repeats: counts summed, rates and percentiles over all requests together."""
    seconds = sum(p["seconds"] for p in parts)
    latencies = [x for p in parts for x in p["latencies"]]
    statuses: dict[str, int] = {}
    for p in parts:
        for k, v in p["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    figures = _figures(statuses, latencies, seconds)
    cpu_ms = sum(p["server_cpu_s"] for p in parts) * 1000
    return {"clients": parts[0]["clients"], "repeats": len(parts), **figures,
            "server_cpu_ms_per_answer": cpu_ms / max(figures["answered"], 1)}


def saturate(port: int, requests: int) -> dict:
    """`requests` questions released at the same instant, each on its own connection: how many are answered, how
    many refused with 503 (and how fast), and whether anything hung or failed otherwise."""
    start = threading.Barrier(requests + 1)
    lock = threading.Lock()
    seen: list[tuple[str, float, bool]] = []  # (status, ms, has Retry-After)

    def one() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait()
        t = time.perf_counter()
        try:
            body = json.dumps({"question": "What should I wear?"}).encode()
            conn.request("POST", "/api/ask", body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            row = (str(r.status), (time.perf_counter() - t) * 1000, r.getheader("Retry-After") is not None)
        except (OSError, http.client.HTTPException) as e:
            row = (type(e).__name__, (time.perf_counter() - t) * 1000, False)
        finally:
            conn.close()
        with lock:
            seen.append(row)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(requests)]
    for t in threads:
        t.start()
    start.wait()
    for t in threads:
        t.join(120)
    statuses: dict[str, int] = {}
    for status, _, _ in seen:
        statuses[status] = statuses.get(status, 0) + 1
    refused = [ms for status, ms, _ in seen if status == "503"]
    answered = [ms for status, ms, _ in seen if status == "200"]
    return {
        "requests": requests,
        "statuses": statuses,
        "refused_p50_ms": median(refused),
        "refused_max_ms": max(refused, default=float("nan")),
        "refused_with_retry_after": sum(1 for status, _, ra in seen if status == "503" and ra),
        "answered_p50_ms": median(answered),
        "answered_max_ms": max(answered, default=float("nan")),
        "other": sum(v for k, v in statuses.items() if k not in ("200", "503")),
    }


def run(quick: bool, log_dir: Path) -> dict:
    """All servers run at once (an idle one costs nothing); each level is measured on each server in turn, twice in
    ABBA order, so the shared machine's changing load hits every server alike."""
    from contextlib import ExitStack

    payloads = _payloads()
    seconds = 4.0 if quick else 8.0
    budget = 400 if quick else 2000
    chosen = variants(quick)
    with ExitStack() as stack:
        servers = [
            stack.enter_context(serving([PY, "app.py"], extra_env={**NO_RATE_LIMIT, **settings},
                                        log=log_dir / f"server-{i}.log"))
            for i, (_, settings) in enumerate(chosen)
        ]
        for server in servers:
            for p in payloads[:20]:  # warm up every path once
                load_level(server.port, 1, [p], 30, 1)
        parts: dict[tuple[int, int], list[dict]] = {}
        for clients in LEVELS:
            order = list(range(len(servers)))
            for i in order + order[::-1]:
                parts.setdefault((i, clients), []).append(
                    load_level(servers[i].port, clients, payloads, seconds, budget, servers[i].proc.pid)
                )
        memory = [proc_memory(server.proc.pid) for server in servers]
        saturation = saturate(servers[0].port, SATURATION)
        after = load_level(servers[0].port, 4, payloads, 2.0, 200)  # normal service right after the burst
    results = []
    for i, (name, settings) in enumerate(chosen):
        levels = [_merge(parts[(i, c)]) for c in LEVELS]
        command = " ".join([*(f"{k}={v}" for k, v in settings.items()), "python app.py"])
        results.append({"server": name, "command": command, "levels": levels, "memory_mib": memory[i]})
        print(f"  {name}: " + ", ".join(f"{lv['clients']}c {lv['answers_per_s']:.0f}/s p95 {lv['p95_ms']:.0f} ms "
                                        f"err {lv['errors']}" for lv in levels), flush=True)
    saturation["after"] = {k: after[k] for k in ("answered", "errors", "p50_ms")}
    print(f"  saturation, {SATURATION} at once: {saturation['statuses']}, 503 in {saturation['refused_max_ms']:.0f} ms "
          f"at most; then 4 clients: {after['answered']} answered, {after['errors']} errors", flush=True)
    return {"seconds_per_level": seconds, "budget_per_level": budget, "repeats": 2, "variants": results,
            "saturation": saturation}


def render(r: dict) -> list[str]:
    lines = [
        f"All servers run side by side; each level runs on each server for {r['seconds_per_level']:.0f} s or "
        f"{r['budget_per_level']} requests (whichever ends first), {r.get('repeats', 1)} times in ABBA order so the "
        "shared machine's changing load hits every server alike; 20 warm-up questions first. Clients are threads in the benchmark process, one keep-alive connection each, "
        "cycling through the dev-set questions (follow-ups with their history). Latency is per request, client side. "
        "The servers run with MASSAGE_RATE_LIMIT=0: all clients share 127.0.0.1, and the per-address limit "
        "(60 questions/min) would otherwise answer them 429. Everything else is as shipped, including the question "
        "log (to a scratch MASSAGE_DATA_DIR). The shipped server admits 16 + 64 questions at once (MASSAGE_WORKERS, "
        "MASSAGE_MAX_WAITING); one more gets 503 at once. The old 2-worker server admitted 2 + 32, so at 64 clients "
        "its 503s are that rule at work.",
        "",
        "",
        "Server CPU ms/answer is the CPU time the server process used during the level divided by the answers it gave "
        "(all its threads): what one answer costs end to end, whatever else the machine is doing.",
        "",
        "| server | clients | answers/s | p50 ms | p95 ms | p99 ms | server CPU ms/answer | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for v in r["variants"]:
        for lv in v["levels"]:
            errors = str(lv["errors"]) if not lv["errors"] else f"{lv['errors']} ({lv['statuses']})"
            lines.append(
                f"| {v['server']} | {lv['clients']} | {lv['answers_per_s']:.1f} | {lv['p50_ms']:.0f} | "
                f"{lv['p95_ms']:.0f} | {lv['p99_ms']:.0f} | {lv.get('server_cpu_ms_per_answer', float('nan')):.1f} | "
                f"{errors} |"
            )
    sat = r.get("saturation")
    if sat:
        after = sat["after"]
        lines += [
            "",
            f"Saturation, on the shipped server after the levels above: {sat['requests']} questions released at the "
            "same instant, each on its own connection. The server admits 16 answering + 64 waiting and refuses the "
            "rest before they take a thread:",
            "",
            "| requests | answered | 503 | other | 503 p50 / max ms | 503s with Retry-After | answered p50 / max ms |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {sat['requests']} | {sat['statuses'].get('200', 0)} | {sat['statuses'].get('503', 0)} | {sat['other']} "
            f"| {sat['refused_p50_ms']:.0f} / {sat['refused_max_ms']:.0f} | {sat['refused_with_retry_after']} | "
            f"{sat['answered_p50_ms']:.0f} / {sat['answered_max_ms']:.0f} |",
            "",
            f"Right after it, 4 clients for 2 s: {after['answered']} answered, {after['errors']} errors, p50 "
            f"{after['p50_ms']:.0f} ms.",
        ]
    return lines
