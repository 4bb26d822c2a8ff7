"""The saved index: round trip, staleness checks, atomic layout, and falling back to the last good build."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from assistant import store
from assistant.errors import CorpusError, IndexCorrupt
from guide_text import GUIDE
from fakes import CountingEmbedder


def manifest(index_dir: Path) -> dict:
    return json.loads((index_dir / store.MANIFEST).read_text(encoding="utf-8"))


def build_dirs(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.is_dir())


@pytest.fixture
def built(corpus_dir, index_dir):
    """An index built once; returns the embedder used, with its call log cleared."""
    embedder = CountingEmbedder()
    store.open_index(corpus_dir, index_dir, embedder)
    assert embedder.calls, "building must embed the passages"
    embedder.calls.clear()
    return embedder


def test_first_open_builds_and_writes_manifest_build_folder_and_checksums(corpus_dir, index_dir):
    embedder = CountingEmbedder()
    index = store.open_index(corpus_dir, index_dir, embedder)
    m = manifest(index_dir)
    assert m["format"] == store.FORMAT_VERSION
    assert m["model"] == "fake"
    assert m["passages"] == len(index.passages) == 42
    assert m["sources"] == [GUIDE.name]
    assert m["settings"] == store.settings_key(600)
    build = index_dir / m["build"]
    assert build.is_dir() and build_dirs(index_dir) == [m["build"]]
    assert set(m["files"]) >= {"vectors.faiss", "passages.jsonl"}
    for name, digest in m["files"].items():
        assert hashlib.sha256((build / name).read_bytes()).hexdigest() == digest
    assert embedder.texts_embedded >= 42  # every passage, possibly in several views
    assert index.problems == []


def test_passages_file_is_readable_jsonl(corpus_dir, index_dir):
    index = store.open_index(corpus_dir, index_dir, CountingEmbedder())
    path = index_dir / manifest(index_dir)["build"] / "passages.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == [p.text for p in index.passages]
    assert rows[0]["section"] == "Back massage guide"


def test_matching_manifest_loads_without_embedding_again(corpus_dir, index_dir, built):
    before = manifest(index_dir)
    index = store.open_index(corpus_dir, index_dir, built)
    assert built.calls == []
    assert manifest(index_dir) == before
    assert len(index.passages) == 42 and index.vectors.size >= 42


def test_loaded_index_searches_like_the_built_one(corpus_dir, index_dir, built):
    fresh = store.open_index(corpus_dir, index_dir, built)
    query = built.encode(["clothing"])
    _, rows = fresh.vectors.search(query, 1)
    assert "loose-fitting clothing" in fresh.passages[int(fresh.owners[rows[0][0]])].text
    scores = fresh.keywords.scores("shiatsu")
    assert "Shiatsu" in fresh.passages[int(scores.argmax())].text


def test_changed_corpus_file_rebuilds(corpus_dir, index_dir, built):
    old = manifest(index_dir)
    guide = corpus_dir / GUIDE.name
    text = guide.read_text(encoding="utf-8")
    guide.write_text(text.replace("Soothing music", "Gentle music"), encoding="utf-8")
    index = store.open_index(corpus_dir, index_dir, built)
    assert built.calls
    new = manifest(index_dir)
    assert new["corpus_hash"] != old["corpus_hash"] and new["build"] != old["build"]
    assert "Gentle music might be playing in the background." in [p.text for p in index.passages]


def test_added_corpus_file_rebuilds(corpus_dir, index_dir, built):
    (corpus_dir / "studio.md").write_text("# Studio\n\nWe have showers.\n", encoding="utf-8")
    index = store.open_index(corpus_dir, index_dir, built)
    assert built.calls
    assert manifest(index_dir)["sources"] == [GUIDE.name, "studio.md"]
    assert index.passages[-1].section == "Studio"


def test_different_model_name_rebuilds(corpus_dir, index_dir, built):
    other = CountingEmbedder(name="another-model")
    store.open_index(corpus_dir, index_dir, other)
    assert other.calls
    assert manifest(index_dir)["model"] == "another-model"


def test_different_chunking_settings_rebuild(corpus_dir, index_dir, built):
    store.open_index(corpus_dir, index_dir, built, max_passage_chars=120)
    assert built.calls
    assert manifest(index_dir)["settings"] == store.settings_key(120)


def test_force_rebuilds_a_fresh_index(corpus_dir, index_dir, built):
    old = manifest(index_dir)["build"]
    store.open_index(corpus_dir, index_dir, built, force=True)
    assert built.calls
    assert manifest(index_dir)["build"] != old
    assert build_dirs(index_dir) == [manifest(index_dir)["build"]]


@pytest.mark.parametrize("name", ["vectors.faiss", "passages.jsonl"])
def test_truncated_index_file_is_rebuilt_not_a_crash(corpus_dir, index_dir, built, name):
    path = index_dir / manifest(index_dir)["build"] / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IndexCorrupt, match="checksum"):
        store.load(index_dir)
    index = store.open_index(corpus_dir, index_dir, built)
    assert built.calls
    assert len(index.passages) == 42
    store.load(index_dir)  # the rebuilt index verifies


def test_altered_file_of_the_same_size_fails_its_checksum(corpus_dir, index_dir, built):
    path = index_dir / manifest(index_dir)["build"] / "passages.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace("Soothing", "Sooooooo"), encoding="utf-8")
    store.open_index(corpus_dir, index_dir, built)
    assert built.calls
    assert "Soothing" in (index_dir / manifest(index_dir)["build"] / "passages.jsonl").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "garbage", ["", "{not json", "[]", '{"format": 1}', '{"format": 99, "build": "x", "files": {}}']
)
def test_garbage_manifest_rebuilds(corpus_dir, index_dir, built, garbage):
    (index_dir / store.MANIFEST).write_text(garbage, encoding="utf-8")
    with pytest.raises(IndexCorrupt, match="rebuild"):
        store.load(index_dir)
    index = store.open_index(corpus_dir, index_dir, built)
    assert built.calls
    assert len(index.passages) == 42
    assert manifest(index_dir)["format"] == store.FORMAT_VERSION


def test_missing_index_says_how_to_build_it(tmp_path):
    with pytest.raises(IndexCorrupt, match="massage-assistant build"):
        store.load(tmp_path)


def test_build_leaves_no_temporary_files(corpus_dir, index_dir, built):
    store.open_index(corpus_dir, index_dir, built, force=True)
    leftovers = [p.name for p in index_dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert sorted(p.name for p in index_dir.iterdir() if p.is_file()) == [".lock", store.MANIFEST]


def test_corpus_error_during_rebuild_keeps_serving_the_old_index(corpus_dir, index_dir, built):
    old = manifest(index_dir)
    (corpus_dir / "menu.txt").write_bytes(b"Massage \xa360")  # Latin-1, not UTF-8
    index = store.open_index(corpus_dir, index_dir, built)
    assert len(index.passages) == 42
    assert manifest(index_dir) == old
    assert build_dirs(index_dir) == [old["build"]]
    assert len(index.problems) == 1
    assert "menu.txt is not UTF-8" in index.problems[0]
    assert "still serving the last good index" in index.problems[0]


def test_corpus_error_with_no_index_to_fall_back_on_raises(corpus_dir, index_dir):
    (corpus_dir / "empty.md").write_text("\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"empty\.md is empty"):
        store.open_index(corpus_dir, index_dir, CountingEmbedder())
    assert not (index_dir / store.MANIFEST).exists()


def test_embedded_views_keep_a_sentence_subject_and_a_list_lead_in(corpus_dir, index_dir):
    embedder = CountingEmbedder()
    index = store.open_index(corpus_dir, index_dir, embedder)
    embedded = {t for call in embedder.calls for t in call}
    (discomfort,) = [p for p in index.passages if p.text.startswith("This technique can cause")]
    assert any(t.startswith("Trigger point therapy") and discomfort.text in t for t in embedded)
    (sleep,) = [p for p in index.passages if p.text == "Facilitating better sleep"]
    assert sleep.quote in embedded


def test_an_edit_re_embeds_only_the_texts_it_changed_and_gives_the_index_a_full_build_would(corpus_dir, index_dir, tmp_path):
    embedder = CountingEmbedder()
    store.open_index(corpus_dir, index_dir, embedder)
    embedder.calls.clear()
    (corpus_dir / "studio-faq.md").write_text(
        "# Studio FAQ\n\n## Can I bring my own music?\n\nYes. Bring a playlist on your phone.\n", encoding="utf-8"
    )
    index = store.open_index(corpus_dir, index_dir, embedder)
    embedded = [t for call in embedder.calls for t in call]
    assert embedded and all("playlist" in t or t == "Yes." or "music" in t for t in embedded), embedded
    assert len(embedded) <= 6  # two sentences' views and their paragraph, not the guide's hundreds

    full = store.open_index(corpus_dir, tmp_path / "full-index", CountingEmbedder())
    n = index.vectors.size
    assert n == full.vectors.size
    assert np.allclose(index.vectors.reconstruct(list(range(n))), full.vectors.reconstruct(list(range(n))))
    assert np.allclose(index.paragraphs, full.paragraphs)


def test_a_forced_build_or_another_model_re_embeds_everything(corpus_dir, index_dir):
    first = CountingEmbedder()
    store.open_index(corpus_dir, index_dir, first)
    again = CountingEmbedder()
    store.open_index(corpus_dir, index_dir, again, force=True)
    assert again.texts_embedded == first.texts_embedded
    other = CountingEmbedder(name="other-model")
    store.open_index(corpus_dir, index_dir, other)
    assert other.texts_embedded == first.texts_embedded
