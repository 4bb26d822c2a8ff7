"""Section 3: cold start. Time from `python app.py` starting to its first answered POST /api/ask, with the
index already built and with none (an empty MASSAGE_INDEX_DIR), and on to the chat page being ready (app.py
builds it in the background once the API serves), plus where the time goes: each startup phase timed in a fresh
process in app.py's order, and the slowest imports from `python -X importtime`.

    python bench/coldstart.py --phases      # child: time each phase of a start, print JSON
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import PY, ROOT, Server, cpu_seconds, env, free_port, median, post_json  # noqa: E402

QUESTION = {"question": "What should I wear?", "history": []}


def first_answer(
    extra_env: dict[str, str] | None = None, timeout: float = 600.0, command: list[str] | None = None
) -> dict[str, float]:
    """Seconds from starting app.py (or `command`) to the first 200 from POST /api/ask and the CPU seconds it used
    till then (answer_s, answer_cpu_s); then the same until GET /api/health says the chat page is ready (chat_s,
    chat_cpu_s)."""
    port = free_port()
    server = Server([*(command or [PY, "app.py"]), "--port", str(port)], port, extra_env)
    server.start()
    try:
        out: dict[str, float] = {}
        while time.perf_counter() - server.started < timeout:
            if server.proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {server.proc.returncode} before answering")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, body = post_json(conn, "/api/ask", QUESTION)
                conn.close()
                if status == 200 and "answer" in json.loads(body):
                    out["answer_s"], out["answer_cpu_s"] = time.perf_counter() - server.started, cpu_seconds(server.proc.pid)
                    break
            except OSError:
                pass
            time.sleep(0.02)
        else:
            raise TimeoutError(f"no answer within {timeout:.0f} s")
        out["chat_s"] = server.wait_healthy(timeout=timeout, chat=True)
        out["chat_cpu_s"] = cpu_seconds(server.proc.pid)
        return out
    finally:
        server.stop()


def phases() -> dict:
    """Each step of app.py's start, timed in this (fresh) process."""
    out: dict[str, list[float]] = {}
    t, c = time.perf_counter(), time.process_time()

    def mark(name: str) -> None:
        nonlocal t, c
        now, cpu = time.perf_counter(), time.process_time()
        out[name] = [now - t, cpu - c]
        t, c = now, cpu

    from assistant.settings import Settings

    settings = Settings.from_env()
    mark("import assistant.settings")
    import uvicorn  # noqa: F401

    mark("import uvicorn")
    from assistant.web import create_app

    mark("import assistant.web (fastapi)")
    from assistant import Assistant

    bot = Assistant.load(settings=settings)
    mark("Assistant.load (index: faiss, bm25s, numpy; checksums)")
    bot.embedder.encode(["warm up"])
    model = getattr(getattr(bot.embedder, "inner", bot.embedder), "_model", None)  # inside the BatchingEmbedder
    mark(f"load the model from disk ({type(model).__name__})")
    bot.ask("What should I wear?")
    mark("first ask")
    app = create_app(bot, settings, chat="later")
    mark("create_app (the API; the chat page waits)")
    until_serving = [sum(v[0] for v in out.values()), sum(v[1] for v in out.values())]
    app.state.chat_page.build()
    mark("background, once serving: import Gradio, build + mount the chat page")
    out["total"] = [sum(v[0] for v in out.values()), sum(v[1] for v in out.values())]
    out["(serving the API after: " + f"{until_serving[0]:.2f} s, {until_serving[1]:.2f} CPU s)"] = [0.0, 0.0]
    out["(torch imported: " + str("torch" in sys.modules) + ")"] = [0.0, 0.0]
    return out


