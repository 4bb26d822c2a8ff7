"""Scale: synthetic corpora of 1,000 / 10,000 / 100,000 passages, built and then served in fresh processes.

For each size: build time and peak memory (a `build` subprocess, progress bar on the terminal), index size
on disk, load time, resident memory while serving, ask / retrieve / vector-search latency, and recall@10 of
the saved vector index against exact search (IndexFlatIP over the same vectors) on the same queries.

    python bench/scale.py 1000 10000 100000 [--work /tmp/massage-scale]     # parent: prints one JSON per size
    python bench/scale.py --build CORPUS INDEX                              # child: build, print JSON
    python bench/scale.py --serve CORPUS INDEX --queries 200                # child: load, query, print JSON
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import PY, ROOT, env, median, percentile, proc_memory  # noqa: E402

DEFAULT_WORK = Path("/tmp/massage-scale")
SEED = 5


def _questions(passages, count: int, seed: int) -> list[str]:
    """Half dev-set questions, half questions made from a random stretch of a random passage."""
    from assistant import evaluate

    rng = random.Random(seed)
    dev = [c.question for c in evaluate.load_cases(ROOT / "eval" / "questions.jsonl") if c.answerable]
    out = [dev[i % len(dev)] for i in range(count // 2)]
    starters = ("what about", "tell me about", "is it true that", "how does", "why do")
    while len(out) < count:
        words = rng.choice(passages).text.rstrip(".").split()
        start = rng.randrange(max(1, len(words) - 5))
        out.append(f"{rng.choice(starters)} {' '.join(words[start:start + rng.randint(3, 6)])}?")
    rng.shuffle(out)
    return out


class CountingEmbedder:
    """Wraps the real embedder and counts texts, so serving can prove it never re-embeds the corpus."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.texts = 0
        self.largest_call = 0

    def encode(self, texts, *args, **kwargs):
        self.texts += len(texts)
        self.largest_call = max(self.largest_call, len(texts))
        return self.inner.encode(texts, *args, **kwargs)


def child_build(corpus_dir: Path, index_dir: Path) -> dict:
    from assistant.embedder import SentenceEmbedder
    from assistant.store import open_index

    embedder = SentenceEmbedder()
    start = time.perf_counter()
    index = open_index(corpus_dir, index_dir, embedder, force=True)
    seconds = time.perf_counter() - start
    build_dir = index_dir / index.manifest["build"]
    files = {p.name: p.stat().st_size for p in build_dir.rglob("*") if p.is_file()}
    return {
        "build_s": seconds,
        "passages": len(index.passages),
        "vectors": index.vectors.size,
        "paragraph_vectors": int(index.paragraphs.shape[0]),
        "index_kind": index.vectors.kind,
        "disk_mib": sum(files.values()) / 2**20,
        "disk_files_mib": {k: round(v / 2**20, 2) for k, v in sorted(files.items())},
        "build_peak_rss_mib": proc_memory()["peak_rss_mib"],
    }


