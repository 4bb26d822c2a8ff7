"""In-process benchmark: warm `ask` latency on the real model, against the tutorial baseline and the
model's own forward pass, plus answer quality of both on the dev set. Writes docs/benchmarks.md.

    make bench            # 546 questions
    make bench QUICK=1    # 91 questions
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant import Assistant, evaluate  # noqa: E402
from baseline import TutorialBaseline  # noqa: E402
from baseline import evaluate as evaluate_baseline  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def machine() -> str:
    import torch

    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "unknown"
    )
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM; Python {platform.python_version()}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one pass over the dev set instead of six")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()

    cases = evaluate.load_cases(ROOT / "eval" / "questions.jsonl")
    bot = Assistant.load()
    baseline = TutorialBaseline(bot.settings.corpus_dir, bot.embedder)
    rounds = 1 if args.quick else 6
    items = [c for _ in range(rounds) for c in cases]

    for c in cases[:20]:  # warm up every path
        bot.ask(c.question, list(c.history))
        baseline.ask(c.question)
    # interleave the three measurements so machine noise hits them alike
    ours, tutorial, forward = [], [], []
    for c in items:
        ours += timed(lambda c: bot.ask(c.question, list(c.history)), [c])
        tutorial += timed(lambda c: baseline.ask(c.question), [c])
        forward += timed(lambda c: bot.embedder.encode([c.question]), [c])

    quality = evaluate.run(bot, cases)
    base_quality = evaluate_baseline(baseline, cases)

    rows = [
        ("ask (ours)", ours),
        ("tutorial baseline ask", tutorial),
        ("model forward pass alone", forward),
    ]
    lines = [
        "# Benchmarks",
        "",
        f"Machine: {machine()}.",
        f"Command: `make bench{' QUICK=1' if args.quick else ''}` ({len(items)} questions per row, warm, in one process; "
        "the three rows are interleaved question by question).",
        "",
        "## In-process latency",
        "",
        "| path | p50 ms | p95 ms |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {statistics.median(v):.1f} | {percentile(v, 0.95):.1f} |" for name, v in rows]
    ratio_base = statistics.median(ours) / statistics.median(tutorial)
    ratio_fwd = statistics.median(ours) / statistics.median(forward)
    lines += [
        "",
        f"- ours / tutorial baseline (p50): {ratio_base:.2f}x",
        f"- ours / forward pass (p50): {ratio_fwd:.2f}x (the forward pass is the physical limit)",
        "",
        f"## Answer quality on the dev set ({len(cases)} cases, eval/questions.jsonl)",
        "",
        "| metric | ours | tutorial baseline |",
        "| --- | ---: | ---: |",
    ]
    for key in ("hit@1", "hit@3", "abstention_recall", "false_abstention"):
        lines.append(f"| {key} | {quality[key]:.3f} | {base_quality[key]:.3f} |")
    lines.append(f"| answer contains expected phrase | {quality['answer_contains_expected']:.3f} | n/a |")
    report = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
