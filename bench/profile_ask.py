"""Where an `ask` spends its time: pyinstrument over warm questions, in one process.

    .venv/bin/python bench/profile_ask.py [--rounds 3] [--corpus DIR --index DIR] [--out FILE.txt]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the dev set")
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--index", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from pyinstrument import Profiler

    from assistant import Assistant, evaluate

    cases = evaluate.load_cases(ROOT / "eval" / "questions.jsonl")
    bot = Assistant.load(corpus_dir=args.corpus, index_dir=args.index)
    for c in cases[:10]:
        bot.ask(c.question, list(c.history))
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(args.rounds):
        for c in cases:
            bot.ask(c.question, list(c.history))
    profiler.stop()
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
