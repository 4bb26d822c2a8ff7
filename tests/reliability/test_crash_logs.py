"""Crashes lose nothing: SIGKILL a writer mid-stream, then the SQLite log passes PRAGMA integrity_check, holds every
write that was acknowledged, and opens (or the server starts) again cleanly."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from clients import as_client
from servers import make_server

from assistant.questionlog import DB_NAME, QuestionLog

ROOT = Path(__file__).resolve().parents[2]

WRITER = r"""
import sys, threading
from assistant.questionlog import QuestionLog
from assistant.records import Reply

log = QuestionLog.open(sys.argv[1])
reply = Reply("An answer. [1]", False, ())
out = threading.Lock()

def write(worker):
    for n in range(1_000_000):
        ask = log.record(f"question {worker}-{n}", reply, 12.5, "test", f"c{worker}")
        feedback = log.feedback(ask, 1 if n % 2 else -1, f"comment {worker}-{n}")
        with out:  # acknowledged: both rows committed
            print(ask, feedback, flush=True)

threads = [threading.Thread(target=write, args=(w,)) for w in range(3)]
for t in threads:
    t.start()
"""


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(5))
def test_question_log_killed_mid_write_keeps_every_acknowledged_row(tmp_path, round_):
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    acked: list[tuple[str, int]] = []  # (ask token, feedback row id)
    stop_after = random.Random(round_).randint(20, 400)
    deadline = time.monotonic() + 60
    while len(acked) < stop_after and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        token, feedback_id = line.split()
        acked.append((token, int(feedback_id)))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert len(acked) >= stop_after, proc.stderr.read()[-2000:]
    print(f"\nkilled after {len(acked)} acknowledged question+rating pairs")

    db = tmp_path / DB_NAME
    assert integrity(db) == "ok"
    with sqlite3.connect(db) as conn:
        asks = {r[0] for r in conn.execute("SELECT token FROM asks")}
        feedback = {r[0]: r[1] for r in conn.execute("SELECT f.id, a.token FROM feedback f JOIN asks a ON a.id = f.ask_id")}
    for ask_id, feedback_id in acked:
        assert ask_id in asks
        assert feedback.get(feedback_id) == ask_id
    log = QuestionLog.open(tmp_path)  # opens again and takes writes
    assert log.feedback(log.record("after the crash", _reply(), 1.0, "test"), 1)
    log.close()


def _reply():
    from assistant.records import Reply

    return Reply("An answer.", False, ())


@pytest.mark.model
@pytest.mark.slow
def test_server_killed_under_questions_and_feedback_loses_no_acknowledged_write(tmp_path):
    server = make_server(tmp_path / "studio", rate_limit="0").start()
    acked_feedback: list[tuple[str, int, str]] = []  # (ask_id, rating, comment) the server said it stored
    acked_asks: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=server.url, timeout=30, headers=as_client(n)) as http:
            for i in range(10_000):
                if stop.is_set():
                    return
                try:
                    r = http.post("/api/ask", json={"question": rng.choice(["What should I wear?", "Is there research on sleep?",
                                                                             "What is shiatsu?", "how much is it?"])})
                    if r.status_code != 200:
                        continue
                    ask_id = r.headers["x-ask-id"]
                    with lock:
                        acked_asks.append(ask_id)
                    comment = f"client {n} note {i}"
                    rating = rng.choice((1, -1))
                    f = http.post("/api/feedback", json={"ask_id": ask_id, "rating": rating, "comment": comment})
                    if f.status_code == 200 and f.json() == {"stored": True}:
                        with lock:
                            acked_feedback.append((ask_id, rating, comment))
                except httpx.HTTPError:
                    return  # the server is gone

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(acked_feedback) < 150 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # mid-traffic: requests are in flight
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked_feedback) >= 150, server.log_text()[-2000:]

    db = server.data / DB_NAME
    assert integrity(db) == "ok"
    with sqlite3.connect(db) as conn:
        asks = {r[0] for r in conn.execute("SELECT token FROM asks")}
        stored = {(r[0], r[1], r[2]) for r in conn.execute(
            "SELECT a.token, f.rating, f.comment FROM feedback f JOIN asks a ON a.id = f.ask_id")}
    assert set(acked_asks) <= asks
    missing = [f for f in acked_feedback if f not in stored]
    assert missing == [], f"{len(missing)} acknowledged ratings lost, e.g. {missing[:3]}"
    print(f"\nkilled with {len(acked_asks)} acknowledged answers and {len(acked_feedback)} acknowledged ratings; "
          f"the database holds {len(asks)} answers and {len(stored)} ratings; integrity_check ok")

    server.start()  # same folders: starts cleanly on the log it left
    try:
        r = httpx.post(f"{server.url}/api/ask", json={"question": "What should I wear?"}, headers=as_client(99), timeout=60)
        assert r.status_code == 200
        f = httpx.post(f"{server.url}/api/feedback", json={"ask_id": r.headers["x-ask-id"], "rating": 1},
                       headers=as_client(99), timeout=60)
        assert f.json() == {"stored": True}
        assert r.headers["x-ask-id"] not in asks
    finally:
        server.stop()
    assert integrity(db) == "ok"
