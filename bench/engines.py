"""Section 1b: the model's engine (issue 13). sentence-transformers (torch), NumpyBert (the hand-written numpy BERT
served before; bench/numpy_bert.py), ONNX Runtime fp32 (as shipped) and ONNX Runtime int8 (dynamic quantisation;
not shipped: it loses answers on the dev set), all in the same run:

- in one process, question by question interleaved: one question's forward pass alone, CPU per question in
  batches of 8, and the assistant's whole `ask` on each engine, against one sentence-transformers `encode()`;
- vectors against sentence-transformers', and answer quality on the dev set (int8 on its own int8 index);
- servers, `app.py` on each engine: the cold start's first answer with the index built and the model exported,
  then 16 clients' answers/s on all four side by side, in alternating rounds, and each server's peak memory.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np

from common import PY, ROOT, cpu_seconds, median, percentile, proc_memory, serving

ENGINES = ("sentence-transformers", "NumpyBert", "ONNX fp32", "ONNX int8")
BEFORE, AFTER = "NumpyBert", "ONNX fp32"
SERVER = {  # engine → (command, MASSAGE_* settings)
    "sentence-transformers": ([PY, "bench/serve_engine.py", "sentence-transformers"], {}),
    "NumpyBert": ([PY, "bench/serve_engine.py", "numpy-bert"], {}),
    "ONNX fp32": ([PY, "app.py"], {}),
    "ONNX int8": ([PY, "bench/serve_engine.py", "onnx-int8"], {}),
}
NO_RATE_LIMIT = {"MASSAGE_RATE_LIMIT": "0"}


def _ms(fn) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000


def _stats(values: list[float]) -> dict:
    return {"p50_ms": median(values), "p95_ms": percentile(values, 0.95)}


def run(quick: bool, work: Path, log_dir: Path) -> dict:
    from numpy_bert import NumpyBertEmbedder

    from assistant import Assistant, evaluate
    from assistant.embedder import SentenceEmbedder
    from assistant.facts import load_facts
    from assistant.settings import Settings

    cases = evaluate.load_cases(ROOT / "eval" / "questions.jsonl")
    questions = [c.question for c in cases]
    fp32_bot = Assistant.load(settings=Settings(max_batch=1))  # the built index/ and index/onnx
    int8_dir = Path(work) / "int8-index"
    int8_bot = Assistant.load(settings=Settings(max_batch=1, index_dir=int8_dir), embedder=SentenceEmbedder(quantize="int8"))
    st = SentenceEmbedder(backend="sentence-transformers")
    embedders = {"sentence-transformers": st, "NumpyBert": NumpyBertEmbedder(),
                 "ONNX fp32": fp32_bot.embedder, "ONNX int8": int8_bot.embedder}
    facts = load_facts(fp32_bot.settings.corpus_dir)
    bots = {name: Assistant(fp32_bot.index, e, fp32_bot.settings, facts) for name, e in embedders.items()}
    bots["ONNX int8"] = int8_bot
    st_model = st._load()

    def st_encode(q: str) -> None:  # sentence-transformers' own encode(), the issue's yardstick
        st_model.encode([q], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    for q in questions[:20]:  # warm every path
        st_encode(q)
        for name in ENGINES:
            embedders[name].encode([q])
            bots[name].ask(q)

    rounds = 1 if quick else 3
    alone = {n: ([], []) for n in ENGINES}
    ask = {n: ([], []) for n in ENGINES}
    st_wall: list[float] = []
    for _ in range(rounds):
        for c in cases:
            st_wall.append(_ms(lambda: st_encode(c.question))[0])
            for name in ENGINES:
                wall, cpu = _ms(lambda: embedders[name].encode([c.question]))
                alone[name][0].append(wall)
                alone[name][1].append(cpu)
                wall, cpu = _ms(lambda: bots[name].ask(c.question, list(c.history)))
                ask[name][0].append(wall)
                ask[name][1].append(cpu)
    batched: dict[str, list[float]] = {n: [] for n in ENGINES}
    for _ in range(rounds):
        for start in range(0, len(questions) - 7, 8):
            for name in ENGINES:
                batched[name].append(_ms(lambda: embedders[name].encode(questions[start : start + 8]))[1] / 8)

    reference = st.encode(questions)
    vectors = {}
    for name in ENGINES:
        v = embedders[name].encode(questions)
        vectors[name] = {"max_abs_diff": float(np.abs(v - reference).max()),
                         "min_cosine": float((v * reference).sum(axis=1).min())}
    quality = {name: _quality(evaluate.run(bots[name], cases)) for name in ENGINES}
    st_p50 = median(st_wall)
    inproc = {
        name: {
            "alone": {**_stats(alone[name][0]), "cpu_p50_ms": median(alone[name][1])},
            "batch8_cpu_ms_per_question": median(batched[name]),
            "ask": {**_stats(ask[name][0]), "cpu_p50_ms": median(ask[name][1])},
            "ask_over_st_encode": median(ask[name][0]) / st_p50,
            "vectors_vs_st": vectors[name],
            "quality": quality[name],
        }
        for name in ENGINES
    }
    sizes = {"ONNX fp32": _export_size(fp32_bot), "ONNX int8": _export_size(int8_bot)}
    servers = _servers(quick, int8_dir, log_dir)
    return {
        "questions": len(questions) * rounds,
        "st_encode": _stats(st_wall),
        "engines": inproc,
        "export_mib": sizes,
        "servers": servers,
        "load_average": list(os.getloadavg()),
    }


def _quality(q: dict) -> dict:
    return {k: q[k] for k in ("hit@1", "hit@3", "abstention_recall", "false_abstention", "answer_contains_expected")}


def _export_size(bot) -> float:
    engine = bot.index.manifest.get("engine") or {}
    path = Path(bot.settings.index_dir) / "onnx" / engine.get("file", "-")
    return path.stat().st_size / 2**20 if path.is_file() else float("nan")


def _servers(quick: bool, int8_dir: Path, log_dir: Path) -> dict:
    """Cold starts to the first answer, each engine in turn, `starts` rounds; then all four servers side by side
    (an idle one costs nothing), 16 clients on each in turn for `seconds`, `rounds` times in ABCD DCBA order, so the
    shared machine's changing load hits every engine alike."""
    from contextlib import ExitStack

    import coldstart
    import http_load

    payloads = http_load._payloads()
    seconds, rounds, starts = (4.0, 2, 1) if quick else (8.0, 6, 3)
    out: dict[str, dict] = {n: {"cold_start_s": [], "levels": [], "load_average": []} for n in ENGINES}
    env = {}
    for name in ENGINES:
        env[name] = {**NO_RATE_LIMIT, **SERVER[name][1]}
        if name == "ONNX int8":
            env[name]["MASSAGE_INDEX_DIR"] = str(int8_dir)
    for i in range(starts):
        for name in ENGINES if i % 2 == 0 else ENGINES[::-1]:
            out[name]["cold_start_s"].append(coldstart.first_answer(env[name], command=SERVER[name][0])["answer_s"])
    print("  cold starts: " + ", ".join(f"{n} {statistics.median(out[n]['cold_start_s']):.2f} s" for n in ENGINES),
          flush=True)
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(serving(SERVER[name][0], env[name],
                                              log_dir / f"engines-{name.replace(' ', '-')}.log"))
            for name in ENGINES
        }
        for server in servers.values():
            http_load.load_level(server.port, 4, payloads, 2.0, 10_000)  # warm up
        for i in range(rounds):
            for name in ENGINES if i % 2 == 0 else ENGINES[::-1]:
                server = servers[name]
                cpu_before = cpu_seconds(server.proc.pid)
                level = http_load.load_level(server.port, 16, payloads, seconds, 100_000, server.proc.pid)
                level.pop("latencies")
                level["server_cpu_ms_per_answer"] = (cpu_seconds(server.proc.pid) - cpu_before) * 1000 / max(
                    level["answered"], 1)
                out[name]["levels"].append(level)
                out[name]["load_average"].append(os.getloadavg()[0])
            print(f"  round {i + 1}: " + ", ".join(f"{n} {out[n]['levels'][-1]['answers_per_s']:.0f}/s"
                                                  for n in ENGINES) + f" (load average {os.getloadavg()[0]:.1f})",
                  flush=True)
        for name, server in servers.items():
            out[name]["peak_rss_mib"] = proc_memory(server.proc.pid)["peak_rss_mib"]
    mid = statistics.median
    for name, r in out.items():
        r["answers_per_s_runs"] = [lv["answers_per_s"] for lv in r["levels"]]
        r["answers_per_s"] = mid(r["answers_per_s_runs"])
        r["p50_ms"] = mid([lv["p50_ms"] for lv in r["levels"]])
        r["p95_ms"] = mid([lv["p95_ms"] for lv in r["levels"]])
        r["errors"] = sum(lv["errors"] for lv in r["levels"])
        r["cpu_ms_per_answer"] = mid([lv["server_cpu_ms_per_answer"] for lv in r["levels"]])
        r["cold_start_median_s"] = mid(r["cold_start_s"])
        r["peak_rss_median_mib"] = r["peak_rss_mib"]
    return out