def child_serve(corpus_dir: Path, index_dir: Path, queries: int) -> dict:
    import numpy as np

    from assistant import Assistant
    from assistant.embedder import SentenceEmbedder

    embedder = CountingEmbedder(SentenceEmbedder())
    before = json.loads((index_dir / "manifest.json").read_text())["build"]
    start = time.perf_counter()
    bot = Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, embedder=embedder)
    load_s = time.perf_counter() - start
    embedded_on_load = embedder.texts  # must stay 0: loading never re-embeds
    rebuilt = bot.index.manifest["build"] != before
    mem_loaded = proc_memory()

    questions = _questions(bot.index.passages, queries, SEED)
    for q in questions[:10]:  # warm up: model load, first FAISS and BM25 calls
        bot.ask(q)
    ask_ms, retrieve_ms, search_ms, encode_ms = [], [], [], []
    ask_cpu, retrieve_cpu, encode_cpu = [], [], []
    from assistant.retrieval import Query

    vectors = bot.index.vectors
    qvecs = []
    for q in questions:
        t0, c0 = time.perf_counter(), time.process_time()
        bot.ask(q)
        t1, c1 = time.perf_counter(), time.process_time()
        bot.retriever.retrieve(Query(q, q))
        t2, c2 = time.perf_counter(), time.process_time()
        v = embedder.encode([q])
        t3, c3 = time.perf_counter(), time.process_time()
        vectors.search(v, 60)  # the depth retrieval asks for: 3 x candidates
        t4 = time.perf_counter()
        ask_cpu.append((c1 - c0) * 1000)
        retrieve_cpu.append((c2 - c1) * 1000)
        encode_cpu.append((c3 - c2) * 1000)
        ask_ms.append((t1 - t0) * 1000)
        retrieve_ms.append((t2 - t1) * 1000)
        encode_ms.append((t3 - t2) * 1000)
        search_ms.append((t4 - t3) * 1000)
        qvecs.append(v[0])
    mem_serving = proc_memory()

    # recall@10 of the saved index against exact inner-product search over the very same vectors
    import faiss

    qmat = np.ascontiguousarray(np.stack(qvecs), dtype=np.float32)
    all_vectors = vectors.reconstruct(list(range(vectors.size)))
    exact = faiss.IndexFlatIP(all_vectors.shape[1])
    exact.add(all_vectors)
    _, truth = exact.search(qmat, 10)
    _, found = vectors.search(qmat, 10)
    recall = float(np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found)]))
    exact_ms = []
    for v in qmat[:50]:
        t = time.perf_counter()
        exact.search(v[None, :], 60)
        exact_ms.append((time.perf_counter() - t) * 1000)
    return {
        "load_s": load_s,
        "rebuilt_on_load": rebuilt,
        "texts_embedded_on_load": embedded_on_load,
        "largest_encode_call": embedder.largest_call,  # 2 at most: a question, or a follow-up and its fold
        "queries": len(questions),
        "index_kind": vectors.kind,
        "rss_loaded_mib": mem_loaded["rss_mib"],
        "rss_serving_mib": mem_serving["rss_mib"],
        "peak_rss_mib": mem_serving["peak_rss_mib"],
        "ask_cpu_p50_ms": median(ask_cpu),
        "retrieve_cpu_p50_ms": median(retrieve_cpu),
        "encode_cpu_p50_ms": median(encode_cpu),
        "ask_p50_ms": median(ask_ms),
        "ask_p95_ms": percentile(ask_ms, 0.95),
        "retrieve_p50_ms": median(retrieve_ms),
        "retrieve_p95_ms": percentile(retrieve_ms, 0.95),
        "encode_p50_ms": median(encode_ms),
        "search_p50_ms": median(search_ms),
        "search_p95_ms": percentile(search_ms, 0.95),
        "exact_search_p50_ms": median(exact_ms),
        "recall_at_10": recall,
    }


def _child(flag: str, corpus_dir: Path, index_dir: Path, *extra: str, log: Path | None = None) -> dict:
    """Run this file as a child process; its last stdout line is its JSON result. Stderr (the progress bar) passes
    through to the terminal, or to `log`."""
    err = open(log, "ab") if log else None
    start = time.perf_counter()
    proc = subprocess.run(
        [PY, __file__, flag, str(corpus_dir), str(index_dir), *extra],
        cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=err, check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{flag} child failed with exit code {proc.returncode} (see {log or 'stderr'})")
    result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    result[f"{flag.strip('-')}_process_wall_s"] = wall
    return result


def run_size(size: int, work: Path, queries: int, log: Path | None = None, reuse: bool = False) -> dict:
    """Generate (once per seed), build, then serve. With `reuse`, a build already made in `work` is served again and
    its recorded build figures are kept (work/build-SIZE.json)."""
    from synthetic import generate

    corpus_dir = work / f"corpus-{size}"
    index_dir = work / f"index-{size}"
    stamp = corpus_dir / ".generated"
    if not stamp.exists() or stamp.read_text() != f"{size} {SEED}":
        subprocess.run(["rm", "-rf", str(corpus_dir), str(index_dir)], check=True)
        generate(size, corpus_dir, SEED)
        stamp.write_text(f"{size} {SEED}")
    result = {"size": size, "corpus": str(corpus_dir)}
    recorded = work / f"build-{size}.json"
    if reuse and recorded.exists() and (index_dir / "manifest.json").exists():
        result.update(json.loads(recorded.read_text()))
        result["build_reused"] = True
    else:
        build = _child("--build", corpus_dir, index_dir, log=log)
        build["built_by"] = f"bench/scale.py --build (at {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})"
        recorded.write_text(json.dumps(build))
        result.update(build)
    result.update(_child("--serve", corpus_dir, index_dir, "--queries", str(queries), log=log))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int)
    parser.add_argument("--build", nargs=2, type=Path, metavar=("CORPUS", "INDEX"))
    parser.add_argument("--serve", nargs=2, type=Path, metavar=("CORPUS", "INDEX"))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    args = parser.parse_args()
    if args.build:
        print(json.dumps(child_build(*args.build)))
    elif args.serve:
        print(json.dumps(child_serve(*args.serve, args.queries)))
    else:
        for size in args.sizes:
            print(json.dumps(run_size(size, args.work, args.queries)), flush=True)


if __name__ == "__main__":
    main()
