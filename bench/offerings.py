"""What the [offerings] net costs: once per index at state build, and per question. No model is loaded.

Synthetic passages (bench/synthetic.py, guide words) in a real KeywordIndex; the state-build cost of
Topics.unnamed_offerings is compared with Topics.general_documents, the pass over every passage's words that
state build already makes, in the same run. Medians of --repeat runs.

    python bench/offerings.py 1000 10000 100000 [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from synthetic import GUIDE, SentenceMaker  # noqa: E402


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def run(size: int, repeat: int) -> dict:
    from assistant.policy import asked_offering, load_topics
    from assistant.records import Passage
    from assistant.search import KeywordIndex

    maker = SentenceMaker(GUIDE.read_text(encoding="utf-8"), seed=5)
    texts = [maker.sentence() for _ in range(size)]
    passages = [Passage(f"notes.txt#{i}", "notes.txt", None, t) for i, t in enumerate(texts)]
    keywords = KeywordIndex.fit(texts)
    topics = load_topics()
    unnamed = topics.unnamed_offerings(keywords, texts.__getitem__)
    question = "do you have a loyalty card or a sauna?"
    return {
        "passages": size,
        "offerings": len(topics.offerings),
        "unnamed": len(unnamed),
        "state_build_unnamed_offerings_ms": round(
            median_ms(lambda: topics.unnamed_offerings(keywords, texts.__getitem__), repeat), 2),
        "state_build_general_documents_ms": round(
            median_ms(lambda: topics.general_documents(passages, {}), repeat), 2),
        "per_question_asked_offering_ms": round(
            median_ms(lambda: asked_offering(question, topics.offerings, unnamed), repeat * 20), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", type=int, nargs="+")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for size in args.sizes:
        row = run(size, args.repeat)
        row["ratio_to_general_documents"] = round(
            row["state_build_unnamed_offerings_ms"] / row["state_build_general_documents_ms"], 3)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
