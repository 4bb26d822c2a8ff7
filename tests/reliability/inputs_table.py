"""Print the hostile-input table of docs/reliability.md from what each surface actually does (real model).

    .venv/bin/python tests/reliability/inputs_table.py > /tmp/table.md

Starts a server (temporary copy of the guide), asks every case in hostile.CASES through the Python API, the CLI
(main() in this process, sharing the loaded model), POST /api/ask and the Gradio API, and the raw bodies through
POST /api/ask. The chat-page column is what tests/reliability/test_browser_hostile.py asserts for typeable cases.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

import httpx  # noqa: E402
from clients import as_client  # noqa: E402
from hostile import CASES, JSON, RAW_BODIES, Case, cli_argv, one_line, outcome_http, via_gradio, via_http  # noqa: E402
from servers import make_server  # noqa: E402


def label(case: Case) -> str:
    shown = repr(case.question) if not isinstance(case.question, str) or len(case.question) < 50 else (
        repr(case.question[:40]) + f"… ({len(case.question):,} chars)")
    if case.history is not None:
        history = repr(case.history) if len(repr(case.history)) < 60 else f"{len(case.history):,} turns"
        shown += f", history {history}"
    return f"{case.label}: `{shown.replace('|', '¦').replace('`', 'ˋ')}`"


def cell(text: str) -> str:
    return one_line(text, 70).replace("|", "¦")


def via_cli(bot, case: Case) -> str:
    import assistant.engine
    from assistant import cli

    assistant.engine.SentenceEmbedder = lambda model="", threads=1: bot.embedder  # reuse the loaded model
    argv = cli_argv(case)
    where = ["--corpus", str(bot.settings.corpus_dir), "--index", str(bot.settings.index_dir)]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([argv[0], *where, *argv[1:]])
    if code == 0:
        first = out.getvalue().splitlines()[0] if out.getvalue() else ""
        kind = "abstains" if "front desk" in first or "555-0100" in out.getvalue() else "answer"
        return f"exit 0, {kind}"
    return f"exit {code}: {err.getvalue().strip().removeprefix('massage-assistant: error: ')}"


def main() -> int:
    from gradio_client import Client

    from assistant import Assistant, BadQuestion, Settings

    server = make_server(Path(tempfile.mkdtemp(prefix="massage-table-")), rate_limit="0").start()
    try:
        settings = Settings.from_env(
            {k: v for k, v in server.env.items() if k.startswith("MASSAGE_")}
        )
        bot = Assistant.load(settings=settings)
        gradio = Client(f"{server.url}/", verbose=False, headers=as_client(1))
        print("| # | input | Python API `ask()` | CLI `massage-assistant ask` | `POST /api/ask` | Gradio API `/ask` |"
              " chat page |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for n, case in enumerate(CASES, 1):
                try:
                    reply = bot.ask(case.question, case.history)
                    python = f"{'abstains' if reply.abstained else 'answer'} ({reply.kind})"
                except BadQuestion as e:
                    python = f"BadQuestion: {e}"
                cli = via_cli(bot, case)
                _, http_out, _ = via_http(http.post, case, as_client(n))
                _, gradio_out = via_gradio(gradio, case)
                page = "shown as text, nothing live" if case.typed and not case.refused else (
                    "nothing sent (empty box)" if case.typed else "can't be typed")
                print(f"| {n} | {label(case)} | {cell(python)} | {cell(cli)} | {cell(http_out)} | "
                      f"{cell(gradio_out.removeprefix('error message: '))} | {page} |")
            print()
            print("| # | raw body to `POST /api/ask` | status and reason |")
            print("| --- | --- | --- |")
            for n, (what, body, headers) in enumerate(RAW_BODIES, 1):
                r = http.post("/api/ask", content=body, headers={**JSON, **headers, **as_client(500 + n)})
                print(f"| {n} | {what} ({len(body):,} bytes) | {cell(outcome_http(r)[1])} |")
            health = http.get("/api/health").json()
            print(f"\nAfterwards: `/api/health` {health['status']}, {health['passages']} passages; "
                  f"tracebacks in the server log: {server.log_text().count('Traceback')}")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
