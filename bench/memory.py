"""Section 5: resident memory of the real server on the guide: after start, and its peak after every dev-set
question has been asked once over HTTP."""

from __future__ import annotations

import http.client

from common import ROOT, post_json, proc_memory, serving
from http_load import NO_RATE_LIMIT


def run() -> dict:
    from assistant import evaluate

    cases = evaluate.load_cases(ROOT / "eval" / "questions.jsonl")
    with serving(extra_env=NO_RATE_LIMIT) as server:
        started = proc_memory(server.proc.pid)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        statuses = [
            post_json(conn, "/api/ask", {"question": c.question, "history": [list(t) for t in c.history]})[0]
            for c in cases
        ]
        conn.close()
        after = proc_memory(server.proc.pid)
    return {
        "questions": len(cases),
        "answered": statuses.count(200),
        "rss_started_mib": started["rss_mib"],
        "rss_after_mib": after["rss_mib"],
        "peak_rss_mib": after["peak_rss_mib"],
    }


def render(r: dict) -> list[str]:
    return [
        f"`python app.py` on the guide: resident memory once it answers, then after all {r['questions']} dev-set "
        f"questions over HTTP ({r['answered']} answered 200), and the process's peak (VmHWM).",
        "",
        "| when | MiB |",
        "| --- | ---: |",
        f"| started (model, index, Gradio app loaded) | {r['rss_started_mib']:.0f} |",
        f"| after the dev set | {r['rss_after_mib']:.0f} |",
        f"| peak (VmHWM) | {r['peak_rss_mib']:.0f} |",
    ]