def _paired(s: dict) -> str:
    ratios = [a / b for a, b in zip(s[AFTER].get("answers_per_s_runs", []), s[BEFORE].get("answers_per_s_runs", []))]
    if not ratios:
        return "n/a"
    return f"median {statistics.median(ratios):.2f}x (" + ", ".join(f"{x:.2f}" for x in ratios) + ")"


def render(r: dict) -> list[str]:
    e, s = r["engines"], r["servers"]
    la = r.get("load_average", [float("nan")] * 3)
    lines = [
        f"Every engine in the same run (load average {la[0]:.1f} / {la[1]:.1f} / {la[2]:.1f} at its end; "
        f"{r['questions']} questions per row, interleaved question by question). One sentence-transformers "
        f"`encode()` of a question: p50 **{r['st_encode']['p50_ms']:.1f} ms** (p95 {r['st_encode']['p95_ms']:.1f}).",
        "",
        "| per question | " + " | ".join(ENGINES) + " |",
        "| --- |" + " ---: |" * len(ENGINES),
        "| forward pass alone, p50 ms | " + " | ".join(f"{e[n]['alone']['p50_ms']:.1f}" for n in ENGINES) + " |",
        "| forward pass alone, CPU p50 ms | " + " | ".join(f"{e[n]['alone']['cpu_p50_ms']:.1f}" for n in ENGINES) + " |",
        "| in batches of 8, CPU ms per question | "
        + " | ".join(f"{e[n]['batch8_cpu_ms_per_question']:.1f}" for n in ENGINES) + " |",
        "| in-process `ask` p50 / p95 ms | "
        + " | ".join(f"{e[n]['ask']['p50_ms']:.1f} / {e[n]['ask']['p95_ms']:.1f}" for n in ENGINES) + " |",
        "| `ask` p50 ÷ one sentence-transformers `encode()` (target ≤ 0.5) | "
        + " | ".join(f"{e[n]['ask_over_st_encode']:.2f}x" for n in ENGINES) + " |",
        "| largest difference from sentence-transformers' vector | "
        + " | ".join(f"{e[n]['vectors_vs_st']['max_abs_diff']:.1e}" for n in ENGINES) + " |",
        "| lowest cosine to sentence-transformers' vector | "
        + " | ".join(f"{e[n]['vectors_vs_st']['min_cosine']:.4f}" for n in ENGINES) + " |",
    ]
    for key in ("hit@1", "hit@3", "abstention_recall", "false_abstention", "answer_contains_expected"):
        lines.append(f"| dev set {key} | " + " | ".join(f"{e[n]['quality'][key]:.3f}" for n in ENGINES) + " |")
    lines += [
        "| 16 clients, answers/s (median of runs) | " + " | ".join(f"{s[n]['answers_per_s']:.1f}" for n in ENGINES) + " |",
        "| 16 clients, answers/s of each run | " + " | ".join(
            ", ".join(f"{x:.0f}" for x in s[n].get("answers_per_s_runs", [])) for n in ENGINES) + " |",
        "| 16 clients, p50 / p95 ms | " + " | ".join(f"{s[n]['p50_ms']:.0f} / {s[n]['p95_ms']:.0f}" for n in ENGINES) + " |",
        "| 16 clients, server CPU ms per answer | " + " | ".join(f"{s[n]['cpu_ms_per_answer']:.1f}" for n in ENGINES) + " |",
        "| 16 clients, errors | " + " | ".join(str(s[n]["errors"]) for n in ENGINES) + " |",
        "| cold start to first answer, s (median of runs) | "
        + " | ".join(f"{s[n]['cold_start_median_s']:.2f}" for n in ENGINES) + " |",
        "| cold starts, s | " + " | ".join(", ".join(f"{x:.2f}" for x in s[n]["cold_start_s"]) for n in ENGINES) + " |",
        "| load average after each 16-client run | "
        + " | ".join(", ".join(f"{x:.1f}" for x in s[n].get("load_average", [])) for n in ENGINES) + " |",
        "| server peak memory after the runs, MiB | " + " | ".join(f"{s[n]['peak_rss_median_mib']:.0f}" for n in ENGINES) + " |",
        "| exported model file, MiB | – | – | "
        + " | ".join(f"{r['export_mib'][n]:.0f}" for n in ("ONNX fp32", "ONNX int8")) + " |",
        "",
        f"- ONNX fp32 ÷ NumpyBert, 16-client answers/s: **{s[AFTER]['answers_per_s'] / s[BEFORE]['answers_per_s']:.2f}x** "
        f"the medians (target ≥ 1.3x); round by round, measured seconds apart: {_paired(s)}; server CPU per answer "
        f"{s[BEFORE]['cpu_ms_per_answer'] / s[AFTER]['cpu_ms_per_answer']:.2f}x less",
        f"- ONNX fp32 `ask` p50 ÷ one sentence-transformers `encode()`: **{e[AFTER]['ask_over_st_encode']:.2f}x** "
        "(target ≤ 0.5x)",
        f"- ONNX fp32 cold start to first answer: **{s[AFTER]['cold_start_median_s']:.2f} s** (target ≤ 2 s)",
        "- Servers: first cold starts, each engine's `app.py` in turn (ABCD DCBA ABCD), to its first answer with the "
        "index built and the model exported; then the four servers side by side, each warmed up, and 16 clients on "
        "each in turn for 8 s, six rounds in ABCD DCBA order; rates and latencies are medians of the rounds.",
    ]
    return lines
