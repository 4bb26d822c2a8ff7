"""Fixtures for the web surfaces: a stub bot, a keyword embedder over a tiny corpus, and the real server."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from assistant import BadQuestion, Citation, Hit, Passage, Reference, Reply, Settings  # noqa: E402
from assistant.questionlog import DB_NAME, QuestionLog  # noqa: E402
from live import wait_for_chat  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONTACT = "Call the studio on 555-0100."
STAFF_PASSWORD = "correct horse battery staple"


@dataclass
class StubBot:
    """Answers from a script, remembers what it was asked. Quacks like Assistant for the surfaces."""

    settings: Settings = field(default_factory=lambda: Settings(contact=CONTACT))
    asked: list[tuple[str, list]] = field(default_factory=list)

    def ask(self, question: object, history: Sequence[Sequence[str]] | None = None) -> Reply:
        if not isinstance(question, str) or not question.strip():
            raise BadQuestion("Please type a question, for example: What should I wear?")
        if len(question) > self.settings.max_question_chars:
            raise BadQuestion("too long")
        self.asked.append((question, [tuple(t) for t in history or []]))
        if "cost" in question:
            return Reply(f"I'm sorry, I can't answer that from our guide. {CONTACT}", True, (), kind="out_of_scope")
        study = Reference(9, "Massage Therapy Can Be Effective for Low Back Pain")
        return Reply(
            answer="Thinner, loose-fitting clothing is best. [1]",
            abstained=False,
            citations=(
                Citation("guide.txt", "What to expect", "Thinner, loose-fitting clothing is best.", 0.9, (study,)),
            ),
        )

    def search(self, query: str, k: int = 5) -> list[Hit]:
        if not query.strip():
            raise BadQuestion("Please type a question, for example: What should I wear?")
        passage = Passage("guide.txt#1", "guide.txt", "What to expect", "loose-fitting clothing is best.",
                          (Reference(9, "A study"),), lead="For the massage:")
        return [Hit(passage, score=1.0, dense=0.6, keyword=0.8)][:k]

    def info(self) -> dict:
        return {"model": "stub", "passages": 1, "index": "memory", "index_kind": "none", "built_at": None,
                "problems": []}

    def refresh(self) -> bool:
        return False

    @property
    def embedder(self) -> KeywordEmbedder:
        return KeywordEmbedder()


class KeywordEmbedder:
    """Exact, model-free vectors: one dimension per keyword, plus a small constant so no row is zero."""

    name = "keywords"
    VOCAB = ("wear", "cloth", "loose", "shiatsu", "trigger", "pressure", "sleep", "back", "pain", "massage",
             "couple", "room", "parking")

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            words = re.findall(r"[a-z]+", text.lower())
            row = [sum(w.startswith(k) for w in words) for k in self.VOCAB] + [0.3]
            rows.append(row)
        vectors = np.asarray(rows, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


GUIDE = """# What to wear

Thinner, loose-fitting clothing is best for a massage, so wear gym shorts or leggings.

# Trigger point therapy

Trigger point therapy applies sustained pressure to tight knots of muscle.

# Sleep

A regular back massage can help you sleep better.
"""


@pytest.fixture
def stub() -> StubBot:
    return StubBot()


@pytest.fixture
def questions(tmp_path) -> Iterator[QuestionLog]:
    """A question log in a temporary data directory."""
    log = QuestionLog.open(tmp_path / "data")
    yield log
    log.close()


@pytest.fixture
def studio_bot(tmp_path):
    """A real Assistant (keyword embedder) over its own copy of the guide, so a test may publish into its corpus.
    guide.md is the general guide here: it never answers studio business such as a couples room."""
    from assistant import Assistant

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "guide.md").write_text(GUIDE, encoding="utf-8")
    settings = Settings(
        contact=CONTACT, corpus_dir=corpus, index_dir=tmp_path / "index", data_dir=tmp_path / "data",
        general_sources=("guide.md",),
    )
    return Assistant.load(settings=settings, embedder=KeywordEmbedder())


@pytest.fixture(scope="session")
def keyword_bot(tmp_path_factory):
    """A real Assistant over a three-section guide, with the keyword embedder instead of the model."""
    from assistant import Assistant

    corpus = tmp_path_factory.mktemp("corpus")
    (corpus / "guide.md").write_text(GUIDE, encoding="utf-8")
    settings = Settings(
        contact=CONTACT, corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("index"),
        data_dir=tmp_path_factory.mktemp("data"),
    )
    return Assistant.load(settings=settings, embedder=KeywordEmbedder())


# The real server: one process for the whole session, started on first use.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Server:
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    examples_url: str  # where examples/ is served, on another port: another origin
    log: Path  # what app.py printed
    data_dir: Path  # temporary: the question log is data_dir / DB_NAME
    corpus_dir: Path  # a temporary copy of corpus/, so publishing never touches the repository
    password: str = STAFF_PASSWORD

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the server's question log (read-only, alongside the running server)."""
        import sqlite3

        with sqlite3.connect(f"file:{self.data_dir / DB_NAME}?mode=ro", uri=True) as conn:
            return conn.execute(sql, params).fetchall()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    """`python app.py` with the real model, plus examples/studio-page.html served from another origin."""
    port, examples_port = free_port(), free_port()
    url, examples_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{examples_port}"

    # the example page points at the default port; serve a copy that points at this server
    site = tmp_path_factory.mktemp("studio-site")
    page = (ROOT / "examples" / "studio-page.html").read_text(encoding="utf-8")
    (site / "studio-page.html").write_text(page.replace("http://127.0.0.1:7860", url), encoding="utf-8")
    httpd = ThreadingHTTPServer(("127.0.0.1", examples_port), partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    # everything the server writes goes to temporary folders: the repository stays clean
    state = tmp_path_factory.mktemp("server-state")
    corpus_dir, index_dir, data_dir = state / "corpus", state / "index", state / "data"
    shutil.copytree(ROOT / "corpus", corpus_dir)
    if (ROOT / "index" / "manifest.json").exists():  # the built index, if it matches, saves a rebuild
        shutil.copytree(ROOT / "index", index_dir, ignore=shutil.ignore_patterns(".lock", "build-*.tmp*"))

    env = {
        **os.environ,
        "MASSAGE_CORPUS_DIR": str(corpus_dir),
        "MASSAGE_INDEX_DIR": str(index_dir),
        "MASSAGE_DATA_DIR": str(data_dir),
        "MASSAGE_LOG_QUESTIONS": "1",
        "MASSAGE_RATE_LIMIT": "0",  # every test is the same client, 127.0.0.1; tests/reliability covers the limit
        "MASSAGE_STAFF_PASSWORD": STAFF_PASSWORD,
        "MASSAGE_ALLOWED_ORIGINS": examples_url,
        "MASSAGE_CONTACT": CONTACT,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    log = log_path.open("w+")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for_chat(url, proc, lambda: _tail(log), timeout=120.0)
        yield Server(url, examples_url, log_path, data_dir, corpus_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        httpd.shutdown()
        log.close()


def _tail(log) -> str:
    log.seek(0)
    return log.read()[-3000:]
