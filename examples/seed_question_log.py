"""Fill a question log with two weeks of made-up client questions, so the staff view has something to show (for a
screenshot or a demo). Every question is really asked of the assistant; only the dates and thumbs are invented.

    MASSAGE_DATA_DIR=/tmp/demo-data .venv/bin/python examples/seed_question_log.py
    MASSAGE_DATA_DIR=/tmp/demo-data MASSAGE_STAFF_PASSWORD=demo .venv/bin/python app.py   # then open /staff

Never point it at a real studio's data folder: it adds questions nobody asked.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Assistant  # noqa: E402
from assistant.questionlog import QuestionLog  # noqa: E402
from assistant.settings import Settings  # noqa: E402

ANSWERED = [
    "What should I wear?", "what should i wear to a massage", "What is trigger point therapy?",
    "does massage help with sleep", "Is there research on massage for back pain?", "what is shiatsu",
    "will there be music during my massage?", "what happens at a first back massage", "what is swedish massage",
    "is the room dark or bright", "can massage help lower back pain", "what does deep tissue massage do",
]
UNANSWERED = [
    "Do you have a couples room?", "is there a room for couples", "couples massage available?",
    "Where can I park?", "is there parking nearby", "Do you sell gift cards?", "can I buy a gift voucher",
    "Can I bring my own music?", "can I play my own songs",
]
DAYS = 14


def main() -> None:
    settings = Settings.from_env()
    bot = Assistant.load(settings=settings)
    log = QuestionLog.open(settings.data_dir, retention_days=max(settings.retention_days, DAYS + 1))
    rng = random.Random(12)
    now = time.time()
    asked = 0
    for day in range(DAYS, -1, -1):
        # busier on later days; fewer questions go unanswered as staff publish answers
        for _ in range(rng.randint(6, 10) + (DAYS - day) // 2):
            unanswered = rng.random() < 0.15 + 0.35 * day / DAYS
            question = rng.choice(UNANSWERED if unanswered else ANSWERED)
            start = time.perf_counter()
            reply = bot.ask(question)
            ms = (time.perf_counter() - start) * 1000
            ask = log.record(question, reply, ms, rng.choice(["chat", "widget", "api"]),
                             now=now - day * 86400 - rng.uniform(0, 8 * 3600))
            if not reply.abstained and rng.random() < 0.08:
                log.feedback(ask, -1, rng.choice(["", "didn't answer my question", "too vague"]))
            elif not reply.abstained and rng.random() < 0.3:
                log.feedback(ask, 1)
            asked += 1
    log.close()
    print(f"Logged {asked} questions over {DAYS + 1} days in {settings.data_dir}")


if __name__ == "__main__":
    main()
