"""What clients asked and how they rated it: a SQLite log (WAL mode) in the data directory.

No IP addresses and no cookies: a question is tied only to an anonymous conversation id the surface makes up.
Schema changes are numbered migrations recorded in PRAGMA user_version.
"""

from __future__ import annotations

import csv
import json
import re
import secrets
import sqlite3
import statistics
import threading
import time
import unicodedata

import numpy as np
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from assistant.errors import AssistantError
from assistant.records import Reply

DB_NAME = "questions.sqlite3"

# Each entry upgrades the schema from version i to i + 1. Never edit one that has shipped; append.
MIGRATIONS: list[list[str]] = [
    [  # 1: questions and thumbs
        """CREATE TABLE asks (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,
            conversation TEXT NOT NULL,
            question TEXT NOT NULL,
            abstained INTEGER NOT NULL,
            citations TEXT NOT NULL,
            latency_ms REAL NOT NULL,
            surface TEXT NOT NULL
        )""",
        """CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            ask_id INTEGER NOT NULL REFERENCES asks(id) ON DELETE CASCADE,
            ts REAL NOT NULL,
            rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
            comment TEXT NOT NULL DEFAULT ''
        )""",
    ],
    [  # 2: why it abstained, and faster period queries
        "ALTER TABLE asks ADD COLUMN kind TEXT NOT NULL DEFAULT 'answer'",
        "CREATE INDEX asks_ts ON asks(ts)",
        "CREATE INDEX feedback_ask ON feedback(ask_id)",
    ],
    [  # 3: unguessable ask tokens, the reply's decision margin, one rating per answer (the latest wins)
        "ALTER TABLE asks ADD COLUMN token TEXT",
        "UPDATE asks SET token = lower(hex(randomblob(16))) WHERE token IS NULL",
        "CREATE UNIQUE INDEX asks_token ON asks(token)",
        "ALTER TABLE asks ADD COLUMN margin REAL",
        "DELETE FROM feedback WHERE id NOT IN (SELECT MAX(id) FROM feedback GROUP BY ask_id)",
        "DROP INDEX feedback_ask",
        "CREATE UNIQUE INDEX feedback_one_per_ask ON feedback(ask_id)",
    ],
    [  # 4: question vectors for the staff report, kept so a restart doesn't embed every logged question again
        """CREATE TABLE question_vectors (
            question TEXT NOT NULL,
            model TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (question, model)
        ) WITHOUT ROWID""",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)
SURFACES = ("chat", "widget", "api", "cli", "staff", "test")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # what an ask id looks like: random, never a row number


class LogError(AssistantError):
    """The question log can't be opened or written as asked."""


@dataclass
class QuestionLog:
    path: Path | None  # None: logging is off and nothing is stored
    retention_days: int = 90
    _conn: sqlite3.Connection | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def open(cls, data_dir: Path, enabled: bool = True, retention_days: int = 90) -> QuestionLog:
        if not enabled:
            return cls(None, retention_days)
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        log = cls(data_dir / DB_NAME, retention_days)
        log._connect()
        log.purge()
        return log

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def _connect(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # a committed row survives a killed process
        conn.execute("PRAGMA foreign_keys=ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            conn.close()
            raise LogError(
                f"{self.path} was written by a newer version of the assistant (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade the app or set MASSAGE_DATA_DIR to another folder"
            )
        for target in range(version, SCHEMA_VERSION):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in MIGRATIONS[target]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target + 1}")
                conn.execute("COMMIT")
            except Exception:
                conn.execute("ROLLBACK")
                raise
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _write(self, sql: str, params: tuple) -> int:
        with self._lock:
            cur = self._conn.execute(sql, params)
            return int(cur.lastrowid)

    def record(
        self, question: str, reply: Reply, latency_ms: float, surface: str, conversation: str = "", now: float | None = None,
        model: str = "",
    ) -> str | None:
        """Store one asked question, and its vector under `model` when the reply carries one; returns its ask id (a
        random token) for feedback, or None when logging is off."""
        if not self.enabled:
            return None
        if surface not in SURFACES:
            raise LogError(f"Unknown surface {surface!r}; use one of {', '.join(SURFACES)}")
        citations = json.dumps([{"id": c.passage_id, "score": round(c.score, 4)} for c in reply.citations[:3]])
        margin = getattr(reply, "margin", None)  # the engine's decision margin, when the Reply carries one
        token = secrets.token_urlsafe(16)
        self._write(
            "INSERT INTO asks (ts, conversation, question, abstained, kind, citations, latency_ms, surface, token, "
            "margin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (now or time.time(), _storable(conversation[:64]), _storable(question), int(reply.abstained), reply.kind,
             citations, float(latency_ms), surface, token, None if margin is None else float(margin)),
        )
        vector = getattr(reply, "vector", None)  # embedded to answer it: the staff report needn't embed it again
        if vector is not None and model:
            self.keep_vectors({_storable(question): vector}, model)
        return token

    def feedback(self, ask_id: str, rating: int, comment: str = "", now: float | None = None) -> int | None:
        """Store a thumbs up (1) or down (-1) against an asked question, by its ask id. One rating per answer: a
        changed thumb replaces the earlier one; a comment, once given, is kept unless a new one replaces it."""
        if not self.enabled:
            return None
        if not isinstance(ask_id, str) or not TOKEN.match(ask_id):
            raise LogError("An ask id is the X-Ask-Id text of an answer (16 to 64 letters, digits, - or _)")
        if rating not in (-1, 1):
            raise LogError("A rating is 1 (thumbs up) or -1 (thumbs down)")
        with self._lock:
            row = self._conn.execute("SELECT id FROM asks WHERE token = ?", (ask_id,)).fetchone()
            if row is None:
                raise LogError(f"No asked question with id {ask_id}; rate an answer the assistant gave")
            cur = self._conn.execute(
                "INSERT INTO feedback (ask_id, ts, rating, comment) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(ask_id) DO UPDATE SET ts = excluded.ts, rating = excluded.rating, "
                "comment = CASE WHEN excluded.comment != '' THEN excluded.comment ELSE feedback.comment END "
                "RETURNING id",
                (row[0], now or time.time(), rating, _storable(comment.strip()[:500])),
            )
            return int(cur.fetchone()[0])

    def purge(self, now: float | None = None) -> int:
        """Delete questions (and their feedback) older than the retention period."""
        if not self.enabled:
            return 0
        cutoff = (now or time.time()) - self.retention_days * 86400
        with self._lock:
            self._conn.execute("DELETE FROM feedback WHERE ask_id IN (SELECT id FROM asks WHERE ts < ?)", (cutoff,))
            deleted = self._conn.execute("DELETE FROM asks WHERE ts < ?", (cutoff,)).rowcount
            if deleted:  # a vector outlives no question it was made from
                self._conn.execute(
                    "DELETE FROM question_vectors WHERE question NOT IN (SELECT DISTINCT question FROM asks)"
                )
            return deleted

    def vectors(self, questions: list[str], model: str) -> dict[str, np.ndarray]:
        """The stored vectors of these questions for this model (those not stored are left out)."""
        if not self.enabled or not questions:
            return {}
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(questions), 500):
                chunk = questions[start : start + 500]
                rows = self._conn.execute(
                    f"SELECT question, vector FROM question_vectors WHERE model = ? AND question IN "
                    f"({','.join('?' * len(chunk))})",
                    (model, *chunk),
                ).fetchall()
                out.update((q, np.frombuffer(v, dtype=np.float32)) for q, v in rows)
        return out

    def keep_vectors(self, vectors: dict[str, np.ndarray], model: str) -> None:
        if not self.enabled or not vectors:
            return
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO question_vectors (question, model, vector) VALUES (?, ?, ?)",
                [(q, model, np.asarray(v, dtype=np.float32).tobytes()) for q, v in vectors.items()],
            )

    def without_vectors(self, model: str, since: float, limit: int) -> list[str]:
        """Distinct questions asked since `since` that have no stored vector for this model, most asked first."""
        if not self.enabled:
            return []
        with self._lock:
            rows = self._conn.execute(
                """SELECT question FROM asks a WHERE ts >= ? AND NOT EXISTS (
                       SELECT 1 FROM question_vectors v WHERE v.question = a.question AND v.model = ?)
                   GROUP BY question ORDER BY COUNT(*) DESC, MIN(id) LIMIT ?""",
                (since, model, limit),
            ).fetchall()
        return [r[0] for r in rows]

    def rows(self, since: float = 0.0, until: float | None = None) -> list[dict]:
        if not self.enabled:
            return []
        until = until or time.time() + 1
        with self._lock:
            cur = self._conn.execute(
                """SELECT a.id, a.token, a.ts, a.conversation, a.question, a.abstained, a.kind, a.citations,
                          a.latency_ms, a.surface, a.margin,
                          COALESCE(SUM(f.rating = 1), 0) AS up, COALESCE(SUM(f.rating = -1), 0) AS down,
                          COALESCE(GROUP_CONCAT(NULLIF(f.comment, ''), ' | '), '') AS comments
                   FROM asks a LEFT JOIN feedback f ON f.ask_id = a.id
                   WHERE a.ts >= ? AND a.ts < ? GROUP BY a.id ORDER BY a.ts""",
                (since, until),
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def counts(self, since: float = 0.0, until: float | None = None) -> dict:
        rows = self.rows(since, until)
        return {
            "questions": len(rows),
            "abstentions": sum(r["abstained"] for r in rows),
            "thumbs_up": sum(r["up"] for r in rows),
            "thumbs_down": sum(r["down"] for r in rows),
            "p50_latency_ms": round(statistics.median(r["latency_ms"] for r in rows), 1) if rows else None,
        }

    def export_csv(self, out: IO[str], since: float = 0.0, until: float | None = None) -> int:
        rows = self.rows(since, until)
        fields = ["id", "time", "conversation", "surface", "question", "abstained", "kind", "citations",
                  "latency_ms", "margin", "up", "down", "comments"]
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            row = {k: r[k] for k in fields if k in r}
            row["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r["ts"]))
            writer.writerow({k: _cell(v) for k, v in row.items()})
        return len(rows)


def _storable(text: str) -> str:
    """SQLite stores UTF-8: a lone surrogate (from JSON "\\udc80" or undecodable bytes) becomes "?" instead of failing."""
    return text.encode("utf-8", "replace").decode("utf-8")


_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n")


def _cell(value):
    """Keep a client's '=cmd…' from running as a formula when staff open the CSV in a spreadsheet, also when it
    hides behind invisible characters ("\u200b=…") or a lookalike that normalises to one (fullwidth "＝…")."""
    if not isinstance(value, str):
        return value
    if value[:1] in _FORMULA or _visible(unicodedata.normalize("NFKC", value))[:1] in _FORMULA:
        return "'" + value
    return value


def _visible(text: str) -> str:
    """The text from its first character a person would see: format (zero-width, bidi) and space characters gone."""
    for i, c in enumerate(text):
        if not (c.isspace() or unicodedata.category(c) in ("Cf", "Cc", "Zs", "Zl", "Zp", "Mn")):
            return text[i:]
    return ""
