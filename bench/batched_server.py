"""app.py with two knobs for the throughput benchmark: the shared concurrency gate's width, and the
BatchingEmbedder (concurrent questions share one forward pass). Everything else is the shipped app.

    python bench/batched_server.py --port 7870 [--concurrency 16] [--no-batching] [--window 0.002]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=16, help="questions answered at once (app.py: 2)")
    parser.add_argument("--no-batching", action="store_true", help="plain embedder, one forward pass per question")
    parser.add_argument("--window", type=float, default=0.002, help="seconds a lone question waits for company")
    args = parser.parse_args()

    import uvicorn

    from batching import BatchingEmbedder

    from assistant import Assistant, Settings
    from assistant.embedder import SentenceEmbedder
    from assistant.web import create_app

    settings = Settings.from_env(host="127.0.0.1", port=args.port)
    embedder = SentenceEmbedder(settings.model)
    if not args.no_batching:
        embedder = BatchingEmbedder(embedder, window=args.window)
    bot = Assistant.load(settings=settings, embedder=embedder)
    bot.ask("What should I wear?")
    app = create_app(bot, settings, concurrency=args.concurrency)
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
