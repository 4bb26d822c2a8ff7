"""Section 1: warm in-process `ask` latency on the real model, against the tutorial baseline and the model's
own forward pass, plus answer quality of both on the dev set. Also section 5's in-process half: the peak
resident memory of a process that has loaded the guide and answered every question."""

from __future__ import annotations

import time

from common import ROOT, median, percentile, proc_memory


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
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
    for c in items:
        ours.append(_timed(lambda: bot.ask(c.question, list(c.history))))
        tutorial.append(_timed(lambda: baseline.ask(c.question)))
        forward.append(_timed(lambda: bot.embedder.encode([c.question])))

    quality = evaluate.run(bot, cases)
    base_quality = evaluate_baseline(baseline, cases)
    rows = {"ask (ours)": ours, "tutorial baseline ask": tutorial, "model forward pass alone": forward}
    return {
        "questions": len(items),
        "cases": len(cases),
        "rows": {name: {"p50_ms": median(v), "p95_ms": percentile(v, 0.95)} for name, v in rows.items()},
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
        "three rows are interleaved question by question so machine noise hits them alike.",
        "",
        "| path | p50 ms | p95 ms |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {v['p50_ms']:.1f} | {v['p95_ms']:.1f} |" for name, v in r["rows"].items()]
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
