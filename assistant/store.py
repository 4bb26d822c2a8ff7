"""Build, save and load the index under index/: a manifest plus one folder of files per build.

index/manifest.json names the current build folder and the checksum of every file in it. A build
writes a fresh folder, then replaces the manifest atomically, so a crash mid-build leaves the old
index loadable. A file lock keeps two processes from building at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant import corpus
from assistant.embedder import Embedder
from assistant.errors import CorpusError, IndexCorrupt
from assistant.files import sha256, write_atomic
from assistant.records import Passage
from assistant.search import KeywordIndex, VectorIndex

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
PROGRESS_ABOVE = 2_000  # show a progress bar when embedding more passages than this


@dataclass
class Index:
    passages: list[Passage]
    vectors: VectorIndex  # one row per view of a passage
    owners: np.ndarray  # vector row → passage position
    paragraphs: np.ndarray  # one normalised vector per paragraph
    paragraph_of: np.ndarray  # passage position → paragraph row
    keywords: KeywordIndex
    manifest: dict
    problems: list[str] = field(default_factory=list)  # why the newest corpus could not be used, if so


def embedding_views(p: Passage) -> list[str]:
    """The texts embedded for a passage: itself, with its list lead-in, and after the sentence before it,
    so "this technique" or "Facilitating better sleep" keep their subject. A passage scores its best view."""
    views = [p.text, p.quote, f"{p.context} {p.quote}".strip()]
    for question in p.asked:  # an entry's question and phrasings: the questions its text answers
        views += [question, f"{question} {p.quote}"]
    return list(dict.fromkeys(views))


def keyword_text(p: Passage) -> str:
    return f"{p.section or ''}: {' '.join(p.asked[1:])} {p.text}"


def paragraph_texts(passages: list[Passage]) -> tuple[list[str], np.ndarray]:
    """Each paragraph's full text, and which paragraph each passage belongs to."""
    rows: dict[tuple[str, int], int] = {}
    texts: list[list[str]] = []
    of = np.empty(len(passages), dtype=np.int32)
    for i, p in enumerate(passages):
        key = (p.source, p.paragraph)
        if key not in rows:
            rows[key] = len(texts)
            texts.append([])
        texts[rows[key]].append(p.quote)
        of[i] = rows[key]
    return [" ".join(t) for t in texts], of


def settings_key(max_passage_chars: int) -> str:
    return f"format={FORMAT_VERSION};max_passage_chars={max_passage_chars};views=text,quote,context,asked,asked+quote;paragraphs;kw=section+text"


def open_index(
    corpus_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    max_passage_chars: int = 600,
    force: bool = False,
) -> Index:
    """Load the saved index if it matches the corpus, model and settings; otherwise rebuild it."""
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    key = settings_key(max_passage_chars)
    wanted = corpus.corpus_hash(corpus_dir, key) if Path(corpus_dir).is_dir() else ""
    if not force:
        current = _current(index_dir, embedder, wanted)
        if current is not None:
            return current
    with _lock(index_dir):
        if not force:  # another process may have built it while we waited for the lock
            current = _current(index_dir, embedder, wanted)
            if current is not None:
                return current
        # an edit re-embeds only the texts it changed: the rest come from the index it replaces (same model)
        previous = None if force else _try_load(index_dir, embedder.name, None)
        if previous is not None and not _same_weights(previous, _prepare(embedder, index_dir)):
            previous = None
        try:
            return build(corpus_dir, index_dir, embedder, max_passage_chars, previous=previous)
        except CorpusError as e:
            fallback = _try_load(index_dir, embedder.name, None)
            if fallback is None:
                raise
            fallback.problems.append(f"{e} (still serving the last good index)")
            return fallback


