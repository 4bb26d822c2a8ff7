"""Shared fixtures: a temporary copy of the guide, a bot on the fake embedder, and a real-model bot."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from fakes import FakeEmbedder
from guide_text import GUIDE

FAKE_TOPICS = Path(__file__).resolve().parent / "fake_topics.toml"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _no_massage_env(monkeypatch):
    """Tests never pick up a developer's MASSAGE_* settings."""
    for key in list(os.environ):
        if key.startswith("MASSAGE_"):
            monkeypatch.delenv(key)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    shutil.copy(GUIDE, d / GUIDE.name)
    shutil.copy(FAKE_TOPICS, d / "topics.toml")  # decisions the fake embedder can make exactly
    return d


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def bot(corpus_dir: Path, index_dir: Path, fake_embedder: FakeEmbedder):
    """The guide on the fake embedder: exact vectors, no model, built in a temporary index."""
    from assistant.engine import Assistant

    return Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, embedder=fake_embedder)


@pytest.fixture(scope="session")
def model_bot(tmp_path_factory):
    """The packaged guide and model, with default settings, indexed once per session in a temporary folder."""
    from assistant.engine import Assistant
    from assistant.settings import Settings

    return Assistant.load(index_dir=tmp_path_factory.mktemp("model-index"), settings=Settings())