def importtime(top: int = 12) -> list[tuple[str, float]]:
    """The slowest top-level-ish imports of app.py (its serving path, then Gradio), cumulative s, -X importtime."""
    code = (
        "import uvicorn; from assistant.web import create_app; import assistant.engine, faiss, bm25s, tokenizers, "
        "safetensors.numpy, threadpoolctl; import gradio"  # gradio last: it loads in the background, after serving
    )
    proc = subprocess.run([PY, "-X", "importtime", "-c", code], cwd=ROOT, env=env(), capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        if depth <= 1:
            rows.append(("  " * depth + name.strip(), int(cumulative) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:top]


def run(quick: bool) -> dict:
    repeats = 1 if quick else 3
    index_dir = ROOT / "index"  # built by then: run.py loads the assistant first
    manifest_before = (index_dir / "manifest.json").read_text()
    built = [first_answer() for _ in range(repeats)]
    reembedded = (index_dir / "manifest.json").read_text() != manifest_before
    fresh = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="massage-index-") as tmp:
            fresh.append(first_answer({"MASSAGE_INDEX_DIR": tmp}))
    child = subprocess.run([PY, __file__, "--phases"], cwd=ROOT, env=env(), capture_output=True, text=True)
    phase = json.loads(child.stdout.strip().splitlines()[-1]) if child.returncode == 0 else {"error": child.stderr[-500:]}
    return {
        "built_s": [r["answer_s"] for r in built],
        "built_cpu_s": [r["answer_cpu_s"] for r in built],
        "built_median_s": median([r["answer_s"] for r in built]),
        "built_chat_s": [r["chat_s"] for r in built],
        "built_chat_cpu_s": [r["chat_cpu_s"] for r in built],
        "fresh_s": [r["answer_s"] for r in fresh],
        "fresh_cpu_s": [r["answer_cpu_s"] for r in fresh],
        "fresh_median_s": median([r["answer_s"] for r in fresh]),
        "fresh_chat_s": [r["chat_s"] for r in fresh],
        "fresh_chat_cpu_s": [r["chat_cpu_s"] for r in fresh],
        "manifest_changed_by_start": reembedded,
        "phases_s": phase,
        "importtime_s": importtime(),
    }


def _runs(wall: list[float], cpu: list[float]) -> str:
    return ", ".join(f"{w:.1f} ({c:.1f})" for w, c in zip(wall, cpu))


def render(r: dict) -> list[str]:
    chat = "built_chat_s" in r  # results from before the chat page was built in the background have no chat column
    lines = [
        "Time from `python app.py --port N` starting to its first 200 from `POST /api/ask` (polled every 20 ms), "
        "and on to `GET /api/health` saying the chat page at `/` is ready (app.py builds it in the background once "
        "the API serves; polled every 100 ms). Medians of the runs listed, and the CPU seconds (user + system) the "
        "server had used by then: on a machine with nothing else running, wall time would be close to that.",
        "",
        "| index | first answer: median s | runs: wall s (CPU s) | chat page ready: median s | runs: wall s (CPU s) |",
        "| --- | ---: | --- | ---: | --- |",
    ]
    for key, name in (("built", "already built"), ("fresh", "none (empty MASSAGE_INDEX_DIR: parse + embed the guide)")):
        row = f"| {name} | {r[f'{key}_median_s']:.1f} | {_runs(r[f'{key}_s'], r[f'{key}_cpu_s'])} |"
        if chat:
            row += f" {median(r[f'{key}_chat_s']):.1f} | {_runs(r[f'{key}_chat_s'], r[f'{key}_chat_cpu_s'])} |"
        else:
            row += " - | (not measured) |"
        lines.append(row)
    lines += [
        "",
        f"- Starting on a built index left `index/manifest.json` unchanged: "
        f"{'no - it was rebuilt!' if r['manifest_changed_by_start'] else 'yes'} (loading never re-embeds; the scale "
        "section also counts texts embedded during load: 0).",
        "",
        "Where a start's time goes (one fresh process, app.py's order; seconds):",
        "",
        "| phase | wall s | CPU s |",
        "| --- | ---: | ---: |",
    ]
    if "error" in r["phases_s"]:
        lines.append(f"| (the phase run failed: {r['phases_s']['error'][-200:]!r}) | | |")
    else:
        lines += [f"| {name} | {w:.2f} | {c:.2f} |" for name, (w, c) in r["phases_s"].items()]
    lines += ["", "Slowest imports (`python -X importtime`, cumulative, top level):", "", "| module | s |", "| --- | ---: |"]
    lines += [f"| {name} | {s:.2f} |" for name, s in r["importtime_s"]]
    return lines


if __name__ == "__main__":
    if sys.argv[1:] == ["--phases"]:
        print(json.dumps(phases()))
