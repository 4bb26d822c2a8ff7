"""Bad corpus files: each is refused with a message naming it, and a running app keeps serving its last good index."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from clients import as_client
from fakes import FakeEmbedder
from guide_text import GUIDE

from assistant import Assistant, CorpusError, Settings
from assistant.formats import MAX_TEXT_BYTES as MAX_FILE_BYTES


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    def spoil(corpus: Path) -> None:
        (corpus / name).write_bytes(data)

    return spoil


def _duplicate(corpus: Path) -> None:
    shutil.copy(corpus / GUIDE.name, corpus / "copy-of-the-guide.txt")


def _emptied(corpus: Path) -> None:
    for path in corpus.iterdir():
        path.rename(corpus.parent / f"aside-{path.name}")


# (what, how to spoil a good corpus, the message must contain)
BAD = [
    ("not UTF-8", _write("prices.txt", "Massage costs 50 €".encode("cp1252")), "prices.txt is not UTF-8"),
    ("empty file", _write("empty.md", b""), "empty.md is empty"),
    ("whitespace only", _write("blank.txt", b" \n\t\n"), "blank.txt is empty"),
    ("only headings", _write("headings.md", b"# Prices\n\n## Opening hours\n\n### Parking\n"), "headings.md has no text"),
    ("huge file", _write("huge.txt", b"Massage helps. " * (MAX_FILE_BYTES // 15 + 1)), "huge.txt is 2.1 MB; a corpus file may be at most 2 MB"),
    ("duplicate file", _duplicate, "copy-of-the-guide.txt duplicates back-massage-guide.txt"),
    ("entirely empty corpus", _emptied, "has no .md, .txt, .html, .docx or .pdf files"),
]
IDS = [b[0] for b in BAD]


@pytest.fixture
def studio(tmp_path) -> Settings:
    (tmp_path / "corpus").mkdir()
    shutil.copy(GUIDE, tmp_path / "corpus" / GUIDE.name)
    return Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", data_dir=tmp_path / "data")


@pytest.mark.parametrize(("what", "spoil", "message"), BAD, ids=IDS)
def test_a_first_build_refuses_a_bad_file_naming_it(studio, what, spoil, message):
    spoil(studio.corpus_dir)
    with pytest.raises(CorpusError, match=message):
        Assistant.load(settings=studio, embedder=FakeEmbedder())


@pytest.mark.parametrize(("what", "spoil", "message"), BAD, ids=IDS)
def test_a_running_assistant_keeps_its_last_good_index_and_logs_why(studio, caplog, what, spoil, message):
    bot = Assistant.load(settings=studio, embedder=FakeEmbedder())
    before = bot.ask("What clothing is best for a massage?")
    passages = len(bot.index.passages)
    spoil(studio.corpus_dir)
    with caplog.at_level("WARNING", logger="assistant.engine"):
        assert bot.refresh()
    assert bot.ask("What clothing is best for a massage?") == before
    assert len(bot.index.passages) == passages
    assert any(message in p and "still serving the last good index" in p for p in bot.info()["problems"])
    assert any(message in r.getMessage() for r in caplog.records)  # the operator sees it in the server log


def test_a_huge_file_is_refused_before_it_is_read(studio, monkeypatch):
    big = studio.corpus_dir / "huge.txt"
    with big.open("wb") as f:  # sparse: 50 MB on paper, nothing on disk
        f.truncate(50 * 2**20)
    with pytest.raises(CorpusError, match=r"huge.txt is 50.0 MB; a corpus file may be at most 2 MB"):
        Assistant.load(settings=studio, embedder=FakeEmbedder())


def test_a_corpus_inside_a_hidden_folder_is_read(tmp_path):
    """Only hidden files and folders inside the corpus are skipped; the corpus may live under ~/.local or similar."""
    home = tmp_path / ".config" / "studio"
    (home / "corpus" / ".drafts").mkdir(parents=True)
    shutil.copy(GUIDE, home / "corpus" / GUIDE.name)
    (home / "corpus" / ".drafts" / "unfinished.md").write_text("# Draft\n\nNot ready.\n")
    settings = Settings(corpus_dir=home / "corpus", index_dir=home / "index")
    bot = Assistant.load(settings=settings, embedder=FakeEmbedder())
    assert bot.info()["sources"] == [GUIDE.name]


# through the real server: the watcher picks up each bad edit, the app keeps answering


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


@pytest.mark.model
@pytest.mark.slow
def test_the_running_server_keeps_serving_through_every_bad_edit(live):
    corpus = live.corpus
    good = sorted(p.name for p in corpus.iterdir())

    def ask() -> httpx.Response:
        return httpx.post(f"{live.url}/api/ask", json={"question": "What should I wear?"}, headers=as_client(5000),
                          timeout=60)

    before = ask().json()
    health = httpx.get(f"{live.url}/api/health", timeout=30).json()
    for what, spoil, message in BAD:
        spoil(corpus)
        assert wait_for(lambda: message in live.log_text()), f"{what}: the server log never said {message!r}"
        r = ask()
        assert r.status_code == 200, (what, r.text)
        assert r.json() == before, what
        assert httpx.get(f"{live.url}/api/health", timeout=30).json()["passages"] == health["passages"], what
        for path in corpus.iterdir():  # put the good corpus back
            if path.name not in good:
                path.unlink()
        for path in corpus.parent.glob("aside-*"):
            path.rename(corpus / path.name.removeprefix("aside-"))
        assert sorted(p.name for p in corpus.iterdir()) == good
    # after the last repair the app is on the good corpus and answers as before
    assert ask().json() == before
