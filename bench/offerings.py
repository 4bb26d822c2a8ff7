"""What the [offerings] net costs: once per index at state build, and per question. No model is loaded.

Synthetic passages (bench/synthetic.py, guide words) in a real KeywordIndex; the state-build cost of
Topics.unnamed_offerings is compared with Topics.general_documents, the pass over every passage's words that
state build already makes, in the same run. Medians of --repeat runs.

    python bench/offerings.py 1000 10000 100000 [--repeat 5]
    python bench/offerings.py --ask eval/corpora/guide    # real model: ask p50 with the net and without, same run
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


def ask_overhead(corpus: Path, rounds: int = 3) -> dict:
    """Assistant.ask on a dev corpus's questions (real model, its index under index/eval), with the net and with
    it switched off, interleaved round by round in one process."""
    from assistant import engine
    from assistant.evaluate import load_cases
    from assistant.settings import Settings

    settings = Settings().replace(corpus_dir=corpus / "corpus", index_dir=Path("index/eval") / corpus.name)
    bot = engine.Assistant.load(settings=settings)
    questions = [c.question for c in load_cases(corpus / "questions.jsonl")]
    real = engine.asked_offering
    for q in questions[:20]:  # warm up
        bot.ask(q)
    times: dict[str, list[float]] = {"with": [], "without": []}
    try:
        for _ in range(rounds):
            for label, check in (("with", real), ("without", lambda *args: None)):
                engine.asked_offering = check
                for q in questions:
                    t0 = time.perf_counter()
                    bot.ask(q)
                    times[label].append((time.perf_counter() - t0) * 1000)
    finally:
        engine.asked_offering = real
    with_ms, without_ms = statistics.median(times["with"]), statistics.median(times["without"])
    return {"corpus": corpus.name, "asks": len(times["with"]), "ask_p50_with_net_ms": round(with_ms, 2),
            "ask_p50_without_ms": round(without_ms, 2), "ratio": round(with_ms / without_ms, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", type=int, nargs="*")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--ask", type=Path, help="a dev corpus folder: time ask with the net and without")
    args = parser.parse_args()
    if args.ask:
        print(json.dumps(ask_overhead(args.ask)), flush=True)
    for size in args.sizes:
        row = run(size, args.repeat)
        row["ratio_to_general_documents"] = round(
            row["state_build_unnamed_offerings_ms"] / row["state_build_general_documents_ms"], 3)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
