"""Section 1: warm in-process `ask` latency on the real model, against the tutorial baseline and the model's
own forward pass, plus answer quality of both on the dev set. Also section 5's in-process half: the peak
resident memory of a process that has loaded the guide and answered every question."""

from __future__ import annotations

import time

from common import ROOT, median, percentile, proc_memory


def _timed(fn, cpu: list[float]) -> float:
    """Wall milliseconds of one call; its process CPU milliseconds (all threads) go to `cpu`."""
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    cpu.append((time.process_time() - start_cpu) * 1000)
    return (time.perf_counter() - start) * 1000


def run(quick: bool) -> dict:
    from baseline import TutorialBaseline
    from baseline import evaluate as evaluate_baseline

    from assistant import Assistant, evaluate

    cases = evaluate.load_cases(ROOT / "eval" / "questions.jsonl")
    bot = Assistant.load()
    baseline = TutorialBaseline(bot.settings.corpus_dir, bot.embedder)
    rounds = 1 if quick else 6
    items = [c for _ in range(rounds) for c in cases]

    for c in cases[:20]:  # warm up every path
        bot.ask(c.question, list(c.history))
        baseline.ask(c.question)
    # interleave the three measurements so machine noise hits them alike
    ours, tutorial, forward = [], [], []
    cpu: dict[str, list[float]] = {"ours": [], "tutorial": [], "forward": []}
    for c in items:
        ours.append(_timed(lambda: bot.ask(c.question, list(c.history)), cpu["ours"]))
        tutorial.append(_timed(lambda: baseline.ask(c.question), cpu["tutorial"]))
        forward.append(_timed(lambda: bot.embedder.encode([c.question]), cpu["forward"]))

    # the thread-count choice (assistant/embedder.py uses one): forward passes on 1 and 2 BLAS threads, interleaved
    from threadpoolctl import threadpool_limits

    threads: dict[int, tuple[list[float], list[float]]] = {1: ([], []), 2: ([], [])}
    for c in items[: len(items) // 3]:
        for n, (wall, cpu_ms) in threads.items():
            with threadpool_limits(n):
                wall.append(_timed(lambda: bot.embedder.encode([c.question]), cpu_ms))

    # batching: CPU per question when questions share a forward pass (packed, no padding)
    questions = [c.question for c in cases]
    batch_cpu: dict[str, list[float]] = {str(b): [] for b in (1, 2, 4, 8, 16, 32)}
    for _ in range(1 if quick else 3):
        for size in batch_cpu:
            b = int(size)
            for start in range(0, len(questions) - b + 1, b):
                sink: list[float] = []
                _timed(lambda: bot.embedder.encode(questions[start : start + b]), sink)
                batch_cpu[size].append(sink[0] / b)

    quality = evaluate.run(bot, cases)
    base_quality = evaluate_baseline(baseline, cases)
    rows = {"ask (ours)": (ours, cpu["ours"]), "tutorial baseline ask": (tutorial, cpu["tutorial"]),
            "model forward pass alone": (forward, cpu["forward"])}
    return {
        "questions": len(items),
        "cases": len(cases),
        "embedder": type(getattr(getattr(bot.embedder, "inner", bot.embedder), "_model", None)).__name__,
        "rows": {name: {"p50_ms": median(v), "p95_ms": percentile(v, 0.95), "cpu_p50_ms": median(c)}
                 for name, (v, c) in rows.items()},
        "threads": {str(n): {"p50_ms": median(w), "p95_ms": percentile(w, 0.95), "cpu_p50_ms": median(c)}
                    for n, (w, c) in threads.items()},
        "batch_cpu_ms_per_question": {b: median(v) for b, v in batch_cpu.items()},
        "ratio_baseline": median(ours) / median(tutorial),
        "ratio_forward": median(ours) / median(forward),
        "quality": {k: quality[k] for k in ("hit@1", "hit@3", "abstention_recall", "false_abstention",
                                             "answer_contains_expected")},
        "baseline_quality": base_quality,
        "process_memory_mib": proc_memory(),
    }


def render(r: dict) -> list[str]:
    lines = [
        f"{r['questions']} questions per row (the dev set, {r['cases']} cases, repeated), warm, in one process; the "
        f"three rows are interleaved question by question so machine noise hits them alike. Model runner: "
        f"{r.get('embedder', '?')}. CPU ms is the process CPU time (all threads) per call: what the call costs, whatever else the machine is doing.",
        "",
        "| path | p50 ms | p95 ms | CPU p50 ms |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {name} | {v['p50_ms']:.1f} | {v['p95_ms']:.1f} | {v.get('cpu_p50_ms', float('nan')):.1f} |"
              for name, v in r["rows"].items()]
    lines += [
        "",
        f"- ours / tutorial baseline (p50): **{r['ratio_baseline']:.2f}x**",
        f"- ours / forward pass (p50): **{r['ratio_forward']:.2f}x** (the forward pass is the physical limit; "
        "target within 2x)",
    ]
    if "threads" in r:
        lines += [
            "",
            "The forward pass on one BLAS thread (the default) and on two, interleaved over a third of the questions:",
            "",
            "| forward pass | p50 ms | p95 ms | CPU p50 ms |",
            "| --- | ---: | ---: | ---: |",
        ]
        lines += [f"| {n} thread{'s' if n != '1' else ''} | {v['p50_ms']:.1f} | {v['p95_ms']:.1f} | {v['cpu_p50_ms']:.1f} |"
                  for n, v in r["threads"].items()]
    if "batch_cpu_ms_per_question" in r:
        lines += [
            "",
            "CPU per question when several questions share one forward pass (tokens packed without padding, as the "
            "server's BatchingEmbedder sends them; median over the dev set's questions in consecutive batches):",
            "",
            "| questions per forward pass | " + " | ".join(r["batch_cpu_ms_per_question"]) + " |",
            "| --- |" + " ---: |" * len(r["batch_cpu_ms_per_question"]),
            "| CPU ms per question | " + " | ".join(f"{v:.1f}" for v in r["batch_cpu_ms_per_question"].values()) + " |",
        ]
    lines += [
        "",
        f"Answer quality on the dev set ({r['cases']} cases, eval/questions.jsonl):",
        "",
        "| metric | ours | tutorial baseline |",
        "| --- | ---: | ---: |",
    ]
    for key in ("hit@1", "hit@3", "abstention_recall", "false_abstention"):
        lines.append(f"| {key} | {r['quality'][key]:.3f} | {r['baseline_quality'][key]:.3f} |")
    lines.append(f"| answer contains expected phrase | {r['quality']['answer_contains_expected']:.3f} | n/a |")
    return lines
