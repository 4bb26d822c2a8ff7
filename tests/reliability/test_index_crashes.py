"""A bad index: altered or truncated files are caught by the manifest's checksums and rebuilt; a build killed at
any point leaves the old index loadable; two processes building at once take turns."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes import CountingEmbedder, FakeEmbedder
from guide_text import GUIDE

from assistant import Assistant, IndexCorrupt, store

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent


@pytest.fixture
def built(tmp_path) -> tuple[Path, Path]:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    shutil.copy(GUIDE, corpus / GUIDE.name)
    store.open_index(corpus, index, FakeEmbedder())
    return corpus, index


def current_build(index: Path) -> str:
    return json.loads((index / store.MANIFEST).read_text())["build"]


def build_files(index: Path) -> list[str]:
    return sorted(json.loads((index / store.MANIFEST).read_text())["files"])


def test_every_index_file_is_under_a_checksum(built):
    _, index = built
    on_disk = sorted(str(p.relative_to(index / current_build(index))) for p in (index / current_build(index)).rglob("*")
                     if p.is_file())
    assert on_disk == build_files(index)


@pytest.mark.parametrize("damage", ["truncated", "one byte flipped", "emptied", "deleted"])
def test_any_damaged_index_file_is_caught_and_rebuilt(built, damage):
    corpus, index = built
    for name in build_files(index):
        path = index / current_build(index) / name
        data = path.read_bytes()
        if damage == "truncated":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "one byte flipped":
            path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
        elif damage == "emptied":
            path.write_bytes(b"")
        else:
            path.unlink()
        with pytest.raises(IndexCorrupt, match="missing or altered"):
            store.load(index)
        embedder = CountingEmbedder()
        bot = Assistant.load(corpus_dir=corpus, index_dir=index, embedder=embedder)
        assert embedder.calls, f"{name} {damage} was loaded, not rebuilt"
        assert bot.ask("What clothing is best for a massage?").citations
        store.load(index)  # the rebuilt index verifies


def test_a_manifest_naming_a_missing_build_is_rebuilt(built):
    corpus, index = built
    shutil.rmtree(index / current_build(index))
    embedder = CountingEmbedder()
    Assistant.load(corpus_dir=corpus, index_dir=index, embedder=embedder)
    assert embedder.calls
    store.load(index)


# builds killed mid-way, in a subprocess

BUILDER = r"""
import sys, time
sys.path[:0] = [{tests!r}]
import numpy as np
from fakes import FakeEmbedder
from assistant import store

stop_at, corpus, index = sys.argv[1:4]

def mark(stage):
    print(stage, flush=True)
    if stage == stop_at:
        time.sleep(120)  # the test kills us here

class Embedder(FakeEmbedder):
    def encode(self, texts):
        mark("embedding")
        return super().encode(texts)

real_save, real_atomic, real_remove = np.save, store.write_atomic, store._remove_old_builds
def save(*args, **kwargs):
    real_save(*args, **kwargs)
    mark("writing files")
def atomic(path, data):
    mark("switching manifest")
    real_atomic(path, data)
def remove(index_dir, keep):
    mark("removing old build")
    real_remove(index_dir, keep)
np.save, store.write_atomic, store._remove_old_builds = save, atomic, remove

store.open_index(corpus, index, Embedder(), force=True)
mark("done")
"""

STAGES = ["embedding", "writing files", "switching manifest", "removing old build"]


def run_builder(stop_at: str, corpus: Path, index: Path) -> subprocess.Popen:
    code = BUILDER.format(tests=str(TESTS))
    return subprocess.Popen(
        [sys.executable, "-c", code, stop_at, str(corpus), str(index)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_at(proc: subprocess.Popen, stage: str, timeout: float = 60.0) -> list[str]:
    """Read the builder's stages until `stage`, then SIGKILL it there."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline().strip()
        if not line and proc.poll() is not None:
            raise AssertionError(f"builder exited before {stage!r}: {seen}\n{proc.stderr.read()[-2000:]}")
        seen.append(line)
        if line == stage:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            return seen
    proc.kill()
    raise AssertionError(f"builder never reached {stage!r}: {seen}")


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_a_build_killed_mid_way_leaves_a_loadable_index(built, stage):
    corpus, index = built
    old = current_build(index)
    (corpus / "studio-faq.md").write_text("# Parking\n\nThere is free parking behind the studio.\n")
    seen = kill_at(run_builder(stage, corpus, index), stage)
    assert seen[-1] == stage

    loaded = store.load(index)  # every checksum verifies: old or new, never half of each
    if stage == "removing old build":  # the manifest had already switched
        assert loaded.manifest["build"] != old
        assert "studio-faq.md" in loaded.manifest["sources"]
    else:
        assert loaded.manifest["build"] == old
        assert "studio-faq.md" not in loaded.manifest["sources"]

    bot = Assistant.load(corpus_dir=corpus, index_dir=index, embedder=FakeEmbedder())  # the next start is clean
    assert bot.ask("What clothing is best for a massage?").citations
    assert "studio-faq.md" in bot.info()["sources"]
    if stage == "removing old build":  # nothing to rebuild, so the old folder stays until the next build
        store.open_index(corpus, index, FakeEmbedder(), force=True)
    leftovers = sorted(p.name for p in index.iterdir() if p.is_dir())
    assert leftovers == [current_build(index)], "the killed build's folders are cleared by the next build"


SLOW_BUILDER = r"""
import os, sys, time
sys.path[:0] = [{tests!r}]
from fakes import FakeEmbedder
from assistant import store

corpus, index, journal, force = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "force"

class Slow(FakeEmbedder):
    def encode(self, texts):
        with open(journal, "a") as f:
            f.write(f"start {{os.getpid()}} {{time.monotonic()}}\n")
        time.sleep(1.0)  # long enough that the other process certainly arrives meanwhile
        vectors = super().encode(texts)
        with open(journal, "a") as f:
            f.write(f"end {{os.getpid()}} {{time.monotonic()}}\n")
        return vectors

index_ = store.open_index(corpus, index, Slow(), force=force)
print(index_.manifest["build"], flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("force", [False, True], ids=["two starts after an edit", "two forced rebuilds"])
def test_two_processes_building_at_once_take_turns(built, tmp_path, force):
    corpus, index = built
    (corpus / "studio-faq.md").write_text("# Parking\n\nThere is free parking behind the studio.\n")
    journal = tmp_path / "journal.txt"
    code = SLOW_BUILDER.format(tests=str(TESTS))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(corpus), str(index), str(journal), "force" if force else "load"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]

    events = [line.split() for line in journal.read_text().splitlines()]
    spans: dict[str, list[float]] = {}
    for kind, pid, at in events:
        spans.setdefault(pid, []).append(float(at))
    if force:
        assert len(spans) == 2  # both built, one after the other
        (a0, a1), (b0, b1) = sorted(spans.values())
        assert a1 <= b0, "the two builds overlapped"
    else:
        assert len(spans) == 1  # the second waited for the lock, then loaded what the first built
        builds = {out.strip() for out, _ in outputs}
        assert builds == {current_build(index)}
    loaded = store.load(index)
    assert "studio-faq.md" in loaded.manifest["sources"]
    assert sorted(p.name for p in index.iterdir() if p.is_dir()) == [current_build(index)]
