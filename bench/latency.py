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

    quality = evaluate.run(bot, cases)
    base_quality = evaluate_baseline(baseline, cases)
    rows = {"ask (ours)": (ours, cpu["ours"]), "tutorial baseline ask": (tutorial, cpu["tutorial"]),
            "model forward pass alone": (forward, cpu["forward"])}
    return {
        "questions": len(items),
        "cases": len(cases),
        "embedder": type(getattr(bot.embedder, "_model", None)).__name__,
        "rows": {name: {"p50_ms": median(v), "p95_ms": percentile(v, 0.95), "cpu_p50_ms": median(c)}
                 for name, (v, c) in rows.items()},
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
        f"{r.get('embedder', '?')}. CPU ms is the process's CPU time (both torch threads) per call.",
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
