"""Benchmarks: in-process latency, HTTP throughput, cold start, scale to 100,000 passages, and memory.
Prints a table per section and writes every figure to docs/benchmarks.md (results kept in bench/results/).

    make bench                                   # everything (the 100,000-passage build takes a while)
    make bench QUICK=1                           # smoke test: fewer questions, shorter levels, 1,000 passages;
                                                 # writes /tmp/massage-bench/quick/, never the committed figures
    .venv/bin/python bench/run.py --only http coldstart
    .venv/bin/python bench/run.py --only engines        # sentence-transformers, NumpyBert, ONNX fp32 and int8
    .venv/bin/python bench/run.py --only scale --sizes 1000 10000 100000
    .venv/bin/python bench/run.py --render       # rewrite docs/benchmarks.md from bench/results/
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))
for key, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}.items():
    os.environ.setdefault(key, value)

import common  # noqa: E402

SECTIONS = ("latency", "engines", "http", "profile", "coldstart", "scale", "memory", "publish", "grouping")
RESULTS = BENCH / "results"  # full runs; docs/benchmarks.md is rendered from these
QUICK_RESULTS = Path("/tmp/massage-bench/quick")  # a quick run is a smoke test: it never overwrites the full figures
TITLES = {
    "latency": "1. In-process `ask` latency",
    "engines": "1b. The model's engine: sentence-transformers, NumpyBert, ONNX Runtime fp32 and int8",
    "http": "2. HTTP throughput (`POST /api/ask`)",
    "profile": "2b. Where the server's CPU goes at 16 clients (py-spy)",
    "coldstart": "3. Cold start",
    "scale": "4. Scale: synthetic corpora",
    "memory": "5. Memory of the serving process (the guide)",
    "publish": "6. Publish to live (staff answer → cited)",
    "grouping": "7. Staff report grouping at 1k, 5k, 20k distinct questions",
}


def run_section(name: str, args: argparse.Namespace) -> dict:
    log_dir = Path(args.work) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    if name == "latency":
        import latency

        return latency.run(args.quick)
    if name == "engines":
        import engines

        return engines.run(args.quick, Path(args.work), log_dir)
    if name == "http":
        import http_load

        return http_load.run(args.quick, log_dir)
    if name == "profile":
        import profile_server

        return profile_server.run(args.quick, log_dir)
    if name == "coldstart":
        import coldstart

        return coldstart.run(args.quick)
    if name == "scale":
        import scale

        sizes = args.sizes or ([1_000] if args.quick else [1_000, 10_000, 100_000])
        out = {}
        for size in sizes:
            print(f"  scale: {size:,} passages (build log: {log_dir / f'scale-{size}.log'})", flush=True)
            out[str(size)] = scale.run_size(
                size, Path(args.work), 50 if args.quick else 200, log_dir / f"scale-{size}.log", args.reuse_builds
            )
        return {"sizes": out}
    if name == "memory":
        import memory

        return memory.run()
    if name == "publish":
        import staff

        return staff.run_publish(args.quick)
    if name == "grouping":
        import staff

        return staff.run_grouping(args.quick)
    raise ValueError(name)


def results_dir(quick: bool) -> Path:
    return QUICK_RESULTS if quick else RESULTS


def save(name: str, result: dict, args: argparse.Namespace, seconds: float) -> None:
    path = results_dir(args.quick) / f"{name}.json"
    if name == "scale" and path.exists():  # sizes measured in separate runs accumulate
        old = json.loads(path.read_text())
        result["sizes"] = {**old.get("result", {}).get("sizes", {}), **result["sizes"]}
    record = {
        "command": " ".join(["bench/run.py", *sys.argv[1:]]),
        "quick": args.quick,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": common.machine(),
        "section_seconds": seconds,
        "result": result,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")


def load_results(directory: Path) -> dict[str, dict]:
    return {n: json.loads((directory / f"{n}.json").read_text()) for n in SECTIONS if (directory / f"{n}.json").exists()}


def render(records: dict[str, dict], notes: bool = True) -> str:
    import report

    return report.document(records, TITLES, notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a fast pass: fewer questions, shorter levels, 1,000 passages")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run these sections (default: all)")
    parser.add_argument("--sizes", nargs="+", type=int, help="scale section corpus sizes")
    parser.add_argument("--work", default=os.environ.get("MASSAGE_BENCH_WORK", "/tmp/massage-bench"),
                        help="scratch directory for synthetic corpora, indexes and server logs")
    parser.add_argument("--reuse-builds", action="store_true", help="scale: serve indexes already built in --work again")
    parser.add_argument("--render", action="store_true", help="only rewrite the report from bench/results/")
    parser.add_argument("--out", help="report file (default docs/benchmarks.md; with --quick, in /tmp/massage-bench/quick)")
    args = parser.parse_args()
    out = Path(args.out) if args.out else (QUICK_RESULTS / "benchmarks.md" if args.quick else ROOT / "docs" / "benchmarks.md")

    if not args.render:
        from assistant import Assistant

        Assistant.load()  # make sure the guide's index is built before anything is timed
        for name in args.only or SECTIONS:
            print(f"== {TITLES[name]}", flush=True)
            start = time.perf_counter()
            result = run_section(name, args)
            save(name, result, args, time.perf_counter() - start)
    text = render(load_results(results_dir(args.quick)), notes=not args.quick)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(text)
    print(f"(written to {out})")


if __name__ == "__main__":
    main()
