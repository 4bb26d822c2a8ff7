"""Fixtures for the reliability tests: an app over the guide on the fake embedder, and the real server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from clients import make_client  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402
from guide_text import GUIDE  # noqa: E402
from servers import Server, make_server  # noqa: E402

from assistant import Settings  # noqa: E402


@pytest.fixture(scope="module")
def fake_bot(tmp_path_factory):
    """The packaged guide on the fake embedder: a real Assistant, no model."""
    import shutil

    from assistant import Assistant

    home = tmp_path_factory.mktemp("fake-studio")
    (home / "corpus").mkdir()
    shutil.copy(GUIDE, home / "corpus" / GUIDE.name)
    settings = Settings(
        corpus_dir=home / "corpus", index_dir=home / "index", data_dir=home / "data", contact="Call the studio on 555-0100."
    )
    return Assistant.load(settings=settings, embedder=FakeEmbedder())


@pytest.fixture(scope="module")
def app_client(fake_bot):
    """The app over the fake-embedder bot, rate limit off (the TestClient is a single client)."""
    with make_client(fake_bot, rate_limit=0) as client:
        yield client


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Iterator[Server]:
    """`python app.py` with the real model over a temporary copy of the guide. The question rate is raised (600 a
    minute) so the load test measures capacity; the overload tests flood past it from one address."""
    server = make_server(tmp_path_factory.mktemp("live"), rate_limit="600", rate_burst="30")
    server.start()
    try:
        yield server
    finally:
        server.stop()

