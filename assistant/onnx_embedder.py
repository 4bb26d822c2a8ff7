"""A sentence-transformers BERT-family model served by ONNX Runtime, from a file exported once under index/onnx/.

Serving needs onnxruntime, tokenizers and numpy only; torch and transformers are imported by assistant/onnx_export.py
when the file is missing, damaged or made from other weights. Each export is recorded beside it
(`<name>.onnx.json`: its checksum, the model it came from and the exporter versions), and copied into the index
manifest by assistant/store.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from assistant.files import sha256, write_atomic

log = logging.getLogger(__name__)

EXPORT_FORMAT = 1
FAMILY = ("bert", "roberta", "xlm-roberta", "electra")  # take input_ids, attention_mask and token_type_ids
QUANTIZE = ("", "int8")
_verified: dict[tuple[str, str], Path] = {}  # (source digest, quantize) → an export checked in this process
_verified_lock = threading.Lock()


@dataclass(frozen=True)
class Export:
    """What an exported file is: written beside it, and into the index manifest."""

    file: str  # the .onnx file's name, in the onnx/ folder of the index
    sha256: str
    source: str  # the model's name
    source_sha256: str  # of its config, tokenizer and weights: a changed model is exported again
    quantize: str  # "" (fp32) or "int8"
    opset: int
    exporters: dict[str, str] = field(default_factory=dict)
    source_stats: dict[str, list[int]] = field(default_factory=dict)  # size and mtime: unchanged files aren't rehashed
    engine: str = "onnxruntime"
    format: int = EXPORT_FORMAT

    def to_dict(self) -> dict:
        return asdict(self)


def supports(location: str) -> bool:
    """True for a local BERT-family model whose modules are Transformer → mean Pooling (→ Normalize)."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in _json(os.path.join(location, "modules.json"))]
        pooling = _json(os.path.join(location, "1_Pooling", "config.json"))
        config = _json(os.path.join(location, "config.json"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v is True}
    return (
        modules[:2] == ["Transformer", "Pooling"]
        and set(modules[2:]) <= {"Normalize"}
        and modes == {"pooling_mode_mean_tokens"}
        and config.get("model_type") in FAMILY
        and os.path.isfile(os.path.join(location, "tokenizer.json"))
        and any(os.path.isfile(os.path.join(location, w)) for w in ("model.safetensors", "pytorch_model.bin"))
    )


SOURCE_FILES = ("config.json", "tokenizer.json", "sentence_bert_config.json", "1_Pooling/config.json",
                "model.safetensors", "pytorch_model.bin")  # the files that decide the vectors


def source_digest(location: str) -> str:
    """sha256 over the model's config, tokenizer, pooling and weights."""
    h = hashlib.sha256()
    for name in SOURCE_FILES:
        path = os.path.join(location, name)
        if os.path.isfile(path):
            h.update(name.encode() + b"\0" + sha256(Path(path)).encode())
    return h.hexdigest()


def source_stats(location: str) -> dict[str, list[int]]:
    found = {}
    for name in SOURCE_FILES:
        try:
            st = os.stat(os.path.join(location, name))
        except OSError:
            continue
        found[name] = [st.st_size, st.st_mtime_ns]
    return found


def export_path(directory: Path, name: str, quantize: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", os.path.basename(os.path.normpath(name))).strip("-.") or "model"
    return Path(directory) / "onnx" / f"{slug}-{quantize or 'fp32'}.onnx"


def ensure_export(location: str, name: str, directory: Path, quantize: str = "",
                  seeds: tuple[Path, ...] = ()) -> Export:
    """The checked export of `location` under `directory`/onnx: kept if its record and checksum agree with the model,
    else copied from a matching export in `seeds` (other index folders) or this process, else exported again."""
    if quantize not in QUANTIZE:
        raise ValueError(f"quantize={quantize!r} is not one of {QUANTIZE}; use '' (fp32) or 'int8'")
    target = export_path(directory, name, quantize)
    stats = source_stats(location)
    previous = _read_record(target)
    digest = previous.source_sha256 if previous and previous.source_stats == stats else source_digest(location)
    record = _valid(target, digest, quantize)
    if record is not None:
        if record.source_stats != stats:  # same weights, touched files: note their new stats, skip rehashing next time
            record = Export(**{**record.to_dict(), "source_stats": stats})
            write_atomic(_record_path(target), json.dumps(record.to_dict(), indent=2).encode())
        _remember(digest, quantize, target)
        return record
    with _verified_lock:
        known = _verified.get((digest, quantize))
    for candidate in ([known] if known else []) + [export_path(s, name, quantize) for s in seeds]:
        if candidate.resolve() != target.resolve() and _valid(candidate, digest, quantize) is not None:
            _copy_atomic(candidate, target)
            _copy_atomic(_record_path(candidate), _record_path(target))
            record = _valid(target, digest, quantize)
            if record is not None:
                return record
    from assistant import onnx_export

    onnx_export.export(location, target, quantize, label=name)
    record = Export(
        file=target.name, sha256=sha256(target), source=name, source_sha256=digest, quantize=quantize,
        opset=onnx_export.OPSET, exporters=onnx_export.exporter_versions(), source_stats=stats,
    )
    write_atomic(_record_path(target), json.dumps(record.to_dict(), indent=2).encode())
    _remember(digest, quantize, target)
    return record


def discard(directory: Path, name: str, quantize: str) -> None:
    """Forget an export that failed to load, so the next ensure_export() writes it again."""
    target = export_path(directory, name, quantize)
    with _verified_lock:
        for key in [k for k, v in _verified.items() if v == target]:
            del _verified[key]
    _record_path(target).unlink(missing_ok=True)


class OnnxEmbedder:
    """Mean-pooled, normalised sentence vectors from an exported model, in batches packed by length.

    One intra-op thread per session by default: the batching embedder runs one pass per core, and a question's pass
    is too small to split. Texts are sorted by length and each batch is padded only to its own longest text.
    """

    def __init__(self, location: str, model_file: Path, threads: int = 1, name: str = "") -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name or os.path.basename(os.path.normpath(location))
        config = _json(os.path.join(location, "config.json"))
        st_config = _json(os.path.join(location, "sentence_bert_config.json")) if os.path.isfile(
            os.path.join(location, "sentence_bert_config.json")) else {}
        self.lowercase = bool(st_config.get("do_lower_case", False))
        self.dim = int(config["hidden_size"])
        self.pad_id = int(config.get("pad_token_id") or 0)
        longest = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
        self.tokenizer = Tokenizer.from_file(os.path.join(location, "tokenizer.json"))
        self.tokenizer.no_padding()  # tokenizer.json may pad every text to a fixed 128 tokens
        self.tokenizer.enable_truncation(min(longest, int(config.get("max_position_embeddings", longest))))
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(0, threads)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Normalised vectors, in the order given; up to `batch_size` texts of similar length per forward pass."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch([t.lower() if self.lowercase else t for t in texts])
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._forward([encodings[i] for i in rows])
        return out

    def _forward(self, encodings: list) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        types = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
            types[row, : len(e.ids)] = e.type_ids
        (hidden,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32, copy=False)


def _read_record(path: Path) -> Export | None:
    try:
        return Export(**_json(str(_record_path(path))))
    except (OSError, ValueError, TypeError):
        return None


def _valid(path: Path, digest: str, quantize: str) -> Export | None:
    record = _read_record(path)
    if record is None or not path.is_file():
        return None
    if (record.format, record.source_sha256, record.quantize, record.file) != (EXPORT_FORMAT, digest, quantize,
                                                                               path.name):
        return None
    with _verified_lock:
        if _verified.get((digest, quantize)) == path and _mtime(path) == _mtimes.get(path):
            return record
    if sha256(path) != record.sha256:
        log.warning("%s is damaged (checksum mismatch); exporting it again", path)
        return None
    _mtimes[path] = _mtime(path)
    return record


_mtimes: dict[Path, tuple[int, int]] = {}


def _mtime(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def _remember(digest: str, quantize: str, path: Path) -> None:
    with _verified_lock:
        _verified[(digest, quantize)] = path
    _mtimes[path] = _mtime(path)


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _copy_atomic(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def _json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
