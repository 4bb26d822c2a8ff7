"""`python bench/serve_engine.py ENGINE [app.py flags]`: app.py as shipped, but with the model on another engine,
so bench/engines.py can compare servers in the same run. ENGINE: onnx (as shipped), onnx-int8 (a dynamically
quantised export; not offered as a setting, as it loses answers on the dev set), numpy-bert (the engine before
issue 13) or sentence-transformers.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(ROOT), str(BENCH)]

ENGINES = ("onnx", "onnx-int8", "numpy-bert", "sentence-transformers")


def main() -> None:
    engine, flags = sys.argv[1], sys.argv[2:]
    if engine not in ENGINES:
        raise SystemExit(f"engine {engine!r} is not one of {ENGINES}")
    import assistant.engine

    if engine == "onnx-int8":
        from assistant.embedder import SentenceEmbedder

        assistant.engine.SentenceEmbedder = lambda model="", threads=1: SentenceEmbedder(
            model, threads=threads, quantize="int8"
        )
    elif engine == "numpy-bert":
        from numpy_bert import NumpyBertEmbedder

        assistant.engine.SentenceEmbedder = lambda model="", threads=1: NumpyBertEmbedder(threads or 1)
    elif engine == "sentence-transformers":
        from assistant.embedder import SentenceEmbedder

        assistant.engine.SentenceEmbedder = lambda model="", threads=1: SentenceEmbedder(
            model, backend="sentence-transformers", threads=threads
        )
    sys.argv = [str(ROOT / "app.py"), *flags]
    runpy.run_path(str(ROOT / "app.py"), run_name="__main__")


if __name__ == "__main__":
    main()
