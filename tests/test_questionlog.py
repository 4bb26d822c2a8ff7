"""The SQLite question log: records, feedback, retention, migrations, grouping and CSV export."""

from __future__ import annotations

import csv
import io
import sqlite3
import time

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
    assert row["token"] == ask and len(ask) >= 16 and ask != str(row["id"])
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
    rows = {r["token"]: r for r in log.rows()}
    assert (rows[a]["up"], rows[a]["down"]) == (1, 0)
    assert (rows[b]["up"], rows[b]["down"], rows[b]["comments"]) == (0, 1, "wanted prices")
    assert log.counts() == {"questions": 2, "abstentions": 1, "thumbs_up": 1, "thumbs_down": 1, "p50_latency_ms": 20.0}


def test_feedback_for_an_unknown_answer_or_bad_rating_is_refused(log):
    a = log.record("q", ANSWER, 1, "chat")
    with pytest.raises(LogError, match="No asked question"):
        log.feedback(a[::-1] if a[::-1] != a else "A" * 22, 1)
    for row_number in (1, "1", True, None, 2**63):  # the row number is not an ask id, nor anything but the token
        with pytest.raises(LogError, match="X-Ask-Id"):
            log.feedback(row_number, 1)
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
    assert [r["token"] for r in log.rows()] == [recent]
    assert log.counts()["thumbs_down"] == 0


def test_logging_off_stores_nothing(tmp_path):
    log = QuestionLog.open(tmp_path / "data", enabled=False)
    assert log.record("q", ANSWER, 1, "chat") is None
    assert log.feedback("A" * 22, 1) is None
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


def test_a_database_in_the_previous_schema_gets_tokens_and_keeps_only_the_latest_rating(tmp_path):
    conn = sqlite3.connect(tmp_path / DB_NAME)
    for migration in MIGRATIONS[:2]:
        for statement in migration:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    for n in (1, 2):
        conn.execute("INSERT INTO asks (ts, conversation, question, abstained, kind, citations, latency_ms, surface) "
                     "VALUES (?, 'c', ?, 0, 'answer', '[]', 5, 'chat')", (time.time(), f"question {n}"))
    # the old schema stored every click: a thumb up, then a change of mind with a comment
    conn.execute("INSERT INTO feedback (ask_id, ts, rating, comment) VALUES (1, 1, 1, '')")
    conn.execute("INSERT INTO feedback (ask_id, ts, rating, comment) VALUES (1, 2, -1, 'wrong after all')")
    conn.commit()
    conn.close()
    log = QuestionLog.open(tmp_path)
    rows = log.rows()
    assert [(r["question"], r["up"], r["down"], r["comments"]) for r in rows] == [
        ("question 1", 0, 1, "wrong after all"), ("question 2", 0, 0, "")]
    tokens = [r["token"] for r in rows]
    assert all(len(t) == 32 for t in tokens) and tokens[0] != tokens[1]
    log.feedback(tokens[1], 1, "clear")
    log.feedback(tokens[1], -1)  # a changed thumb replaces the earlier one, keeping its comment
    assert [(r["up"], r["down"], r["comments"]) for r in log.rows()][1] == (0, 1, "clear")
    assert log.record("new", ANSWER, 1, "chat") not in tokens
    log.close()
    assert sqlite3.connect(tmp_path / DB_NAME).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_the_reply_margin_is_recorded_when_the_reply_has_one(log):
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class WithMargin(Reply):
        margin: float = 0.0

    log.record("narrow", WithMargin("Yes. [1]", False, ANSWER.citations, margin=0.012), 1, "chat")
    log.record("no margin", ANSWER, 1, "chat")
    assert [r["margin"] for r in log.rows()] == [0.012, getattr(ANSWER, "margin", None)]  # None before Reply had one


def test_a_newer_database_is_refused_with_a_clear_message(tmp_path):
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(LogError, match="newer version of the assistant.*MASSAGE_DATA_DIR"):
        QuestionLog.open(tmp_path)


def test_csv_export_has_a_row_per_question_and_defuses_formulas(log):
    log.record("=HYPERLINK(\"http://x\")", ABSTAIN, 3, "api")
    log.record("What should I wear?", ANSWER, 4, "chat")
    out = io.StringIO()
    assert log.export_csv(out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["question"] for r in rows] == ["'=HYPERLINK(\"http://x\")", "What should I wear?"]
    assert rows[0]["surface"] == "api" and rows[0]["abstained"] == "1"


@pytest.mark.parametrize(
    "question",
    ["\u200b=cmd|' /C calc'!A0", "\ufeff+1+1", "\u202e@SUM(A1)", "\uff1dHYPERLINK(\"http://x\")", "\uff0b1", "\u00a0-2+3",
     "\u2060\u200b\uff20x", "\tx", "\rx"],
)
def test_csv_defuses_formulas_behind_invisible_characters_or_lookalikes(log, question):
    log.record(question, ABSTAIN, 3, "api")
    out = io.StringIO()
    log.export_csv(out)
    [row] = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["question"] == "'" + question


@pytest.mark.parametrize("question", ["What should I wear?", "1 + 1 massages?", "Is A=B?", "\u200bHello"])
def test_csv_leaves_ordinary_questions_alone(log, question):
    log.record(question, ABSTAIN, 3, "api")
    out = io.StringIO()
    log.export_csv(out)
    [row] = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["question"] == question


def test_unknown_surface_is_refused(log):
    with pytest.raises(LogError, match="Unknown surface"):
        log.record("q", ANSWER, 1, "fax")