def build(
    corpus_dir: Path, index_dir: Path, embedder: Embedder, max_passage_chars: int = 600, previous: Index | None = None
) -> Index:
    """Parse, embed and save a new build, then switch the manifest to it. Caller holds the lock.
    Texts `previous` (built with the same model) already embedded keep their vectors instead of being re-embedded."""
    key = settings_key(max_passage_chars)
    docs = corpus.read_corpus(corpus_dir)
    corpus_digest = corpus.corpus_hash(corpus_dir, key)
    passages = corpus.parse_corpus(docs, max_passage_chars)
    engine = _prepare(embedder, index_dir)
    views = [embedding_views(p) for p in passages]
    owners = np.repeat(np.arange(len(passages), dtype=np.int32), [len(v) for v in views])
    para_texts, paragraph_of = paragraph_texts(passages)
    flat = [t for v in views for t in v]
    vectors = _encode(embedder, flat + para_texts, _known_vectors(previous) if previous is not None else {})
    if vectors.shape[0] != len(flat) + len(para_texts):
        raise IndexCorrupt(f"Embedder returned {vectors.shape[0]} vectors for {len(flat) + len(para_texts)} texts")
    paragraphs = vectors[len(flat) :]
    vindex = VectorIndex.fit(vectors[: len(flat)])
    kindex = KeywordIndex.fit([keyword_text(p) for p in passages])

    build_id = f"build-{corpus_digest[:12]}-{time.time_ns()}"
    staging = index_dir / f".{build_id}.tmp"
    staging.mkdir(parents=True)
    vindex.save(staging / "vectors.faiss")
    np.save(staging / "owners.npy", owners)
    np.save(staging / "paragraphs.npy", paragraphs)
    np.save(staging / "paragraph_of.npy", paragraph_of)
    kindex.save(staging / "bm25")
    with open(staging / "passages.jsonl", "w", encoding="utf-8") as f:
        for p in passages:
            f.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
    files = {str(path.relative_to(staging)): sha256(path) for path in sorted(staging.rglob("*")) if path.is_file()}
    _fsync_tree(staging)
    os.replace(staging, index_dir / build_id)

    manifest = {
        "format": FORMAT_VERSION,
        "model": embedder.name,
        "corpus_hash": corpus_digest,
        "settings": key,
        "build": build_id,
        "files": files,
        "passages": len(passages),
        "dim": int(vectors.shape[1]),
        "index_kind": vindex.kind,
        "sources": sorted({p.source for p in passages}),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if engine:
        manifest["engine"] = engine
    write_atomic(index_dir / MANIFEST, json.dumps(manifest, indent=2).encode())
    _remove_old_builds(index_dir, keep=build_id)
    return Index(passages, vindex, owners, paragraphs, paragraph_of, kindex, manifest)


def load(index_dir: Path) -> Index:
    """Load the build the manifest names, verifying every checksum first."""
    index_dir = Path(index_dir)
    try:
        manifest = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
        build_dir = index_dir / manifest["build"]
        files = manifest["files"]
    except FileNotFoundError:
        raise IndexCorrupt(f"No index in {index_dir}; run `massage-assistant build`") from None
    except (ValueError, KeyError, TypeError) as e:
        raise IndexCorrupt(f"{index_dir / MANIFEST} is unreadable ({e}); rebuild the index") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexCorrupt(f"Index format {manifest.get('format')} is not {FORMAT_VERSION}; rebuild the index")
    for name, digest in files.items():
        path = build_dir / name
        if not path.is_file() or sha256(path) != digest:
            raise IndexCorrupt(f"{path} is missing or altered (checksum mismatch); rebuild the index")
    try:
        with open(build_dir / "passages.jsonl", encoding="utf-8") as f:
            passages = [Passage.from_dict(json.loads(line)) for line in f]
        vindex = VectorIndex.load(build_dir / "vectors.faiss")
        owners = np.load(build_dir / "owners.npy")
        paragraphs = np.load(build_dir / "paragraphs.npy")
        paragraph_of = np.load(build_dir / "paragraph_of.npy")
        kindex = KeywordIndex.load(build_dir / "bm25")
    except Exception as e:  # noqa: BLE001 - any unreadable file means the same: rebuild
        raise IndexCorrupt(f"Index in {build_dir} could not be read ({type(e).__name__}: {e}); rebuild it") from e
    if vindex.size != len(owners) or len(paragraph_of) != len(passages) or owners.max(initial=-1) >= len(passages):
        raise IndexCorrupt(f"Index files in {build_dir} disagree on the number of passages; rebuild it")
    return Index(passages, vindex, owners, paragraphs, paragraph_of, kindex, manifest)


def _try_load(index_dir: Path, model: str, corpus_digest: str | None) -> Index | None:
    try:
        index = load(index_dir)
    except IndexCorrupt:
        return None
    m = index.manifest
    if m.get("model") != model:
        return None
    if corpus_digest is not None and m.get("corpus_hash") != corpus_digest:
        return None
    return index


def _known_vectors(index: Index) -> dict[str, np.ndarray]:
    """Text → vector for every view and paragraph an index embedded, rebuilt from its own passages."""
    views = [t for p in index.passages for t in embedding_views(p)]
    paragraphs, _ = paragraph_texts(index.passages)
    if len(views) != index.vectors.size or len(paragraphs) != len(index.paragraphs):
        return {}  # built with other view rules: nothing to reuse safely
    known = dict(zip(views, index.vectors.reconstruct(list(range(len(views))))))
    known.update(zip(paragraphs, index.paragraphs))
    return known


def _prepare(embedder: Embedder, index_dir: Path) -> dict | None:
    """Let the embedder put its built artefact (the exported ONNX model) under index_dir; what it says goes in the
    manifest as "engine": checksum, source model and exporter versions."""
    prepare = getattr(embedder, "prepare", None)
    return prepare(index_dir) if prepare is not None else None


def _same_weights(index: Index, engine: dict | None) -> bool:
    """False when the index was built from other weights than the model the embedder now runs."""
    built_from = (index.manifest.get("engine") or {}).get("source_sha256")
    now = (engine or {}).get("source_sha256")
    return not (built_from and now and built_from != now)


def _current(index_dir: Path, embedder: Embedder, corpus_digest: str) -> Index | None:
    """The saved index if it matches the corpus and the model, its weights included. A re-export of the same weights
    (a damaged file replaced) is recorded in the manifest without rebuilding the index; a sentence-transformers
    fallback leaves the record of the export the index was built with."""
    index = _try_load(index_dir, embedder.name, corpus_digest)
    if index is None:
        return None
    engine = _prepare(embedder, index_dir)
    built_from = (index.manifest.get("engine") or {}).get("source_sha256")
    if not _same_weights(index, engine):
        return None  # same model name, other weights
    if engine and engine.get("sha256") and built_from in (None, engine["source_sha256"]) and (
        index.manifest.get("engine") != engine
    ):
        index.manifest["engine"] = engine
        write_atomic(index_dir / MANIFEST, json.dumps(index.manifest, indent=2).encode())
    return index


def _encode(embedder: Embedder, texts: list[str], known: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """One row per text. Identical texts embed once: a one-sentence paragraph is also its passage's only view.
    Texts in `known` are not embedded again."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    unique = list(dict.fromkeys(texts))
    if known or len(unique) < len(texts):
        known = known or {}
        missing = [t for t in unique if t not in known]
        fresh = dict(zip(missing, _encode(embedder, missing))) if missing else {}
        return np.stack([known[t] if t in known else fresh[t] for t in texts]).astype(np.float32, copy=False)
    if len(texts) <= PROGRESS_ABOVE:
        return np.asarray(embedder.encode(texts), dtype=np.float32)
    from tqdm import tqdm

    batch = 256
    parts = []
    for start in tqdm(range(0, len(texts), batch), desc="Embedding passages", unit="batch"):
        parts.append(np.asarray(embedder.encode(texts[start : start + batch]), dtype=np.float32))
    return np.concatenate(parts)


@contextmanager
def _lock(index_dir: Path):
    with open(index_dir / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_tree(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    for path in index_dir.iterdir():
        if path.is_dir() and path.name != keep and (path.name.startswith("build-") or path.name.endswith(".tmp")):
            shutil.rmtree(path, ignore_errors=True)
