"""Where the server's CPU goes under load: py-spy samples the shipped `app.py` while 16 clients ask over HTTP.

    .venv/bin/python bench/run.py --only profile

Samples are sorted by what they were doing: the forward pass, batching bookkeeping, retrieval and answer
composition, the question log, or the HTTP stack (uvicorn, Starlette/FastAPI, pydantic, asyncio, thread hand-offs).
Samples of threads that were only waiting (select, lock or condition waits) are counted apart and left out of the
shares.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import PY, serving
from http_load import NO_RATE_LIMIT, _payloads, load_level

CLIENTS = 16
IDLE = ("select", "wait", "acquire", "poll", "_worker", "sleep", "get")  # leaf functions of a thread doing nothing
PARTS = (  # a sample belongs to the part of the frame nearest its leaf that names one; else to the HTTP stack
    ("forward pass (assistant/embedder.py, onnx_embedder.py)",
     ("assistant/embedder.py", "assistant/onnx_embedder.py")),
    ("batching bookkeeping (assistant/batching.py)", ("assistant/batching.py",)),
    ("question log (SQLite)", ("assistant/questionlog.py",)),
    ("retrieval, policy, answer", ("assistant/retrieval.py", "assistant/search.py", "assistant/answer.py",
                                   "assistant/policy.py", "assistant/engine.py", "faiss/", "bm25s/")),
)
HTTP = "HTTP stack and hand-offs"


def py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if not found:
        raise RuntimeError("py-spy is not installed; `pip install -e '.[bench]'` installs it")
    return found


def classify(raw: str) -> dict:
    """Sample counts per part from py-spy's raw output ("frame;frame;... count" per line, leaf last)."""
    counts = {name: 0 for name, _ in PARTS} | {HTTP: 0}
    idle = 0
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        leaf = stack.rsplit(";", 1)[-1].split(" (", 1)[0].strip()
        if leaf.rsplit(".", 1)[-1] in IDLE:
            idle += int(n)
            continue
        counts[_part(stack.split(";"))] += int(n)
    return {"busy_samples": sum(counts.values()), "idle_samples": idle, "parts": counts}


def _part(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, marks in PARTS:
            if any(m in frame for m in marks):
                return name
    return HTTP


def run(quick: bool, log_dir: Path) -> dict:
    seconds = 6.0 if quick else 15.0
    payloads = _payloads()
    with serving([PY, "app.py"], extra_env=NO_RATE_LIMIT, log=log_dir / "server-profile.log") as server:
        for p in payloads[:20]:
            load_level(server.port, 1, [p], 30, 1)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "raw.txt"
            spy = subprocess.Popen(
                [py_spy(), "record", "--pid", str(server.proc.pid), "--duration", str(int(seconds)), "--rate", "250",
                 "--format", "raw", "--output", str(out), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            level = load_level(server.port, CLIENTS, payloads, seconds, 100_000, server.proc.pid)
            spy.wait(timeout=seconds + 60)
            raw = out.read_text() if out.exists() else ""
    if not raw:
        raise RuntimeError("py-spy recorded nothing (it needs permission to read another process: ptrace)")
    return {
        "clients": CLIENTS,
        "seconds": seconds,
        "answers_per_s": level["answers_per_s"],
        "server_cpu_ms_per_answer": level["server_cpu_s"] * 1000 / max(level["answered"], 1),
        **classify(raw),
    }


def render(r: dict) -> list[str]:
    busy = max(r["busy_samples"], 1)
    per_answer = r["server_cpu_ms_per_answer"]
    lines = [
        f"py-spy sampled `app.py` as shipped (250 Hz, all threads) for {r['seconds']:.0f} s while {r['clients']} "
        f"clients asked over HTTP: {r['answers_per_s']:.1f} answers/s at {per_answer:.1f} ms of server CPU per answer. "
        f"{r['busy_samples']:,} samples were of threads at work; {r['idle_samples']:,} of threads waiting (left out). "
        "The ms column splits the CPU per answer by those shares.",
        "",
        "| where | share of busy samples | ≈ CPU ms per answer |",
        "| --- | ---: | ---: |",
    ]
    for name, n in sorted(r["parts"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {n / busy:.0%} | {per_answer * n / busy:.1f} |")
    return lines
