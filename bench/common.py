"""Shared helpers for the benchmark sections: percentiles, the machine, process memory, a real server."""

from __future__ import annotations

import http.client
import json
import os
import platform
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
               "GRADIO_ANALYTICS_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false"}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); NaN for no values."""
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def median(values: list[float]) -> float:
    return percentile(values, 0.5)


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "unknown"
    )
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from importlib.metadata import PackageNotFoundError, version

    def v(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "-"

    libs = f"numpy {v('numpy')}, faiss-cpu {v('faiss-cpu')}, bm25s {v('bm25s')}, torch {v('torch')} (index builds only)"
    load = os.getloadavg()[0]
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Linux {platform.release()}; Python "
        f"{platform.python_version()}, {libs}; load average {load:.1f} when measured (shared machine)"
    )


def proc_memory(pid: int | str = "self") -> dict[str, float]:
    """Resident (VmRSS) and peak resident (VmHWM) memory of a process, in MiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(rest.split()[0]) / 1024
    return {"rss_mib": out.get("VmRSS", float("nan")), "peak_rss_mib": out.get("VmHWM", float("nan"))}


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU seconds a process has used so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Servers started by the benchmark log their questions here, not in the repo's data/ (the cost of logging is kept).
BENCH_DATA_DIR = "/tmp/massage-bench/data"


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ)
    e.update(OFFLINE_ENV)
    e.setdefault("MASSAGE_DATA_DIR", BENCH_DATA_DIR)
    e.update(extra)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT), e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return e


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def post_json(conn: http.client.HTTPConnection, path: str, payload: dict) -> tuple[int, bytes]:
    body = json.dumps(payload).encode()
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, r.read()


class Server:
    """A real server process on 127.0.0.1 (app.py by default), started and waited for; stopped on exit."""

    def __init__(self, command: list[str], port: int, extra_env: dict[str, str] | None = None, log: Path | None = None):
        self.command = command
        self.port = port
        self.extra_env = extra_env or {}
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.started = 0.0

    def start(self) -> None:
        out = open(self.log, "wb") if self.log else subprocess.DEVNULL
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.command, cwd=ROOT, env=env(**self.extra_env), stdout=out, stderr=subprocess.STDOUT
        )

    def wait_healthy(self, timeout: float = 600.0, poll: float | None = None, chat: bool = False) -> float:
        """Seconds from start until GET /api/health answered 200; with chat=True, until it also said the chat page
        at / is ready (app.py mounts it a few seconds after the API first answers). Polls every 20 ms, or 100 ms
        for the chat (the polls would slow the build they wait for)."""
        poll = poll or (0.1 if chat else 0.02)
        deadline = self.started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:] if self.log else ""
                raise RuntimeError(f"server exited with {self.proc.returncode} before answering:\n{tail}")
            try:
                status, body = get(self.port, "/api/health", timeout=2)
                page = json.loads(body).get("chat", "ready") if status == 200 else None  # no field: mounted at once
            except (OSError, ValueError):
                page = None
            if page == "failed" and chat:
                raise RuntimeError(f"server on port {self.port}: the chat page failed to start (see its log)")
            if page == "ready" or (page is not None and not chat):
                return time.perf_counter() - self.started
            time.sleep(poll)
        what = "/api/health with the chat page ready" if chat else "/api/health"
        raise TimeoutError(f"server on port {self.port} did not answer {what} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def serving(
    command: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
    log: Path | None = None,
    chat: bool = True,
):
    """A started server; by default waited for until its chat page is ready too, so no Gradio build runs while a
    benchmark measures it."""
    port = free_port()
    command = (command or [PY, "app.py"]) + ["--port", str(port)]
    server = Server(command, port, extra_env, log)
    server.start()
    try:
        server.wait_healthy(chat=chat)
        yield server
    finally:
        server.stop()
