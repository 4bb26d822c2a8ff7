"""The SQLite question log: records, feedback, retention, migrations, grouping and CSV export."""

from __future__ import annotations

import csv
import io
import sqlite3
import time

import numpy as np
import pytest

from assistant.questionlog import DB_NAME, MIGRATIONS, SCHEMA_VERSION, LogError, QuestionLog
from assistant.records import Citation, Reply

ANSWER = Reply("Loose clothing. [1]", False, (Citation("guide.txt", "Wear", "Loose clothing.", 0.8, (), "guide.txt#3"),))
ABSTAIN = Reply("Sorry, I can't answer that from our guide.", True, kind="out_of_scope")
MEDICAL = Reply("Please ask your doctor.", True, kind="medical")
DAY = 86400.0


@pytest.fixture
def log(tmp_path):
    q = QuestionLog.open(tmp_path)
    yield q
    q.close()


def test_records_every_field_and_nothing_identifying(log, tmp_path):
    ask = log.record("What should I wear?", ANSWER, 12.5, "widget", conversation="c0ffee")
    [row] = log.rows()
    assert row["id"] == ask
    assert (row["question"], row["abstained"], row["kind"], row["surface"], row["conversation"]) == (
        "What should I wear?", 0, "answer", "widget", "c0ffee")
    assert row["latency_ms"] == 12.5
    assert row["citations"] == '[{"id": "guide.txt#3", "score": 0.8}]'
    columns = {r[1] for r in sqlite3.connect(tmp_path / DB_NAME).execute("PRAGMA table_info(asks)")}
    assert not columns & {"ip", "address", "user_agent", "cookie"}


def test_wal_mode(log, tmp_path):
    assert sqlite3.connect(tmp_path / DB_NAME).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_feedback_is_stored_against_the_answer_and_counted(log):
    a = log.record("q1", ANSWER, 10, "chat")
    b = log.record("q2", ABSTAIN, 30, "api")
    log.feedback(a, 1)
    log.feedback(b, -1, "  wanted prices  ")
    rows = {r["id"]: r for r in log.rows()}
    assert (rows[a]["up"], rows[a]["down"]) == (1, 0)
    assert (rows[b]["up"], rows[b]["down"], rows[b]["comments"]) == (0, 1, "wanted prices")
    assert log.counts() == {"questions": 2, "abstentions": 1, "thumbs_up": 1, "thumbs_down": 1, "p50_latency_ms": 20.0}


def test_feedback_for_an_unknown_answer_or_bad_rating_is_refused(log):
    a = log.record("q", ANSWER, 1, "chat")
    with pytest.raises(LogError, match="No asked question"):
        log.feedback(a + 100, 1)
    with pytest.raises(LogError, match="1 .thumbs up. or -1"):
        log.feedback(a, 5)
    assert log.counts()["thumbs_up"] == 0


def test_retention_deletes_only_old_rows(tmp_path):
    log = QuestionLog.open(tmp_path, retention_days=30)
    now = time.time()
    old = log.record("old", ANSWER, 1, "chat", now=now - 31 * DAY)
    log.feedback(old, -1, now=now - 31 * DAY)
    recent = log.record("recent", ANSWER, 1, "chat", now=now - 29 * DAY)
    assert log.purge(now=now) == 1
    assert [r["id"] for r in log.rows()] == [recent]
    assert log.counts()["thumbs_down"] == 0


def test_logging_off_stores_nothing(tmp_path):
    log = QuestionLog.open(tmp_path / "data", enabled=False)
    assert log.record("q", ANSWER, 1, "chat") is None
    assert log.feedback(1, 1) is None
    assert log.rows() == []
    assert not (tmp_path / "data").exists()


def test_an_older_database_is_upgraded_in_place(tmp_path):
    conn = sqlite3.connect(tmp_path / DB_NAME)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO asks (ts, conversation, question, abstained, citations, latency_ms, surface) "
                 "VALUES (?, 'c', 'kept from v1', 0, '[]', 5, 'chat')", (time.time(),))
    conn.commit()
    conn.close()
    log = QuestionLog.open(tmp_path)
    [row] = log.rows()
    assert (row["question"], row["kind"]) == ("kept from v1", "answer")
    assert sqlite3.connect(tmp_path / DB_NAME).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_newer_database_is_refused_with_a_clear_message(tmp_path):
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(LogError, match="newer version of the assistant.*MASSAGE_DATA_DIR"):
        QuestionLog.open(tmp_path)


VECTORS = {
    "how much is it": [1, 0, 0],
    "what does it cost": [0.9, 0.1, 0],
    "price of a massage?": [0.95, 0, 0.05],
    "do you have parking": [0, 1, 0],
    "what should I wear": [0, 0, 1],
}


def fake_encode(texts):
    v = np.array([VECTORS[t] for t in texts], dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_unanswered_and_rated_down_questions_group_by_meaning(log):
    for q in ["how much is it", "what does it cost", "how much is it", "price of a massage?", "do you have parking"]:
        log.record(q, ABSTAIN, 1, "chat")
    log.record("I'm pregnant", MEDICAL, 1, "chat")  # a deliberate referral, not a gap to fill
    down = log.record("what should I wear", ANSWER, 1, "chat")
    log.feedback(down, -1)
    log.record("what should I wear", ANSWER, 1, "chat")  # answered and not rated down: not in the report
    groups = log.groups(fake_encode)
    assert [(g.count, g.example) for g in groups] == [(4, "how much is it"), (1, "do you have parking"),
                                                      (1, "what should I wear")]
    assert groups[0].questions == ("how much is it", "what does it cost", "price of a massage?")
    assert groups[2].down_votes == 1


def test_csv_export_has_a_row_per_question_and_defuses_formulas(log):
    log.record("=HYPERLINK(\"http://x\")", ABSTAIN, 3, "api")
    log.record("What should I wear?", ANSWER, 4, "chat")
    out = io.StringIO()
    assert log.export_csv(out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["question"] for r in rows] == ["'=HYPERLINK(\"http://x\")", "What should I wear?"]
    assert rows[0]["surface"] == "api" and rows[0]["abstained"] == "1"


def test_unknown_surface_is_refused(log):
    with pytest.raises(LogError, match="Unknown surface"):
        log.record("q", ANSWER, 1, "fax")
